/**
 * The opcode table against protocol.md §5, row by row. The expected lists below are
 * copied from the spec, not from opcodes.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOpcodes, BAD_FRAME_OPCODE, hexCode, Op, opcodeByCode, PERMISSIONS, resolveOp } from '../../src/protocol/opcodes.js';

/** Canonical rows of protocol.md §5: [code, name]. */
const SPEC_CANONICAL: ReadonlyArray<readonly [number, string]> = [
  [0x00, 'NOOP'],
  [0x01, 'THINK'],
  [0x02, 'EXEC'],
  [0x03, 'READ'],
  [0x04, 'WRITE'],
  [0x10, 'SPAWN'],
  [0x11, 'KILL'],
  [0x12, 'LIST'],
  // LOGS and TREE are this kernel's additions (docs/protocol.md).
  [0x13, 'LOGS'],
  [0x14, 'PAUSE'],
  [0x15, 'RESUME'],
  [0x16, 'TREE'],
  [0x20, 'SEND'],
  [0x21, 'RECV'],
  [0x22, 'BROADCAST'],
  [0x23, 'REGISTER'],
  [0x30, 'STORE'],
  [0x31, 'FETCH'],
  [0x32, 'DELETE'],
  [0x33, 'KEYS'],
  [0x34, 'CAS'],
  [0x35, 'INCR'],
  [0x40, 'GET_PERMS'],
  [0x41, 'SET_PERMS'],
  [0x50, 'HTTP'],
  [0x51, 'DOWNLOAD'],
  [0x60, 'SUBSCRIBE'],
  [0x61, 'UNSUBSCRIBE'],
  [0x62, 'POLL_EVENTS'],
  [0x63, 'EMIT'],
  [0x70, 'TUNNEL_CONNECT'],
  [0x71, 'TUNNEL_STATUS'],
  [0x72, 'TUNNEL_DISCONNECT'],
  [0x76, 'GET_AUDIT_LOG'],
  [0x77, 'SET_AUDIT_CONFIG'],
  [0x80, 'TASK_CREATE'],
  [0x81, 'TASK_ASSIGN'],
  [0x82, 'TASK_STATUS'],
  [0x83, 'TASK_COMPLETE'],
  [0x84, 'TASK_LIST'],
  [0x85, 'TASK_CANCEL'],
  [0x8f, 'ASYNC_POLL'],
  [0x90, 'METRICS'],
  [0x91, 'METRICS_ALL'],
  [0x92, 'SET_QUOTA'],
  [0xa0, 'WORLD_CREATE'],
  [0xa1, 'WORLD_DESTROY'],
  [0xa2, 'WORLD_LIST'],
  [0xa3, 'WORLD_JOIN'],
  [0xa4, 'WORLD_LEAVE'],
  [0xa5, 'WORLD_EVENT'],
  [0xa6, 'WORLD_STATE'],
  [0xa7, 'WORLD_SNAPSHOT'],
  [0xa8, 'WORLD_RESTORE'],
  // 0xB0-0xB4 TUNNEL_*: CONNECT, DISCONNECT, STATUS are aliases (below); these two are new.
  [0xb3, 'TUNNEL_LIST_REMOTES'],
  [0xb4, 'TUNNEL_CONFIG'],
  // 0xC0-0xC3 METRICS_*: SYSTEM and CGROUP are new; AGENT and ALL_AGENTS are aliases.
  [0xc0, 'METRICS_SYSTEM'],
  [0xc3, 'METRICS_CGROUP'],
  [0xd0, 'RECORD_START'],
  [0xd1, 'RECORD_STOP'],
  [0xd2, 'RECORD_STATUS'],
  [0xd3, 'REPLAY_START'],
  [0xd4, 'REPLAY_STATUS'],
  [0xf0, 'LLM_REPORT'],
  [0xfe, 'HELLO'],
  [0xff, 'EXIT'],
];

/** Alias numbers of protocol.md §5: [alias code, canonical code, canonical name]. */
const SPEC_ALIAS_CODES: ReadonlyArray<readonly [number, number, string]> = [
  [0xb0, 0x70, 'TUNNEL_CONNECT'],
  [0xb1, 0x72, 'TUNNEL_DISCONNECT'],
  [0xb2, 0x71, 'TUNNEL_STATUS'],
  [0xc1, 0x90, 'METRICS'],
  [0xc2, 0x91, 'METRICS_ALL'],
];

/** Alias names the envelope's `op` accepts (the METRICS_* row of §5). */
const SPEC_ALIAS_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['METRICS_AGENT', 0x90],
  ['METRICS_ALL_AGENTS', 0x91],
];

const knownCodes = new Set([...SPEC_CANONICAL.map(([c]) => c), ...SPEC_ALIAS_CODES.map(([c]) => c)]);

/** Mix the case of a name from a list of booleans. */
function mixCase(name: string, flips: readonly boolean[]): string {
  return [...name].map((ch, i) => (flips[i % Math.max(flips.length, 1)] ? ch.toLowerCase() : ch.toUpperCase())).join('');
}

describe('opcode table vs protocol.md §5', () => {
  it.each(SPEC_CANONICAL.map(([code, name]) => ({ code, name, hex: hexCode(code) })))('$hex is $name', ({ code, name }) => {
    const info = opcodeByCode(code);
    expect(info).toBeDefined();
    expect(info?.name).toBe(name);
    expect(info?.code).toBe(code);
  });

  it.each(SPEC_ALIAS_CODES.map(([alias, code, name]) => ({ alias, code, name, hex: hexCode(alias) })))(
    '$hex is an alias of $name',
    ({ alias, code, name }) => {
      const info = opcodeByCode(alias);
      expect(info).toBeDefined();
      expect(info?.name).toBe(name);
      expect(info?.code).toBe(code); // aliases resolve to the canonical number
      expect(info).toBe(opcodeByCode(code));
    },
  );

  it('defines nothing the spec does not: every other byte is unknown', () => {
    for (let code = 0; code < 256; code++) {
      if (!knownCodes.has(code)) expect(opcodeByCode(code), hexCode(code)).toBeUndefined();
    }
  });

  it('lists exactly the canonical opcodes, sorted, once each', () => {
    const all = allOpcodes();
    expect(all.map((e) => [e.code, e.name])).toEqual([...SPEC_CANONICAL].sort((a, b) => a[0] - b[0]));
    expect(new Set(all.map((e) => e.name)).size).toBe(all.length);
  });

  it('exposes every canonical opcode through Op, and nothing else', () => {
    expect(Object.keys(Op).sort()).toEqual(SPEC_CANONICAL.map(([, n]) => n).sort());
    for (const [code, name] of SPEC_CANONICAL) expect((Op as Record<string, number>)[name]).toBe(code);
    expect(Op.EXEC).toBe(0x02);
    expect(Op.CAS).toBe(0x34);
    expect(Op.INCR).toBe(0x35);
    expect(Object.isFrozen(Op)).toBe(true);
  });

  it('answers undefined outside 0..255 and for non-integers', () => {
    for (const code of [-1, 256, 1000, 1.5, Number.NaN]) expect(opcodeByCode(code)).toBeUndefined();
  });

  it('replies to bad frames on opcode 0xFF', () => {
    expect(BAD_FRAME_OPCODE).toBe(0xff);
  });

  it('returns frozen entries', () => {
    for (const info of allOpcodes()) expect(Object.isFrozen(info)).toBe(true);
  });
});

describe('permissions', () => {
  it('gives every entry a permission from PERMISSIONS', () => {
    for (let code = 0; code < 256; code++) {
      const info = opcodeByCode(code);
      if (info) expect(PERMISSIONS, info.name).toContain(info.permission);
    }
  });

  it('guards the calls the spec ties to a capability (§6)', () => {
    const want: Record<string, string> = {
      THINK: 'think',
      EXEC: 'exec',
      READ: 'read',
      WRITE: 'write',
      SPAWN: 'spawn',
      HTTP: 'network',
      DOWNLOAD: 'network',
    };
    for (const [name, permission] of Object.entries(want)) expect(resolveOp(name)?.permission, name).toBe(permission);
  });

  it('checks SPAWN, KILL, world and tunnel calls (§9: the original kernel did not)', () => {
    const guarded = [
      'SPAWN',
      'KILL',
      'PAUSE',
      'RESUME',
      'WORLD_CREATE',
      'WORLD_DESTROY',
      'WORLD_JOIN',
      'WORLD_LEAVE',
      'WORLD_EVENT',
      'WORLD_SNAPSHOT',
      'WORLD_RESTORE',
      'TUNNEL_CONNECT',
      'TUNNEL_STATUS',
      'TUNNEL_DISCONNECT',
      'TUNNEL_LIST_REMOTES',
      'TUNNEL_CONFIG',
    ];
    for (const name of guarded) expect(resolveOp(name)?.permission, name).not.toBe('none');
  });

  it('leaves the calls every client makes open (NOOP, HELLO, EXIT)', () => {
    for (const name of ['NOOP', 'HELLO', 'EXIT']) expect(resolveOp(name)?.permission).toBe('none');
  });
});

describe('resolveOp', () => {
  it('accepts every canonical name in any case', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SPEC_CANONICAL), fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }), ([code, name], flips) => {
        const info = resolveOp(mixCase(name, flips));
        expect(info?.code).toBe(code);
        expect(info?.name).toBe(name);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts names with surrounding whitespace', () => {
    expect(resolveOp(' exec ')?.code).toBe(0x02);
    expect(resolveOp('\tStore\n')?.code).toBe(0x30);
  });

  it.each(SPEC_ALIAS_NAMES.map(([name, code]) => ({ name, code })))('accepts the alias name $name', ({ name, code }) => {
    expect(resolveOp(name)?.code).toBe(code);
    expect(resolveOp(name.toLowerCase())?.code).toBe(code);
  });

  it('accepts numbers, following aliases', () => {
    for (const [code, name] of SPEC_CANONICAL) expect(resolveOp(code)?.name).toBe(name);
    for (const [alias, code] of SPEC_ALIAS_CODES) expect(resolveOp(alias)?.code).toBe(code);
  });

  it('accepts numeric strings, hex and decimal', () => {
    expect(resolveOp('0x02')?.name).toBe('EXEC');
    expect(resolveOp('0X02')?.name).toBe('EXEC');
    expect(resolveOp('0x2')?.name).toBe('EXEC');
    expect(resolveOp('2')?.name).toBe('EXEC');
    expect(resolveOp('0x34')?.name).toBe('CAS');
    expect(resolveOp('0xC1')?.name).toBe('METRICS');
    expect(resolveOp('0xc2')?.name).toBe('METRICS_ALL');
    expect(resolveOp('0xB0')?.name).toBe('TUNNEL_CONNECT');
    expect(resolveOp('255')?.name).toBe('EXIT');
    expect(resolveOp('0')?.name).toBe('NOOP');
  });

  it('accepts every known code written as "0x.." or as decimal', () => {
    for (const code of knownCodes) {
      const info = opcodeByCode(code);
      expect(resolveOp(hexCode(code))).toBe(info);
      expect(resolveOp(`0x${code.toString(16)}`)).toBe(info);
      expect(resolveOp(String(code))).toBe(info);
    }
  });

  it('answers undefined for anything unknown', () => {
    const unknown: Array<string | number> = [
      'NOPE',
      '',
      '   ',
      'EXEC2',
      'EX EC',
      'TUNNEL',
      'METRICS_',
      '0x17',
      '0x100',
      '0xZZ',
      '0x',
      '-1',
      '1.5',
      '1e1',
      '256',
      0x17,
      256,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      'constructor',
      '__proto__',
      'toString',
    ];
    for (const op of unknown) expect(resolveOp(op), String(op)).toBeUndefined();
  });

  it('answers undefined for random unknown names and never throws', () => {
    const names = new Set([...SPEC_CANONICAL.map(([, n]) => n), ...SPEC_ALIAS_NAMES.map(([n]) => n)]);
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const info = resolveOp(s);
        if (info === undefined) return;
        // A hit must be a real name or a number the table knows.
        const trimmed = s.trim();
        expect(names.has(trimmed.toUpperCase()) || /^(0x[0-9a-f]+|\d+)$/i.test(trimmed)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with opcodeByCode for every integer 0..300', () => {
    for (let n = 0; n <= 300; n++) expect(resolveOp(n)).toBe(n < 256 ? opcodeByCode(n) : undefined);
  });
});

describe('hexCode', () => {
  it('writes 0x and two upper-case digits', () => {
    expect(hexCode(0)).toBe('0x00');
    expect(hexCode(2)).toBe('0x02');
    expect(hexCode(0x8f)).toBe('0x8F');
    expect(hexCode(0xff)).toBe('0xFF');
  });
});
