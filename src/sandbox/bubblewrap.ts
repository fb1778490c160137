/**
 * bubblewrap (bwrap): finding a working one, and the argv that puts an agent inside it.
 *
 * The environment is not in the argv: bwrap passes its own environment through to the
 * agent, so the caller's `spawn(..., { env })` reaches the agent unchanged. That is
 * deliberate: an argv is world-readable in /proc/<pid>/cmdline, an environment is not,
 * and agents get API keys through their environment.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { NOT_INSTALLED_MESSAGE, unusableMessage } from './errors.js';
import { findExecutable, probe } from './probe.js';

export interface Bubblewrap {
  path: string;
  version: string;
  /** --disable-userns exists from bwrap 0.8. */
  disableUserns: boolean;
}

export type BubblewrapLookup =
  | { ok: true; bwrap: Bubblewrap }
  /** `reason`: the full refusal sentence; `problem`: just what is wrong, for a degraded-mode report. */
  | { ok: false; installed: boolean; reason: string; problem: string };

/** Read-only system directories; the `-try` ones may be absent (or symlinks into /usr) depending on the distribution. */
export const SYSTEM_DIRS: readonly { path: string; required: boolean }[] = [
  { path: '/usr', required: true },
  { path: '/bin', required: false },
  { path: '/sbin', required: false },
  { path: '/lib', required: false },
  { path: '/lib32', required: false },
  { path: '/lib64', required: false },
  { path: '/libx32', required: false },
  { path: '/etc', required: true },
];

/** Files under /etc that the kernel's uid could read but an agent must not (masked with /dev/null when present). */
export const SECRET_FILES: readonly string[] = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-'];

export interface SandboxSpec {
  command: string;
  args: readonly string[];
  /** Working directory inside the sandbox (bound read-only when nothing else makes it visible). */
  cwd: string;
  network: boolean;
  /** The kernel's Unix socket: bound at the same path, so the path the agent was given still works. */
  socketPath?: string;
  /** The agent's script: its directory is bound read-only. */
  scriptPath?: string;
  writablePaths?: readonly string[];
  readablePaths?: readonly string[];
  /**
   * Existing host paths to cover (`masksFor` in mounts.ts picks them: the ones a bind
   * would show). They are mounted after every bind, since a bind of a parent directory
   * placed later would uncover them, and before the root turns read-only.
   */
  masks?: readonly Mask[];
}

/** A host path covered inside the sandbox: an empty tmpfs over a directory, /dev/null over anything else. */
export interface Mask {
  path: string;
  directory: boolean;
}

const DEFAULT_BWRAP: Bubblewrap = { path: 'bwrap', version: 'unknown', disableUserns: true };

/** The full argv (argv[0] is bwrap) that runs `spec.command` sandboxed. */
export function bubblewrapArgv(spec: SandboxSpec, bwrap: Bubblewrap = DEFAULT_BWRAP): string[] {
  const argv = [bwrap.path, '--die-with-parent', '--new-session'];
  // A user namespace plus an empty capability set: without both, a sandboxed root could
  // simply remount the read-only binds read-write (checked by hand on bwrap 0.8).
  argv.push('--unshare-user');
  if (bwrap.disableUserns) argv.push('--disable-userns');
  argv.push('--cap-drop', 'ALL', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  if (!spec.network) argv.push('--unshare-net');

  for (const dir of SYSTEM_DIRS) argv.push(dir.required ? '--ro-bind' : '--ro-bind-try', dir.path, dir.path);
  argv.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');

  for (const bind of userBinds(spec)) argv.push(bind.writable ? '--bind' : '--ro-bind', bind.path, bind.path);
  // Masks after every bind: bwrap mounts in argv order, so a bind of a parent directory
  // placed after a mask would show what the mask covers again.
  const masks = orderedMasks(spec);
  for (const mask of masks) argv.push(...(mask.directory ? ['--tmpfs', mask.path] : ['--ro-bind', '/dev/null', mask.path]));
  // The kernel's socket stays reachable at its path even inside a covered directory.
  const socket = spec.socketPath === undefined ? undefined : absolute(spec.socketPath, 'socket path');
  if (socket !== undefined && masks.some((mask) => within(socket, mask.path))) argv.push('--ro-bind', socket, socket);
  // The root itself is bwrap's own tmpfs: read-only too, so only /tmp, /dev/shm and writable paths take writes.
  argv.push('--remount-ro', '/', '--chdir', spec.cwd, '--', spec.command, ...spec.args);
  return argv;
}

interface Bind {
  path: string;
  writable: boolean;
}

/** Host paths to bind, parents before children so a deeper bind is not hidden by a later shallower one. */
function userBinds(spec: SandboxSpec): Bind[] {
  const binds: Bind[] = [];
  const seen = new Set<string>();
  const add = (raw: string, writable: boolean, what: string) => {
    const path = absolute(raw, what);
    if (path === '/') throw new Error(`${what} "/" would expose the whole host: list narrower paths`);
    if (seen.has(path)) return;
    seen.add(path);
    binds.push({ path, writable });
  };
  for (const path of spec.writablePaths ?? []) add(path, true, 'writable path');
  for (const path of spec.readablePaths ?? []) add(path, false, 'readable path');
  if (spec.scriptPath !== undefined) add(dirname(absolute(spec.scriptPath, 'script path')), false, 'script directory');
  const cwd = absolute(spec.cwd, 'cwd');
  if (!cwdVisible(cwd, binds)) add(cwd, false, 'cwd');
  if (spec.socketPath !== undefined) add(spec.socketPath, false, 'socket path');
  return binds
    .map((bind, index) => ({ bind, index, depth: bind.path.split(sep).length }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map(({ bind }) => bind);
}

/**
 * The host paths the sandbox shows, for `masksFor`: the system directories and every
 * user bind of `spec` (writable, readable, script directory, cwd, socket).
 */
export function visibleRoots(spec: SandboxSpec): string[] {
  return [...SYSTEM_DIRS.map((dir) => dir.path), ...userBinds(spec).map((bind) => bind.path)];
}

/** The masks, parents first; one inside another is dropped (the outer one covers it), and the socket itself is never covered. */
function orderedMasks(spec: SandboxSpec): Mask[] {
  const socket = spec.socketPath === undefined ? undefined : resolve(spec.socketPath);
  const masks = (spec.masks ?? [])
    .map((mask) => ({ path: absolute(mask.path, 'masked path'), directory: mask.directory }))
    .filter((mask) => mask.path !== '/' && mask.path !== socket)
    .sort((a, b) => a.path.split(sep).length - b.path.split(sep).length);
  const kept: Mask[] = [];
  for (const mask of masks) {
    if (!kept.some((outer) => outer.directory && within(mask.path, outer.path))) kept.push(mask);
  }
  return kept;
}

/** Whether `path` is `dir` or below it. */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : dir + sep);
}

function cwdVisible(cwd: string, binds: readonly Bind[]): boolean {
  if (cwd === '/' || cwd === '/tmp') return true;
  const visible = [...SYSTEM_DIRS.map((dir) => dir.path), ...binds.map((bind) => bind.path)];
  return visible.some((dir) => cwd === dir || cwd.startsWith(dir + sep));
}

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new Error(`${what} must be absolute, got "${path}"`);
  return resolve(path);
}

/** What a bwrap launch built by bubblewrapArgv protects, for the isolation report. */
export function bubblewrapProtections(spec: Pick<SandboxSpec, 'network' | 'masks' | 'writablePaths'>, bwrap: Bubblewrap): string[] {
  const applied = [
    `bubblewrap ${bwrap.version}`,
    'read-only system directories (/usr, /bin, /lib*, /etc)',
    'private /tmp',
    'read-only root: writes only to /tmp, /dev/shm and the writable paths',
  ];
  if (!spec.network) applied.push('no network');
  applied.push(
    `namespaces: user, mount, pid, ipc, uts${spec.network ? '' : ', net'}`,
    'all capabilities dropped',
    'new session (no TIOCSTI)',
    'dies with the kernel',
  );
  if (bwrap.disableUserns) applied.push('no nested user namespaces');
  if (spec.writablePaths?.length) applied.push(`writable: ${spec.writablePaths.join(', ')}`);
  if (spec.masks?.length) applied.push(`hidden: ${spec.masks.map((mask) => mask.path).join(', ')}`);
  return applied;
}

const lookups = new Map<string, Promise<BubblewrapLookup>>();

/**
 * A working bwrap, looked up once per path: `bwrap --version`, then a trial sandbox with
 * the real flags, so a bwrap that cannot create namespaces here is refused at SPAWN
 * rather than failing inside every agent. `path` overrides the lookup (tests use a
 * missing one to see the refusal).
 */
export function findBubblewrap(options: { path?: string } = {}): Promise<BubblewrapLookup> {
  const name = options.path ?? 'bwrap';
  let found = lookups.get(name);
  if (!found) {
    found = lookUp(name);
    lookups.set(name, found);
  }
  return found;
}

async function lookUp(name: string): Promise<BubblewrapLookup> {
  const path = await findExecutable(name);
  if (!path) return { ok: false, installed: false, reason: NOT_INSTALLED_MESSAGE, problem: 'bubblewrap (bwrap) is not installed' };
  const version = await probe(path, ['--version']);
  if (!version.ok) {
    const problem = `${path} --version failed: ${version.problem}`;
    return { ok: false, installed: false, reason: `${NOT_INSTALLED_MESSAGE} (${problem})`, problem };
  }
  const number = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.stdout);
  const [major, minor] = [Number(number?.[1] ?? 0), Number(number?.[2] ?? 0)];
  const bwrap: Bubblewrap = {
    path,
    version: number ? number[0] : 'unknown',
    disableUserns: major > 0 || minor >= 8,
  };
  const [file, ...args] = bubblewrapArgv({ command: 'true', args: [], cwd: '/', network: false }, bwrap);
  const trial = await probe(file!, args);
  if (!trial.ok) {
    return {
      ok: false,
      installed: true,
      reason: unusableMessage(path, trial.problem),
      problem: `${path} cannot create a sandbox here: ${trial.problem}`,
    };
  }
  return { ok: true, bwrap };
}

/**
 * The process group a signal for a sandboxed agent goes to (as `-group`). bwrap does not
 * forward signals, and its `--new-session` puts the agent in a session led by bwrap's
 * pid-namespace init (bwrap → init → agent): signalling that group reaches the agent and
 * whatever it started, while init itself ignores SIGTERM (a namespace's init only takes
 * the signals it handles; SIGSTOP and SIGKILL still stop or end it). bwrap builds that
 * chain after it starts, so this waits for it, at most `waitMs`; then, or once bwrap is
 * gone, it falls back to `pid` (bwrap's own group, which PAUSE would not reach through).
 */
export async function sandboxedSignalGroup(pid: number, waitMs = 5000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [init] = await childrenOf(pid);
    if (init !== undefined && (await childrenOf(init)).length > 0) return init;
    if (Date.now() >= deadline || !(await exists(`/proc/${pid}`))) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
