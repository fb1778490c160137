/**
 * Path policy: whether an agent may read or write a path, for every call that touches a
 * file (READ, WRITE, DOWNLOAD, EXEC's cwd, SPAWN's script and cwd, FILE_CHANGED).
 *
 * The rules, judged on the REAL path (symlinks resolved, the leaf too; see
 * paths-resolve.ts), in this order, the first that speaks deciding:
 * 1. Kernel rules, for every agent but an admin, whatever its permissions: the kernel's
 *    data directory (admin.token, the databases) and the kernel's own `/proc/<pid>` entry
 *    (its environment, memory, descriptors; paths-resolve.ts names a kernel thread's
 *    `/proc/<tid>` as `/proc/<pid>/task/<tid>`) are out of reach.
 * 2. `blocked_paths`: a match denies, whatever the allowed lists say. Blocked patterns
 *    ignore case (`.ENV`, `Server.PEM` are blocked by `**\/.env`, `**\/*.pem`): Linux is
 *    case-sensitive, but a case-insensitive mount or an ext4 casefold directory opens
 *    `.env` for `.ENV`, and a false positive only refuses an oddly named file.
 * 3. `allowed_read_paths` / `allowed_write_paths` (by access): a match allows; no match
 *    denies (deny by default). Allowed patterns are exact, case included.
 *
 * Patterns (src/security/paths-glob.ts for the glob itself): `~` and `~/…` mean the
 * agent's home, for now the home of the kernel's user (os.homedir(), its real path);
 * a pattern that does not start with `/` or `~` matches at any depth (`*.pem` is
 * `**\/*.pem`); a trailing `/` means the directory and everything below it (`/srv/` is
 * `/srv/**`); `dir/**` matches `dir` itself too. Patterns name real paths, so write
 * `/run/x`, not `/var/run/x` when `/var/run` is a symlink; `.` and `..` never match.
 *
 * API:
 * - `checkPath(permissions, realPath, access, context)`: pure and cheap (patterns are
 *   compiled once per permissions object and context, in a WeakMap); a sentence naming
 *   the rule, or undefined when allowed. Runs on the event loop (FILE_CHANGED deliveries).
 * - `pathPolicy(permissions, context)`: the same rules as plain data that crosses to a
 *   worker thread (memoized per permissions object; a worker compiles it once per `key`
 *   and judges with `policyVerdict`). `denialMessage` makes the sentence of a denial.
 *
 * For a call that writes a file from a worker task (DOWNLOAD):
 * 1. on the main thread, `const policy = await pathPolicyOf(session.agent, kernel)` and
 *    `const path = requestPath(session.agent, request.path, 'DOWNLOAD')` (absolute; a NUL
 *    byte is PERMISSION_DENIED) (both in paths-authorize.ts), sent with the task;
 * 2. in the worker, `const opened = await openForWrite(path, policy, 'DOWNLOAD', { mkdir,
 *    append: false })` (paths-access.ts): a TaskOutcome, so `if (!opened.ok) return opened;`
 *    passes a denial back as PERMISSION_DENIED naming the rule. Otherwise
 *    `opened.value.handle` is the checked real file, already truncated: write into it and
 *    close it. Before fetching anything, `authorizeWrite(path, policy, 'DOWNLOAD',
 *    { mkdir })` answers the same question without creating or opening anything.
 *   `openForRead` / `authorizeRead` are the read side (READ uses them).
 *
 * For a path a call uses without opening it (EXEC's cwd, SPAWN's script and cwd,
 * FILE_CHANGED's directory): `authorizeAgentPath(kernel, agent, requestPath, 'read',
 * { op, cancel })` (paths-authorize.ts) runs the resolution and check in a worker and
 * resolves to `{ path, real }`, or rejects with PERMISSION_DENIED naming the rule.
 */
import type { Permissions } from '../protocol/schemas/permissions.js';
import { compileGlob, hasWildcard, type PathMatcher } from './paths-glob.js';

export type PathAccess = 'read' | 'write';

/** The path fields of the permission model. */
export type PathRules = Pick<Permissions, 'allowed_read_paths' | 'allowed_write_paths' | 'blocked_paths'>;

/** What patterns and kernel rules are relative to; both paths real. */
export interface PathContext {
  /** `~` of the patterns. */
  readonly home: string;
  /** The kernel's data directory, blocked with the kernel's /proc entry; null for an admin (no kernel rule). */
  readonly dataDir: string | null;
}

/**
 * The rules and their context for a worker thread. The rules travel inside `key` (one
 * string: a cheap copy across threads, where arrays of patterns cost a structured clone
 * per call), and each worker compiles a key once.
 */
export interface PathPolicy extends PathContext {
  /** JSON of [home, dataDir, allowed_read_paths, allowed_write_paths, blocked_paths]. */
  readonly key: string;
  /** The kernel runs with permissionChecks: false (only to measure their cost): paths are used as given. */
  readonly unchecked?: true;
}

interface Compiled {
  readonly home: string;
  readonly dataDir: string | null;
  readonly procDir: string;
  readonly read: readonly PathMatcher[];
  readonly write: readonly PathMatcher[];
  /** Compiled lowercased (blocked patterns ignore case), each with the pattern as written. */
  readonly blocked: readonly { readonly pattern: string; readonly matcher: PathMatcher }[];
}

const byPermissions = new WeakMap<PathRules, Compiled[]>();
/** Worker-side cache: policies arrive as fresh copies, so they are keyed by content. Bounded. */
const byKey = new Map<string, Compiled>();
const MAX_KEYED = 64;
const policies = new WeakMap<PathRules, PathPolicy[]>();

/**
 * Why `realPath` may not be accessed (a sentence naming the rule), or undefined when it
 * may. `realPath` must be absolute, normalized and real (paths-resolve.ts); anything
 * else is denied.
 */
export function checkPath(rules: PathRules, realPath: string, access: PathAccess, context: PathContext): string | undefined {
  const verdict = decide(compiledFor(rules, context), realPath, access);
  return verdict === undefined ? undefined : `"${shown(realPath)}" ${verdict}`;
}

/**
 * `checkPath` for a policy that crossed a thread (its context is its own); the verdict
 * without its subject ("is not in allowed_read_paths"), for messages that name the
 * requested path and the real one.
 */
export function policyVerdict(policy: PathPolicy, realPath: string, access: PathAccess): string | undefined {
  let compiled = byKey.get(policy.key);
  if (compiled === undefined) {
    const [home, dataDir, read, write, blocked] = JSON.parse(policy.key) as [string, string | null, string[], string[], string[]];
    compiled = compile({ allowed_read_paths: read, allowed_write_paths: write, blocked_paths: blocked }, { home, dataDir });
    if (byKey.size >= MAX_KEYED) byKey.delete(byKey.keys().next().value as string);
    byKey.set(policy.key, compiled);
  }
  return decide(compiled, realPath, access);
}

/** The denial sentence of a call: `READ denied: "/a/link" resolves to "/etc/x", which is not in allowed_read_paths`. */
export function denialMessage(op: string, path: string, realPath: string, verdict: string): string {
  return path === realPath
    ? `${op} denied: "${shown(path)}" ${verdict}`
    : `${op} denied: "${shown(path)}" resolves to "${shown(realPath)}", which ${verdict}`;
}

/** A path as it may appear in a message or a log: at most about 400 characters, control characters escaped. */
export function shown(path: string): string {
  const short = path.length > 400 ? `${path.slice(0, 256)}…(${path.length} characters)…${path.slice(-128)}` : path;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return short.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The rules of `permissions` in `context` as plain data (one object per permissions object and context). */
export function pathPolicy(rules: PathRules, context: PathContext): PathPolicy {
  return memo(policies, rules, context, () =>
    Object.freeze({
      home: context.home,
      dataDir: context.dataDir,
      key: JSON.stringify([context.home, context.dataDir, rules.allowed_read_paths, rules.allowed_write_paths, rules.blocked_paths]),
    }),
  );
}

function compiledFor(rules: PathRules, context: PathContext): Compiled {
  return memo(byPermissions, rules, context, () => compile(rules, context));
}

/**
 * One value per rules object and context. A rules object (a preset, or an agent's frozen
 * permissions) meets few contexts: an admin's and everyone else's.
 */
function memo<V extends PathContext>(cache: WeakMap<PathRules, V[]>, rules: PathRules, context: PathContext, make: () => V): V {
  let known = cache.get(rules);
  if (known === undefined) {
    known = [];
    cache.set(rules, known);
  }
  for (const value of known) if (value.home === context.home && value.dataDir === context.dataDir) return value;
  const value = make();
  if (known.length >= 4) known.shift();
  known.push(value);
  return value;
}

function compile(rules: PathRules, context: PathContext): Compiled {
  const matcher = (pattern: string, lower: boolean) => {
    const expanded = normalizePattern(pattern, context.home);
    return compileGlob(lower ? expanded.toLowerCase() : expanded);
  };
  return Object.freeze({
    home: context.home,
    dataDir: context.dataDir,
    procDir: `/proc/${process.pid}`,
    read: rules.allowed_read_paths.map((p) => matcher(p, false)),
    write: rules.allowed_write_paths.map((p) => matcher(p, false)),
    blocked: rules.blocked_paths.map((pattern) => ({ pattern, matcher: matcher(pattern, true) })),
  });
}

/** `~` expanded, a relative pattern made to match at any depth, a trailing `/` made `/**`. */
export function normalizePattern(pattern: string, home: string): string {
  let out = pattern;
  if (out === '~') out = home;
  else if (out.startsWith('~/')) out = `${home.replace(/\/+$/, '')}${out.slice(1)}`;
  if (!out.startsWith('/')) out = `**/${out}`;
  out = out.replace(/\/{2,}/g, '/');
  if (out.length > 1 && out.endsWith('/')) out = `${out}**`;
  return out;
}

const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/;

/**
 * The directories (or files) a list of path globs names without a wildcard, read as the
 * path rules read them (`normalizePattern`): `~/**` is the home, `/data/out/` and
 * `/data/out/**` are `/data/out`, `/etc/sudoers` is itself, `/**` is `/`. A pattern with a
 * wildcard before its end (`**` + `/.env`, `/proc/**` + `/environ`, a relative one) names no
 * single place, and one with a `.` or `..` segment never matches (so never allows), so
 * neither has one. The sandbox binds these (write paths) or covers them (blocked paths);
 * they are not real paths yet.
 */
export function literalBases(patterns: readonly string[], home: string): string[] {
  const bases: string[] = [];
  for (const pattern of patterns) {
    const normalized = normalizePattern(pattern, home);
    const base = normalized.endsWith('/**') ? normalized.slice(0, -3) || '/' : normalized;
    if (hasWildcard(base) || DOT_SEGMENT.test(base)) continue;
    if (!bases.includes(base)) bases.push(base);
  }
  return bases;
}

const UNNORMALIZED = /\/\.{0,2}(\/|$)|\0/;

/** The verdict without its subject: undefined (allowed) or what rule denies. */
function decide(compiled: Compiled, realPath: string, access: PathAccess): string | undefined {
  if (!realPath.startsWith('/')) return 'is not an absolute path';
  // A real path has no empty, "." or ".." segment: `**` would otherwise match across "..".
  if (realPath !== '/' && UNNORMALIZED.test(realPath)) return 'is not a normalized real path';
  if (compiled.dataDir !== null) {
    if (within(realPath, compiled.dataDir))
      return `is in the kernel's data directory (${compiled.dataDir}), out of reach of every agent but an admin`;
    if (within(realPath, compiled.procDir))
      return `is in the kernel's own process entry (${compiled.procDir}), out of reach of every agent but an admin`;
  }
  if (compiled.blocked.length > 0) {
    const lower = realPath.toLowerCase();
    for (const { pattern, matcher } of compiled.blocked) {
      if (matcher.test(lower)) return `matches blocked_paths pattern "${pattern}"`;
    }
  }
  const allowed = access === 'read' ? compiled.read : compiled.write;
  for (const matcher of allowed) if (matcher.test(realPath)) return undefined;
  const field = access === 'read' ? 'allowed_read_paths' : 'allowed_write_paths';
  return allowed.length === 0 ? `is not in ${field}, which is empty` : `is not in ${field}`;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
