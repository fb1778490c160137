import { describe, expect, it } from 'vitest';
import { denialReason } from '../../src/kernel/permissions.js';
import { PERMISSIONS } from '../../src/protocol/opcodes.js';
import { LEVELS, PRESETS } from '../../src/protocol/schemas/permissions.js';

// The levels of protocol.md §6, row by row: what each may do.
const EXPECTED: Record<(typeof LEVELS)[number], readonly string[]> = {
  unrestricted: ['none', 'think', 'exec', 'read', 'write', 'spawn', 'network', 'tunnel'],
  standard: ['none', 'think', 'exec', 'read', 'write'],
  sandboxed: ['none', 'think', 'exec', 'read', 'write'],
  readonly: ['none', 'think', 'read'],
  minimal: ['none', 'think'],
};

describe('permission levels', () => {
  for (const level of LEVELS) {
    it(`${level} allows exactly ${EXPECTED[level].join(', ')}`, () => {
      const allowed = PERMISSIONS.filter((p) => denialReason({ permissions: PRESETS[level], admin: false }, p) === undefined);
      expect(allowed).toEqual(EXPECTED[level]);
    });
  }

  it('admin-only calls need the admin flag, whatever the level', () => {
    expect(denialReason({ permissions: PRESETS.unrestricted, admin: false }, 'admin')).toMatch(/admin token/);
    expect(denialReason({ permissions: PRESETS.minimal, admin: true }, 'admin')).toBeUndefined();
  });

  it('the tunnel calls: the admin at any level, or an agent granted can_tunnel', () => {
    expect(denialReason({ permissions: PRESETS.minimal, admin: true }, 'tunnel')).toBeUndefined();
    expect(denialReason({ permissions: PRESETS.standard, admin: false }, 'tunnel')).toBe('needs can_tunnel');
    expect(denialReason({ permissions: { ...PRESETS.minimal, can_tunnel: true }, admin: false }, 'tunnel')).toBeUndefined();
  });

  it('names the missing flag', () => {
    expect(denialReason({ permissions: PRESETS.readonly, admin: false }, 'write')).toBe('needs can_write');
  });

  it('only the sandboxed level sets sandboxed', () => {
    expect(LEVELS.filter((l) => PRESETS[l].sandboxed)).toEqual(['sandboxed']);
  });

  it('presets are frozen', () => {
    expect(Object.isFrozen(PRESETS.standard)).toBe(true);
  });
});
