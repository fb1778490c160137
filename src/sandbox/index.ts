/**
 * Isolation for process agents: turns a plain launch (command, args, cwd) into one that
 * runs inside bubblewrap and/or under resource limits, and reports what was applied.
 *
 * The runner spawns the returned command/args with its own env, cwd and stdio (bwrap
 * passes the environment through), then calls attach(pid) and, when the agent is gone,
 * release(). The launch is layered outside-in: join the cgroups, set rlimits, enter
 * bwrap, run the agent, so everything the agent ever forks is already limited.
 */
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeZodError, KernelError } from '../protocol/errors.js';
import {
  type Bubblewrap,
  bubblewrapArgv,
  bubblewrapProtections,
  findBubblewrap,
  type SandboxSpec,
  SECRET_FILES,
  SYSTEM_DIRS,
  sandboxedSignalGroup,
} from './bubblewrap.js';
import type { CgroupSupport } from './cgroup-detect.js';
import { type AgentCgroup, type CgroupRemoval, createAgentCgroup, joinCgroupsArgv } from './cgroups.js';
import { defaultSandboxMessage, SandboxUnavailableError } from './errors.js';
import type { IsolationReport, NotApplied } from './isolation.js';
import { Limits, requestedLimits } from './limits.js';
import { masksFor, writableBinds } from './mounts.js';
import { findPrlimit, rlimitPlan } from './rlimits.js';

export { type Bubblewrap, type BubblewrapLookup, bubblewrapArgv, findBubblewrap, sandboxedSignalGroup } from './bubblewrap.js';
export { type CgroupSupport, detectCgroups } from './cgroup-detect.js';
export { type AgentCgroup, type CgroupRemoval, createAgentCgroup } from './cgroups.js';
export { SandboxUnavailableError } from './errors.js';
export { IsolationReport, NotApplied } from './isolation.js';
export { Limits } from './limits.js';
export { type SandboxPaths, sandboxPaths } from './mounts.js';

export interface IsolationRequest {
  sandboxed: boolean;
  /** Network access inside the sandbox (ignored without one: an unsandboxed agent has the host's network). */
  network: boolean;
  limits?: Limits | undefined;
  /** The kernel was started with --allow-degraded-isolation. */
  allowDegraded: boolean;
  command: string;
  args: readonly string[];
  cwd: string;
  /** The kernel's socket, reachable at this same path inside the sandbox. */
  socketPath: string;
  agentName: string;
  /**
   * The agent's script; its directory is visible (read-only) in the sandbox. When not
   * given, every absolute file path in command/args (and file:// URL, as in
   * `--import file:///…/tsx/…`) has its directory made visible, or its whole
   * node_modules for a file inside one, or just the file when it sits in / or /tmp,
   * so the interpreter can load what it was told to.
   */
  scriptPath?: string | undefined;
  readablePaths?: readonly string[] | undefined;
  /** Host paths the agent may write: bound read-write at their real paths where they exist (never `/` or `/tmp`). */
  writablePaths?: readonly string[] | undefined;
  /**
   * Host paths the agent must not see (the kernel's data directory, its blocked paths):
   * covered wherever a bind would show them (src/sandbox/mounts.ts). The shadow files
   * are always covered.
   */
  hiddenPaths?: readonly string[] | undefined;
  /**
   * Why an agent runs without a sandbox although nothing failed (it opted out), for the
   * report's not_applied; absent when none is owed.
   */
  unsandboxedBecause?: string | undefined;
}

/** Where the helpers are and what the machine offers; tests override these. */
export interface IsolationHost {
  bwrapPath?: string;
  prlimitPath?: string;
  cgroups?: CgroupSupport;
  /** The uid agents run as (decides whether RLIMIT_NPROC means anything). */
  uid?: number;
}

export interface PreparedLaunch {
  command: string;
  args: string[];
  isolation: IsolationReport;
  /** Move the spawned process into the agent's cgroups (the launch already joins them itself; this is the belt to those braces). */
  attach(pid: number): Promise<void>;
  /**
   * The process group signals for the agent go to (`kill(-group)`): the spawned process's
   * own, or inside bwrap the session the agent runs in, not bwrap's.
   */
  signalTarget(pid: number): Promise<number>;
  /** Remove the agent's cgroups once its processes are gone; rejects with a sentence naming the pids still inside. */
  release(): Promise<void>;
  /** The same as release, as a status instead of a rejection. */
  releaseStatus(): Promise<CgroupRemoval>;
}

const LimitsField = z.object({ limits: Limits.optional() });

const NEEDS_BWRAP = 'needs bubblewrap';

export async function prepareIsolation(request: IsolationRequest, host: IsolationHost = {}): Promise<PreparedLaunch> {
  const parsed = LimitsField.safeParse({ limits: request.limits });
  if (!parsed.success) {
    const { message, field } = describeZodError(parsed.error, 'SPAWN request');
    throw new KernelError('INVALID_REQUEST', message, { field });
  }
  const limits = parsed.data.limits ?? {};

  // Refuse before creating anything, so a refusal leaves nothing to clean up.
  let bwrap: Bubblewrap | null = null;
  const notApplied: NotApplied[] = [];
  if (!request.sandboxed && request.unsandboxedBecause !== undefined) {
    notApplied.push({ what: 'sandbox', why: request.unsandboxedBecause });
  }
  if (request.sandboxed) {
    const lookup = await findBubblewrap({ path: host.bwrapPath });
    if (lookup.ok) {
      bwrap = lookup.bwrap;
    } else if (!request.allowDegraded) {
      throw new SandboxUnavailableError(lookup.reason);
    } else {
      notApplied.push({ what: 'sandbox', why: `${lookup.problem}; running unsandboxed because of --allow-degraded-isolation` });
      notApplied.push({ what: 'private /tmp', why: NEEDS_BWRAP }, { what: 'read-only system directories', why: NEEDS_BWRAP });
      if (!request.network) notApplied.push({ what: 'no network', why: NEEDS_BWRAP });
    }
  }

  const applied: string[] = [];
  let launch = [request.command, ...request.args];
  if (bwrap) {
    const readablePaths = [
      ...(request.readablePaths ?? []),
      ...(request.scriptPath === undefined ? await launchDirectories(request, SECRET_FILES) : []),
    ];
    const binds: SandboxSpec = {
      command: request.command,
      args: request.args,
      cwd: request.cwd,
      network: request.network,
      socketPath: request.socketPath,
      scriptPath: request.scriptPath,
      readablePaths,
      writablePaths: await writableBinds(request.writablePaths ?? []),
    };
    const spec = { ...binds, masks: await masksFor(binds, request.hiddenPaths ?? []) };
    launch = bubblewrapArgv(spec, bwrap);
    applied.push(...bubblewrapProtections(spec, bwrap));
  }

  // Limits: a cgroup where one can hold them, rlimits for the rest, the reasons for what neither could.
  const wanted = requestedLimits(limits);
  let cgroup: AgentCgroup | null = null;
  if (wanted.length > 0) {
    cgroup = await createAgentCgroup(request.agentName, limits, host.cgroups ? { support: host.cgroups } : {});
    applied.push(...cgroup.applied);
    const rest = wanted.filter(([name]) => !cgroup!.appliedLimits.includes(name));
    const prlimit = rest.length > 0 ? await findPrlimit({ path: host.prlimitPath }) : null;
    const plan = rlimitPlan(rest, prlimit, host.uid);
    applied.push(...plan.applied);
    for (const missed of plan.notApplied) {
      const cgroupWhy = cgroup.notApplied.find((entry) => entry.what === missed.what)?.why;
      notApplied.push({ what: missed.what, why: cgroupWhy ? `${cgroupWhy}; rlimit fallback: ${missed.why}` : missed.why });
    }
    launch = [...plan.prefix, ...launch];
  }

  const [command, ...args] = joinCgroupsArgv(cgroup?.dirs ?? [], launch[0]!, launch.slice(1));
  const sandboxed = bwrap !== null;
  const releaseStatus = async (): Promise<CgroupRemoval> =>
    cgroup ? cgroup.remove() : { removed: true, busy: [], message: 'no cgroup to remove' };
  return {
    command: command!,
    args,
    isolation: {
      sandboxed,
      mechanism: sandboxed ? 'bubblewrap' : 'none',
      network: sandboxed ? request.network : true,
      applied,
      not_applied: notApplied,
    },
    attach: async (pid) => cgroup?.addPid(pid),
    signalTarget: async (pid) => (sandboxed ? sandboxedSignalGroup(pid) : pid),
    release: async () => {
      const status = await releaseStatus();
      if (!status.removed) throw new Error(`agent ${request.agentName}: ${status.message}`);
    },
    releaseStatus,
  };
}

/**
 * For SPAWN's early check: a sandboxed spawn is refused here, before an agent record
 * exists, when bwrap cannot be used and degraded isolation was not allowed. `byDefault`:
 * the sandbox was not asked for but is the default, so the refusal names opting out too.
 */
export async function ensureSandboxAvailable(
  allowDegraded: boolean,
  host: Pick<IsolationHost, 'bwrapPath'> = {},
  options: { byDefault?: boolean } = {},
): Promise<void> {
  if (allowDegraded) return;
  const lookup = await findBubblewrap({ path: host.bwrapPath });
  if (!lookup.ok) throw new SandboxUnavailableError(options.byDefault ? defaultSandboxMessage(lookup.problem) : lookup.reason);
}

/** Directories that make the files named in the launch readable (see IsolationRequest.scriptPath). */
async function launchDirectories(request: IsolationRequest, hidden: readonly string[]): Promise<string[]> {
  const dirs: string[] = [];
  for (const word of [request.command, ...request.args]) {
    let path: string;
    try {
      path = word.startsWith('file://') ? fileURLToPath(word) : word;
    } catch {
      continue;
    }
    if (!isAbsolute(path) || path === request.socketPath || hidden.includes(path)) continue;
    if (SYSTEM_DIRS.some((dir) => path.startsWith(dir.path + sep))) continue;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    const inModules = path.indexOf(`${sep}node_modules${sep}`);
    const dir = inModules >= 0 ? path.slice(0, inModules + '/node_modules'.length) : dirname(path);
    // A file right in / or /tmp: binding its directory would expose the host root or replace the private /tmp.
    const visible = dir === '/' || dir === '/tmp' ? path : dir;
    if (!dirs.includes(visible)) dirs.push(visible);
  }
  return dirs;
}
