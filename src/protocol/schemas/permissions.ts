/**
 * The permission model of protocol.md §6: five levels (presets) and every field of the
 * full model. Deny by default: a list that is empty allows nothing, and a flag that is
 * false refuses its calls.
 *
 * Patterns are data here; what they mean is decided in src/security (paths: globs where
 * `**` crosses directories and `~` is the agent's home; commands: a program and argument
 * patterns; domains: an exact host or `*.suffix`, `*` for every public host).
 */
import { z } from 'zod';
import { commandRuleProblem } from '../../security/commands/rules.js';

export const LEVELS = ['unrestricted', 'standard', 'sandboxed', 'readonly', 'minimal'] as const;
export const Level = z.enum(LEVELS, { error: `expected one of ${LEVELS.join(', ')}` });
export type Level = z.infer<typeof Level>;

const MAX_PATTERNS = 256;
const MAX_PATTERN_LENGTH = 4096;

const pattern = (what: string) =>
  z
    .string({ error: `expected a ${what} (a string)` })
    .min(1, `expected a non-empty ${what}`)
    .max(MAX_PATTERN_LENGTH, `expected a ${what} of at most ${MAX_PATTERN_LENGTH} characters`)
    .refine((text) => !/[\0\n\r]/.test(text), `expected a ${what} without NUL or line breaks`);

const patterns = (what: string) => z.array(pattern(what)).max(MAX_PATTERNS, `expected at most ${MAX_PATTERNS} ${what}s`);

/** Command rules must parse (src/security/commands/rules.ts): an invalid one is refused, never guessed at. */
const commandRules = () =>
  z
    .array(
      pattern('command rule').superRefine((rule, context) => {
        const problem = commandRuleProblem(rule);
        if (problem !== null) context.addIssue({ code: 'custom', message: `expected a command rule ("program arg-glob ..."): ${problem}` });
      }),
    )
    .max(MAX_PATTERNS, `expected at most ${MAX_PATTERNS} command rules`);

/** A limit, or null for none. */
const limit = (what: string, max: number) =>
  z
    .number({ error: `expected a number of ${what} or null (no limit)` })
    .int(`expected a whole number of ${what}`)
    .positive(`expected a positive number of ${what}`)
    .max(max, `expected at most ${max} ${what}`)
    .nullable();

export const Permissions = z.object({
  can_exec: z.boolean(),
  can_read: z.boolean(),
  can_write: z.boolean(),
  can_think: z.boolean(),
  can_spawn: z.boolean(),
  can_network: z.boolean(),
  /**
   * Ours, beyond the spec's flags: the TUNNEL_* calls (where the kernel's relay link goes,
   * and its machine token) without being admin. Only `unrestricted` has it; an admin grants it.
   */
  can_tunnel: z.boolean(),
  /** Commands run inside an OS sandbox (the sandboxed level); a sandboxed agent's children are too. */
  sandboxed: z.boolean(),
  /** Globs of the paths READ (and FILE_CHANGED) may reach, after symlinks are resolved. */
  allowed_read_paths: patterns('path glob'),
  /** Globs of the paths WRITE and DOWNLOAD may reach, the leaf's symlink resolved too. */
  allowed_write_paths: patterns('path glob'),
  /** Globs no call may reach, whatever the allowed lists say. */
  blocked_paths: patterns('path glob'),
  /**
   * When a list: a command line runs only if every program it would run is surely allowed
   * by one of these rules (`program arg-glob…`, arguments one for one, a final `**` for any
   * more, a bare program for any arguments); `[]` runs nothing. null: any not blocked.
   * Grammar and matching: src/security/commands (docs/protocol.md, "Command rules").
   */
  allowed_commands: commandRules().nullable(),
  /**
   * Rules (`program arg-glob…`) for what never runs, found in any spelling or wrapping:
   * flags in any order, paths normalized, pipelines, substitutions, `sh -c` and wrappers
   * (env, xargs, sudo, ...) followed. While any rule applies, a program that cannot be
   * known statically is refused too.
   */
  blocked_commands: commandRules(),
  /** Hosts HTTP and DOWNLOAD may reach: exact, `*.suffix`, or `*` (every public host). */
  allowed_domains: patterns('domain pattern'),
  max_memory_bytes: limit('bytes', 2 ** 40),
  /** Percent of one core: 50 is half a core. */
  max_cpu_percent: limit('percent', 10_000),
  max_llm_calls_per_min: limit('calls per minute', 1_000_000),
});
export type Permissions = z.infer<typeof Permissions>;

/** The flags of the model: each gates the opcodes that need it. */
export const PERMISSION_FLAGS = ['can_exec', 'can_read', 'can_write', 'can_think', 'can_spawn', 'can_network', 'can_tunnel'] as const;
export type PermissionFlag = (typeof PERMISSION_FLAGS)[number];

/**
 * Secrets, wherever they are: no level but `unrestricted` reaches them. `~` is the
 * agent's home. The kernel adds its own data directory (the admin token) for every agent.
 */
export const DEFAULT_BLOCKED_PATHS: readonly string[] = Object.freeze([
  '**/.env',
  '**/.env.*',
  '**/*.pem',
  '**/*.key',
  '**/*.p12',
  '**/*.pfx',
  '**/*credentials*',
  '**/*secret*',
  '**/id_rsa*',
  '**/id_dsa*',
  '**/id_ecdsa*',
  '**/id_ed25519*',
  '**/.netrc',
  '**/.git-credentials',
  '**/.npmrc',
  '**/.pypirc',
  '**/.ssh/**',
  '~/.ssh/**',
  '~/.aws/**',
  '~/.gnupg/**',
  '~/.docker/config.json',
  '~/.kube/**',
  '~/.config/gcloud/**',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/sudoers',
  '/etc/sudoers.d/**',
  '/proc/**/environ',
  '/proc/**/mem',
]);

/** Commands that a restricted level never runs: privilege, disks, the machine's power. */
export const DEFAULT_BLOCKED_COMMANDS: readonly string[] = Object.freeze([
  'sudo',
  'su',
  'doas',
  'pkexec',
  'rm -rf /',
  'rm -rf /*',
  'rm -rf ~',
  'mkfs',
  'mkfs.*',
  'fdisk',
  'parted',
  'dd of=/dev/*',
  'shutdown',
  'reboot',
  'halt',
  'poweroff',
  'init',
  'chmod -R 777 /',
  'chown -R * /',
  'mount',
  'umount',
  'insmod',
  'rmmod',
  'modprobe',
  'iptables',
  'nsenter',
  'chroot',
]);

const noLimits = { max_memory_bytes: null, max_cpu_percent: null, max_llm_calls_per_min: null };

const none: Permissions = {
  can_exec: false,
  can_read: false,
  can_write: false,
  can_think: false,
  can_spawn: false,
  can_network: false,
  can_tunnel: false,
  sandboxed: false,
  allowed_read_paths: [],
  allowed_write_paths: [],
  blocked_paths: [...DEFAULT_BLOCKED_PATHS],
  allowed_commands: [],
  blocked_commands: [...DEFAULT_BLOCKED_COMMANDS],
  allowed_domains: [],
  ...noLimits,
};

/** Where a restricted agent may write: its home and the temporary directory. */
const WORKSPACE = ['~/**', '/tmp/**'];

export const PRESETS: Readonly<Record<Level, Readonly<Permissions>>> = deepFreeze({
  /** Dev mode: everything, nothing blocked. */
  unrestricted: {
    can_exec: true,
    can_read: true,
    can_write: true,
    can_think: true,
    can_spawn: true,
    can_network: true,
    can_tunnel: true,
    sandboxed: false,
    allowed_read_paths: ['/**'],
    allowed_write_paths: ['/**'],
    blocked_paths: [],
    allowed_commands: null,
    blocked_commands: [],
    allowed_domains: ['*'],
    ...noLimits,
  },
  /** Read anywhere but secrets, write in the workspace, run commands; no spawn, no network. */
  standard: {
    ...none,
    can_exec: true,
    can_read: true,
    can_write: true,
    can_think: true,
    allowed_read_paths: ['/**'],
    allowed_write_paths: WORKSPACE,
    allowed_commands: null,
  },
  /** Standard inside the workspace, commands in an OS sandbox. */
  sandboxed: {
    ...none,
    can_exec: true,
    can_read: true,
    can_write: true,
    can_think: true,
    sandboxed: true,
    allowed_read_paths: WORKSPACE,
    allowed_write_paths: WORKSPACE,
    allowed_commands: null,
  },
  readonly: { ...none, can_read: true, can_think: true, allowed_read_paths: ['/**'] },
  minimal: { ...none, can_think: true },
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** GET_PERMS: one's own rights, or (for its spawner, an ancestor or an admin) another agent's. */
export const GetPermsRequest = z.object({
  agent_id: z.number({ error: 'expected an agent id (a number)' }).int().positive('expected a positive agent id').optional(),
});

/**
 * SET_PERMS: a level (its preset), fields of the model over it (or over the agent's
 * current rights), or both. Only narrowing on oneself; never beyond the caller's rights
 * on another agent (its descendants only), unless the caller is an admin.
 */
export const SetPermsRequest = z
  .object({
    agent_id: z.number({ error: 'expected an agent id (a number)' }).int().positive('expected a positive agent id').optional(),
    level: Level.optional(),
    permissions: Permissions.partial().strict().optional(),
  })
  .refine((request) => request.level !== undefined || request.permissions !== undefined, {
    message: 'expected "level" or "permissions" (or both)',
    path: ['level'],
  });
export type SetPermsRequest = z.infer<typeof SetPermsRequest>;

/** What GET_PERMS and SET_PERMS answer: the agent's rights (after the change, for SET_PERMS). */
export const PermsReply = z.object({
  success: z.literal(true),
  agent_id: z.number().int(),
  level: Level,
  /** Whether the agent presented the admin token (an admin reaches every agent, and may grant anything). */
  admin: z.boolean(),
  permissions: Permissions,
});
export const GetPermsReply = PermsReply;
export const SetPermsReply = PermsReply;
