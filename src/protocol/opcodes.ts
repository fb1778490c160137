/**
 * The opcode table of protocol.md §5: the single source of truth for every opcode's
 * number, name, aliases and the permission the router checks before dispatch.
 */

/** What a caller must hold to make a call; `none` is open to every agent. */
export const PERMISSIONS = ['none', 'think', 'exec', 'read', 'write', 'spawn', 'network', 'tunnel', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

interface OpcodeEntry {
  readonly code: number;
  readonly name: string;
  readonly permission: Permission;
  /** Other numbers that mean the same call (the spec keeps older numbers where free). */
  readonly aliasCodes?: readonly number[];
  /** Other names accepted in the JSON envelope's `op`. */
  readonly aliasNames?: readonly string[];
  /** `async: true` in the request runs it in the background; ASYNC_POLL collects the reply. */
  readonly async?: true;
}

const TABLE = [
  { code: 0x00, name: 'NOOP', permission: 'none' },
  { code: 0x01, name: 'THINK', permission: 'think', async: true },
  { code: 0x02, name: 'EXEC', permission: 'exec', async: true },
  { code: 0x03, name: 'READ', permission: 'read' },
  { code: 0x04, name: 'WRITE', permission: 'write' },
  { code: 0x10, name: 'SPAWN', permission: 'spawn' },
  { code: 0x11, name: 'KILL', permission: 'spawn' },
  { code: 0x12, name: 'LIST', permission: 'none' },
  // Beyond the spec's table: an agent's output log, and the live supervision tree.
  { code: 0x13, name: 'LOGS', permission: 'none' },
  { code: 0x14, name: 'PAUSE', permission: 'spawn' },
  { code: 0x15, name: 'RESUME', permission: 'spawn' },
  { code: 0x16, name: 'TREE', permission: 'none' },
  { code: 0x20, name: 'SEND', permission: 'none' },
  { code: 0x21, name: 'RECV', permission: 'none' },
  { code: 0x22, name: 'BROADCAST', permission: 'none' },
  { code: 0x23, name: 'REGISTER', permission: 'none' },
  { code: 0x30, name: 'STORE', permission: 'none' },
  { code: 0x31, name: 'FETCH', permission: 'none' },
  { code: 0x32, name: 'DELETE', permission: 'none' },
  { code: 0x33, name: 'KEYS', permission: 'none' },
  { code: 0x34, name: 'CAS', permission: 'none' },
  { code: 0x35, name: 'INCR', permission: 'none' },
  // GET_PERMS and SET_PERMS check who may see or change whom in their handlers.
  { code: 0x40, name: 'GET_PERMS', permission: 'none' },
  { code: 0x41, name: 'SET_PERMS', permission: 'none' },
  { code: 0x50, name: 'HTTP', permission: 'network', async: true },
  { code: 0x51, name: 'DOWNLOAD', permission: 'network', async: true },
  { code: 0x60, name: 'SUBSCRIBE', permission: 'none' },
  { code: 0x61, name: 'UNSUBSCRIBE', permission: 'none' },
  { code: 0x62, name: 'POLL_EVENTS', permission: 'none' },
  { code: 0x63, name: 'EMIT', permission: 'none' },
  { code: 0x70, name: 'TUNNEL_CONNECT', permission: 'tunnel', aliasCodes: [0xb0] },
  { code: 0x71, name: 'TUNNEL_STATUS', permission: 'tunnel', aliasCodes: [0xb2] },
  { code: 0x72, name: 'TUNNEL_DISCONNECT', permission: 'tunnel', aliasCodes: [0xb1] },
  { code: 0x76, name: 'GET_AUDIT_LOG', permission: 'admin' },
  { code: 0x77, name: 'SET_AUDIT_CONFIG', permission: 'admin' },
  { code: 0x80, name: 'TASK_CREATE', permission: 'none' },
  { code: 0x81, name: 'TASK_ASSIGN', permission: 'none' },
  { code: 0x82, name: 'TASK_STATUS', permission: 'none' },
  { code: 0x83, name: 'TASK_COMPLETE', permission: 'none' },
  { code: 0x84, name: 'TASK_LIST', permission: 'none' },
  { code: 0x85, name: 'TASK_CANCEL', permission: 'none' },
  { code: 0x8f, name: 'ASYNC_POLL', permission: 'none' },
  { code: 0x90, name: 'METRICS', permission: 'none', aliasCodes: [0xc1], aliasNames: ['METRICS_AGENT'] },
  { code: 0x91, name: 'METRICS_ALL', permission: 'admin', aliasCodes: [0xc2], aliasNames: ['METRICS_ALL_AGENTS'] },
  { code: 0x92, name: 'SET_QUOTA', permission: 'admin' },
  { code: 0xa0, name: 'WORLD_CREATE', permission: 'spawn' },
  { code: 0xa1, name: 'WORLD_DESTROY', permission: 'spawn' },
  { code: 0xa2, name: 'WORLD_LIST', permission: 'none' },
  { code: 0xa3, name: 'WORLD_JOIN', permission: 'spawn' },
  { code: 0xa4, name: 'WORLD_LEAVE', permission: 'spawn' },
  { code: 0xa5, name: 'WORLD_EVENT', permission: 'spawn' },
  { code: 0xa6, name: 'WORLD_STATE', permission: 'none' },
  { code: 0xa7, name: 'WORLD_SNAPSHOT', permission: 'spawn' },
  { code: 0xa8, name: 'WORLD_RESTORE', permission: 'spawn' },
  { code: 0xb3, name: 'TUNNEL_LIST_REMOTES', permission: 'tunnel' },
  { code: 0xb4, name: 'TUNNEL_CONFIG', permission: 'tunnel' },
  { code: 0xc0, name: 'METRICS_SYSTEM', permission: 'none' },
  { code: 0xc3, name: 'METRICS_CGROUP', permission: 'none' },
  { code: 0xd0, name: 'RECORD_START', permission: 'admin' },
  { code: 0xd1, name: 'RECORD_STOP', permission: 'admin' },
  { code: 0xd2, name: 'RECORD_STATUS', permission: 'admin' },
  { code: 0xd3, name: 'REPLAY_START', permission: 'admin' },
  { code: 0xd4, name: 'REPLAY_STATUS', permission: 'admin' },
  { code: 0xf0, name: 'LLM_REPORT', permission: 'think' },
  { code: 0xfe, name: 'HELLO', permission: 'none' },
  { code: 0xff, name: 'EXIT', permission: 'none' },
] as const satisfies readonly OpcodeEntry[];

export type OpName = (typeof TABLE)[number]['name'];

/** `Op.EXEC === 0x02`: handlers name opcodes through this object, never by bare number. */
export const Op = Object.freeze(Object.fromEntries(TABLE.map((e) => [e.name, e.code]))) as {
  readonly [E in (typeof TABLE)[number] as E['name']]: E['code'];
};

/** The reply opcode of a frame the kernel refuses outright (BAD_FRAME): the spec's 0xFF. */
export const BAD_FRAME_OPCODE = 0xff;

export interface OpcodeInfo {
  /** The canonical number (aliases resolve to it). */
  readonly code: number;
  readonly name: OpName;
  readonly permission: Permission;
  /** Whether `async: true` may run it in the background (ASYNC_POLL). */
  readonly async: boolean;
}

// Indexed by wire number (0..255) so the router's lookup is one array read.
const byCode: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
const byName = new Map<string, OpcodeInfo>();

for (const entry of TABLE as readonly OpcodeEntry[]) {
  const info: OpcodeInfo = Object.freeze({
    code: entry.code,
    name: entry.name as OpName,
    permission: entry.permission,
    async: entry.async === true,
  });
  for (const code of [entry.code, ...(entry.aliasCodes ?? [])]) {
    if (byCode[code]) throw new Error(`opcode table: 0x${code.toString(16)} is defined twice`);
    byCode[code] = info;
  }
  for (const name of [entry.name, ...(entry.aliasNames ?? [])]) byName.set(name, info);
}

/** The opcode a wire number means, following aliases; undefined when unknown. */
export function opcodeByCode(code: number): OpcodeInfo | undefined {
  return byCode[code];
}

/** The opcode a name (case-insensitive) or number means, as the JSON envelope's `op` allows. */
export function resolveOp(op: string | number): OpcodeInfo | undefined {
  if (typeof op === 'number') return Number.isInteger(op) && op >= 0 && op < 256 ? byCode[op] : undefined;
  const trimmed = op.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(trimmed)) return resolveOp(Number(trimmed));
  return byName.get(trimmed.toUpperCase());
}

/** Every opcode, canonical entries only, in table order. */
export function allOpcodes(): readonly OpcodeInfo[] {
  return [...new Set(byCode.filter((e): e is OpcodeInfo => e !== undefined))].sort((a, b) => a.code - b.code);
}

/** `0x02` style, for messages and tables. */
export function hexCode(code: number): string {
  return `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
}
