/** The remote level narrowed by a token's ceiling (docs/relay.md §12), field by field. */
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/protocol/schemas/permissions.js';
import { narrowPermissions } from '../../src/tunnel/remote-permissions.js';

const HOME = '/home/someone';

describe('narrowPermissions', () => {
  it('no ceiling: the level as it is', () => {
    expect(narrowPermissions(PRESETS.sandboxed, null, HOME)).toEqual(PRESETS.sandboxed);
    expect(narrowPermissions(PRESETS.standard, undefined, HOME)).toEqual(PRESETS.standard);
  });

  it('a flag is on only when both have it: a ceiling never adds one', () => {
    const narrowed = narrowPermissions(PRESETS.sandboxed, { can_write: false, can_spawn: true, can_network: true }, HOME);
    expect(narrowed).toMatchObject({ can_write: false, can_spawn: false, can_network: false, can_read: true });
    expect(narrowPermissions(PRESETS.standard, { sandboxed: true }, HOME).sandboxed).toBe(true);
    expect(narrowPermissions(PRESETS.sandboxed, { sandboxed: false }, HOME).sandboxed).toBe(true);
  });

  it('a limit is the lower of the two (null is none)', () => {
    const level = { ...PRESETS.standard, max_memory_bytes: 1000, max_cpu_percent: null };
    expect(narrowPermissions(level, { max_memory_bytes: 5000, max_cpu_percent: 50 }, HOME)).toMatchObject({
      max_memory_bytes: 1000,
      max_cpu_percent: 50,
    });
    expect(narrowPermissions(level, { max_memory_bytes: null }, HOME).max_memory_bytes).toBe(1000);
    expect(narrowPermissions(level, { max_memory_bytes: 10 }, HOME).max_memory_bytes).toBe(10);
  });

  it('an allowed list is what both allow (never the wider list of either); blocked lists add up', () => {
    // sandboxed reads ~/** and /tmp/**
    expect(narrowPermissions(PRESETS.sandboxed, { allowed_read_paths: ['~/projects/**'] }, HOME).allowed_read_paths).toEqual([
      '~/projects/**',
    ]);
    expect(narrowPermissions(PRESETS.sandboxed, { allowed_read_paths: ['/etc/**'] }, HOME).allowed_read_paths).toEqual([]);
    expect(narrowPermissions(PRESETS.sandboxed, { allowed_read_paths: ['/etc/**', '~/projects/**'] }, HOME).allowed_read_paths).toEqual([
      '~/projects/**',
    ]);
    // A ceiling wider than the level (the readonly preset's /**) leaves the level's own list.
    expect(narrowPermissions(PRESETS.sandboxed, { allowed_read_paths: ['/**'] }, HOME).allowed_read_paths).toEqual(
      PRESETS.sandboxed.allowed_read_paths,
    );
    expect(narrowPermissions(PRESETS.standard, { allowed_write_paths: ['/tmp/**', '/srv/**'] }, HOME).allowed_write_paths).toEqual([
      '/tmp/**',
    ]);
    const net = { ...PRESETS.standard, can_network: true, allowed_domains: ['*.example.com'] };
    expect(narrowPermissions(net, { allowed_domains: ['api.example.com'] }, HOME).allowed_domains).toEqual(['api.example.com']);
    expect(narrowPermissions(net, { allowed_domains: ['evil.test'] }, HOME).allowed_domains).toEqual([]);
    expect(narrowPermissions(net, { allowed_domains: ['*'] }, HOME).allowed_domains).toEqual(['*.example.com']);
    expect(narrowPermissions(PRESETS.standard, { allowed_commands: ['ls'] }, HOME).allowed_commands).toEqual(['ls']);
    const allowlist = { ...PRESETS.standard, allowed_commands: ['ls', 'cat'] };
    expect(narrowPermissions(allowlist, { allowed_commands: ['ls', 'rm'] }, HOME).allowed_commands).toEqual(['ls']);
    expect(narrowPermissions(allowlist, { allowed_commands: null }, HOME).allowed_commands).toEqual(['ls', 'cat']);
    const blocked = narrowPermissions(PRESETS.standard, { blocked_paths: ['/srv/**'], blocked_commands: ['curl'] }, HOME);
    expect(blocked.blocked_paths).toEqual([...PRESETS.standard.blocked_paths, '/srv/**']);
    expect(blocked.blocked_commands).toContain('curl');
    expect(blocked.blocked_commands).toContain('sudo');
  });

  it('never returns the frozen preset itself', () => {
    const narrowed = narrowPermissions(PRESETS.sandboxed, null, HOME);
    expect(Object.isFrozen(narrowed)).toBe(false);
    narrowed.allowed_read_paths.push('/x');
    expect(PRESETS.sandboxed.allowed_read_paths).not.toContain('/x');
  });
});
