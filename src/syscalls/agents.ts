/** SPAWN, KILL, LIST, PAUSE, RESUME, LOGS and TREE: process agents and the live tree. */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolveLaunch } from '../agents/interpreter.js';
import type { ProcessLaunch } from '../agents/launch.js';
import type { AgentRecord } from '../agents/registry.js';
import type { Session } from '../kernel/session.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { AgentTarget, KillRequest, LogsRequest, NoFields, SpawnRequest } from '../protocol/schemas/agents.js';
import { type Permissions, PRESETS } from '../protocol/schemas/permissions.js';
import { ensureSandboxAvailable, sandboxPaths } from '../sandbox/index.js';
import { checkArgv, commandRefusal } from '../security/commands/index.js';
import { escalations, isUnrestricted } from '../security/grant.js';
import { authorizeAgentPath } from '../security/paths-authorize.js';
import { restartTypeFromPolicy } from '../supervision/spec.js';
import { joinSpawned, worldForSpawn } from '../worlds/spawn-calls.js';
import { agentInfo, buildTree } from './agent-views.js';

interface Grant {
  level: AgentRecord['level'];
  permissions: Permissions;
  /** Sandboxed only because that is the default (restricted rights, no "sandboxed" in the request): opting out is possible. */
  sandboxByDefault: boolean;
}

/**
 * The rights a spawned agent gets: what it asked for, never more than its spawner has.
 * Deny by default: rights short of unrestricted hold only inside a sandbox (outside one
 * the agent is a process of the kernel's user and can read the admin token), so such an
 * agent is sandboxed unless the request says `"sandboxed": false`.
 */
function grantFor(caller: AgentRecord, request: SpawnRequest): Grant {
  const base = request.level ? PRESETS[request.level] : caller.permissions;
  const wanted: Permissions = { ...base, ...request.permissions };
  // A sandboxed spawner cannot make an unsandboxed child, nor can the request's own level or permissions be contradicted.
  const required = wanted.sandboxed || caller.permissions.sandboxed;
  if (required && request.sandboxed === false) {
    if (caller.permissions.sandboxed) {
      throw new KernelError(
        'PERMISSION_DENIED',
        `SPAWN denied: "sandboxed": false, but the spawner (agent ${caller.id}) is sandboxed, and so is every agent it spawns`,
        { escalations: ['sandboxed: the granter is sandboxed, so is everything it grants'] },
      );
    }
    const contradiction =
      'invalid SPAWN request: field "sandboxed": false contradicts the requested level or permissions, which are sandboxed';
    throw new KernelError('INVALID_REQUEST', contradiction, { field: 'sandboxed' });
  }
  const sandboxByDefault = !required && request.sandboxed === undefined && !isUnrestricted(wanted);
  wanted.sandboxed = required || request.sandboxed === true || sandboxByDefault;
  const found = caller.admin ? [] : escalations(wanted, { granter: caller.permissions, granterHome: homedir(), home: homedir() });
  if (found.length > 0) {
    throw new KernelError(
      'PERMISSION_DENIED',
      `SPAWN denied: the new agent would get more than its spawner (agent ${caller.id}) has: ${found.join('; ')}`,
      { escalations: found },
    );
  }
  if (request.network && !wanted.can_network) {
    throw new KernelError('PERMISSION_DENIED', 'SPAWN denied: "network": true needs can_network');
  }
  return { level: request.level ?? caller.level, permissions: Object.freeze(wanted), sandboxByDefault };
}

/**
 * Why a restricted agent runs without a sandbox (it opted out), for its isolation report:
 * its permissions do not hold it. Nothing is owed for an unrestricted one.
 */
function unsandboxedBecause(permissions: Readonly<Permissions>): string | undefined {
  if (permissions.sandboxed || isUnrestricted(permissions)) return undefined;
  return `"sandboxed": false was asked: the agent is a process of the kernel's user, so its permissions bind only its syscalls (it can read the kernel's admin token and become admin)`;
}

function findTarget(
  kernel: KernelServices,
  target: { id?: number | undefined; agent_id?: number | undefined; name?: string | undefined },
): AgentRecord {
  const id = target.id ?? target.agent_id;
  const record = id !== undefined ? kernel.agents.get(id) : kernel.agents.byName(target.name as string);
  if (!record) {
    const what = id !== undefined ? `agent ${id}` : `agent "${target.name}"`;
    throw new KernelError('NOT_FOUND', `${what} does not exist (or has ended)`);
  }
  return record;
}

/** KILL, PAUSE, RESUME and LOGS reach an agent's own descendants (or itself), or any agent for an admin. */
function authorize(session: Session, target: AgentRecord, op: string, kernel: KernelServices): void {
  const caller = session.agent;
  const parent = target.parentId;
  // Through the parent, so an agent that has just ended (LOGS of its last lines) is judged like a live one.
  if (caller.admin || target.id === caller.id || parent === caller.id) return;
  if (parent !== null && kernel.agents.isDescendant(parent, caller.id)) return;
  throw new KernelError(
    'PERMISSION_DENIED',
    `${op} denied: agent ${target.id} is not a descendant of agent ${caller.id} (the admin token reaches every agent)`,
  );
}

function supervised(target: AgentRecord, op: string): NonNullable<AgentRecord['runtime']> {
  if (target.kind === 'client' || target.kind === 'remote') {
    const what = target.kind === 'client' ? 'a client connection' : 'a remote agent (its session is on the relay)';
    throw new KernelError('INVALID_REQUEST', `${op}: agent ${target.id} is ${what}; it ends when it disconnects`);
  }
  if (!target.runtime) throw new KernelError('UNAVAILABLE', `${op}: agent ${target.id} is still starting; try again`);
  return target.runtime;
}

export const spawn = defineSyscall({
  name: 'SPAWN',
  request: SpawnRequest,
  handle: async (request, session, kernel) => {
    const caller = session.agent;
    // The spawner must be able to read the script and an explicit cwd (path policy), checked before they are looked at.
    const { path: script } = await authorizeAgentPath(kernel, caller, request.script, 'read', {
      op: 'SPAWN script',
      cancel: session.closed,
    });
    const launcher = await resolveLaunch(script, request.interpreter);
    const cwd =
      request.cwd === undefined
        ? caller.cwd
        : (await authorizeAgentPath(kernel, caller, request.cwd, 'read', { op: 'SPAWN cwd', cancel: session.closed })).path;
    const cwdInfo = await stat(cwd).catch(() => undefined);
    if (!cwdInfo?.isDirectory()) throw new KernelError('NOT_FOUND', `SPAWN: cwd "${cwd}" is not a directory`);
    const { level, permissions, sandboxByDefault } = grantFor(caller, request);
    // Starting the process is the spawner's command: its argv passes the spawner's command rules (the kernel's socket argument aside).
    const argv = [launcher.command, ...launcher.prefix, ...(launcher.command === script ? [] : [script]), ...request.args];
    const denial = checkArgv(argv, caller.permissions, { home: homedir(), cwd }, script);
    if (denial) throw commandRefusal('SPAWN', denial);
    // Refused before anything is created; the runner checks again at every start.
    if (permissions.sandboxed) await ensureSandboxAvailable(kernel.options.allowDegradedIsolation, {}, { byDefault: sandboxByDefault });
    const paths = sandboxPaths(permissions, { home: homedir(), dataDir: kernel.options.dataDir });

    // After the last await: the world's room checked here is still there when the child joins, before it can call.
    const world = worldForSpawn(kernel, caller, request.world_id);
    const record = kernel.agents.create({ kind: 'process', name: request.name, parentId: caller.id, level, permissions, cwd });
    try {
      joinSpawned(kernel, world, record);
    } catch (error) {
      kernel.agents.remove(record.id);
      throw error;
    }
    const launch: ProcessLaunch = {
      kind: 'process',
      script,
      args: request.args,
      interpreter: request.interpreter,
      env: request.env ?? {},
      cwd,
      sandboxed: permissions.sandboxed,
      network: request.network,
      limits: request.limits,
      writablePaths: paths.writable,
      hiddenPaths: paths.hidden,
      unsandboxedBecause: unsandboxedBecause(permissions),
    };
    const { pid } = await kernel.spawner.start(record, launch, {
      restart: restartTypeFromPolicy(request.restart_policy),
      window: { intensity: request.max_restarts, period: request.restart_window },
    });
    return {
      success: true as const,
      agent_id: record.id,
      id: record.id,
      name: record.name,
      pid,
      restart_policy: request.restart_policy,
      isolation: kernel.supervision.isolation(record.id) ?? null,
      ...(world && { world_id: world.id }),
    };
  },
});

export const kill = defineSyscall({
  name: 'KILL',
  request: KillRequest,
  handle: async (request, session, kernel) => {
    const target = findTarget(kernel, request);
    authorize(session, target, 'KILL', kernel);
    if (target.kind === 'remote') {
      // A remote agent lives on the relay's link: its session ends and the relay closes it.
      kernel.tunnel.endRemote(target.id);
      return { success: true as const, killed: true, agent_id: target.id };
    }
    supervised(target, 'KILL');
    await kernel.spawner.stop(target, request.signal, request.grace_ms);
    return { success: true as const, killed: true, agent_id: target.id };
  },
});

function pauseOrResume(op: 'PAUSE' | 'RESUME') {
  return async (request: { id?: number; agent_id?: number; name?: string }, session: Session, kernel: KernelServices) => {
    const target = findTarget(kernel, request);
    authorize(session, target, op, kernel);
    const runtime = supervised(target, op);
    if (target.kind !== 'process') {
      throw new KernelError(
        'INVALID_REQUEST',
        `${op}: only process agents can be paused and resumed (agent ${target.id} is a ${target.kind})`,
      );
    }
    const snapshot = runtime.slot.getSnapshot();
    const wanted = op === 'PAUSE' ? 'paused' : 'running';
    if (!snapshot.matches({ alive: wanted })) {
      const from = op === 'PAUSE' ? 'running' : 'paused';
      if (!snapshot.matches({ alive: from })) {
        throw new KernelError('CONFLICT', `${op}: agent ${target.id} is not ${from} (it is ${describeState(snapshot.value)})`);
      }
      runtime.slot.send({ type: op === 'PAUSE' ? 'agent.pause' : 'agent.resume' });
    }
    return op === 'PAUSE'
      ? { success: true as const, paused: true, agent_id: target.id }
      : { success: true as const, resumed: true, agent_id: target.id };
  };
}

function describeState(value: unknown): string {
  return typeof value === 'string' ? value : Object.values(value as Record<string, string>).join('');
}

export const pause = defineSyscall({ name: 'PAUSE', request: AgentTarget, handle: pauseOrResume('PAUSE') });
export const resume = defineSyscall({ name: 'RESUME', request: AgentTarget, handle: pauseOrResume('RESUME') });

/** LIST answers a bare array (protocol.md §4 keeps that for compatibility). */
export const list = defineSyscall({
  name: 'LIST',
  request: NoFields,
  handle: (_request, _session, kernel) => [...kernel.agents].map((record) => agentInfo(record)),
});

export const logs = defineSyscall({
  name: 'LOGS',
  request: LogsRequest,
  handle: async (request, session, kernel) => {
    const live = request.id ?? request.agent_id ?? request.name;
    // An agent that ended for good keeps its last lines a while, by id (its name is free again).
    const id = request.id ?? request.agent_id;
    const ended = id !== undefined && kernel.agents.get(id) === undefined ? kernel.supervision.endedOutput(id) : undefined;
    const record = ended?.record ?? findTarget(kernel, request);
    authorize(session, record, 'LOGS', kernel);
    const output = ended?.log ?? kernel.supervision.output(record.id);
    if (!output) throw new KernelError('NOT_FOUND', `agent ${live} has no output log (only process agents have one)`);
    if (request.wait_ms > 0 && !ended) await output.waitFor(request.after_seq || output.lastSeq, request.wait_ms, session.closed);
    const { lines, nextSeq } = output.read(request.after_seq, request.lines, request.after_seq === 0);
    return {
      success: true as const,
      agent_id: record.id,
      name: record.name,
      lines,
      next_seq: nextSeq,
      dropped: output.dropped,
      ended: kernel.agents.get(record.id) === undefined,
    };
  },
});

export const tree = defineSyscall({
  name: 'TREE',
  request: NoFields,
  handle: (_request, _session, kernel) => ({ success: true as const, tree: buildTree(kernel) }),
});
