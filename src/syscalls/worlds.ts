/**
 * WORLD_CREATE, WORLD_DESTROY, WORLD_LIST, WORLD_JOIN, WORLD_LEAVE, WORLD_EVENT and
 * WORLD_STATE (protocol.md §5, worlds.md). The worlds themselves live in
 * src/worlds/registry.ts; these handlers check the request, who may name which agent,
 * and turn a definition's problems into one INVALID_REQUEST that lists their key paths.
 */
import type { z } from 'zod';
import type { AgentRecord } from '../agents/registry.js';
import type { Session } from '../kernel/session.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { KERNEL_VERSION } from '../kernel/version.js';
import { KernelError } from '../protocol/errors.js';
import { NoFields } from '../protocol/schemas/agents.js';
import {
  WorldCreateRequest,
  WorldDestroyRequest,
  WorldEventRequest,
  WorldJoinRequest,
  WorldLeaveRequest,
  type WorldOwnerSummary,
  WorldRestoreRequest,
  WorldSnapshotRequest,
  type WorldSummary,
  WorldTarget,
} from '../protocol/schemas/worlds.js';
import { authorizeAgentPath, requestPath } from '../security/paths-authorize.js';
import { ownerFor, requireControl, requireSnapshotOwner, type WorldOwner } from '../worlds/control.js';
import {
  checkSources,
  EVENT_TYPES,
  formatPath,
  isPresetName,
  loadWorld,
  parseWorldDefinition,
  validateWorldDefinition,
  type WorldDefinition,
  WorldDefinitionError,
  WorldEvent,
} from '../worlds/definition/index.js';
import { defaultSnapshotPath, kernelSnapshotPath, readSnapshotPayload, snapshotPayload } from '../worlds/snapshot/payload.js';
import type { World } from '../worlds/world.js';
import { reachableAgent } from './reach.js';

/** A definition's problems as one INVALID_REQUEST: `problems` lists each key path and what is wrong. */
function definitionRefused(error: WorldDefinitionError): KernelError {
  return new KernelError('INVALID_REQUEST', `WORLD_CREATE: ${error.message}`, {
    field: error.problems[0]?.path ?? '',
    problems: error.problems,
  });
}

async function loadDefinition(request: WorldCreateRequest, caller: AgentRecord): Promise<WorldDefinition> {
  const params = request.params ? { params: request.params } : {};
  if (request.preset !== undefined) {
    // A path would let the call read any file the kernel can: file contents come as `yaml`.
    if (!isPresetName(request.preset)) {
      throw new KernelError(
        'INVALID_REQUEST',
        'WORLD_CREATE: "preset" must be a preset name such as "dev"; send a file\'s text as "yaml"',
        {
          field: 'preset',
        },
      );
    }
    return loadWorld(request.preset, params);
  }
  // Relative mirror sources resolve against the caller's working directory.
  const options = { baseDir: caller.cwd, ...params };
  const definition =
    request.yaml !== undefined
      ? parseWorldDefinition(request.yaml, { ...options, origin: '(yaml)' })
      : validateWorldDefinition(request.config, { ...options, origin: '(config)' });
  await checkSources(definition);
  return definition;
}

/** A world may only show what its creator may read: every mirror and readonly source passes the caller's path policy. */
async function authorizeSources(definition: WorldDefinition, session: Session, kernel: KernelServices): Promise<void> {
  for (const [point, mount] of Object.entries(definition.filesystem)) {
    if (mount.type === 'virtual') continue;
    await authorizeAgentPath(kernel, session.agent, mount.source, 'read', {
      op: `WORLD_CREATE filesystem["${point}"].source`,
      cancel: session.closed,
    });
  }
}

function ownerSummary(owner: WorldOwner | undefined): z.infer<typeof WorldOwnerSummary> {
  return owner ? { agent_id: owner.agent_id, name: owner.name } : null;
}

function summary(world: World, owner: WorldOwner | undefined): z.infer<typeof WorldSummary> {
  return {
    world_id: world.id,
    name: world.name,
    owner: ownerSummary(owner),
    status: world.state,
    agents: world.members().length,
    max_agents: world.maxAgents,
    time_scale: world.clock.timeScale,
    created_at: world.createdAt,
  };
}

export const worldCreate = defineSyscall({
  name: 'WORLD_CREATE',
  request: WorldCreateRequest,
  handle: async (request, session, kernel) => {
    let definition: WorldDefinition;
    try {
      definition = await loadDefinition(request, session.agent);
    } catch (error) {
      if (error instanceof WorldDefinitionError) throw definitionRefused(error);
      throw error;
    }
    await authorizeSources(definition, session, kernel);
    const world = await kernel.worlds.create(definition, request.name, ownerFor(session.agent, kernel.agents));
    return { success: true as const, world_id: world.id, name: world.name };
  },
});

export const worldDestroy = defineSyscall({
  name: 'WORLD_DESTROY',
  request: WorldDestroyRequest,
  handle: async (request, session, kernel) => {
    const world = kernel.worlds.require(request.world_id, 'WORLD_DESTROY');
    requireControl(world, kernel.worlds.ownerOf(world), session.agent, 'WORLD_DESTROY', 'destroy');
    const members = world.members().length;
    if (members > 0 && !request.force) {
      throw new KernelError(
        'CONFLICT',
        `WORLD_DESTROY: world "${world.id}" has ${members} member(s); they must WORLD_LEAVE first, or pass "force": true`,
      );
    }
    await kernel.worlds.destroy(world);
    return { success: true as const, world_id: world.id, destroyed: true, members_released: members };
  },
});

export const worldList = defineSyscall({
  name: 'WORLD_LIST',
  request: NoFields,
  handle: (_request, _session, kernel) => {
    const worlds = [...kernel.worlds].map((world) => summary(world, kernel.worlds.ownerOf(world)));
    return { success: true as const, worlds, count: worlds.length };
  },
});

export const worldJoin = defineSyscall({
  name: 'WORLD_JOIN',
  request: WorldJoinRequest,
  handle: (request, session, kernel) => {
    const world = kernel.worlds.require(request.world_id, 'WORLD_JOIN');
    requireControl(world, kernel.worlds.ownerOf(world), session.agent, 'WORLD_JOIN', 'put agents in');
    const agent = reachableAgent(session, kernel, request.agent_id, 'WORLD_JOIN');
    kernel.worlds.join(world, agent.id, agent.name);
    return { success: true as const, world_id: world.id, agent_id: agent.id };
  },
});

export const worldLeave = defineSyscall({
  name: 'WORLD_LEAVE',
  request: WorldLeaveRequest,
  handle: (request, session, kernel) => {
    const agent = reachableAgent(session, kernel, request.agent_id, 'WORLD_LEAVE');
    const current = kernel.worlds.worldOf(agent.id);
    if (request.world_id !== undefined) {
      const world = kernel.worlds.require(request.world_id, 'WORLD_LEAVE');
      if (current !== world) throw new KernelError('NOT_FOUND', `WORLD_LEAVE: agent ${agent.id} is not in world "${world.id}"`);
    } else if (!current) {
      throw new KernelError('NOT_FOUND', `WORLD_LEAVE: agent ${agent.id} is in no world`);
    }
    // Leaving is an exit to the host: a member placed in a world may not take it by itself.
    const world = current as World;
    requireControl(world, kernel.worlds.ownerOf(world), session.agent, 'WORLD_LEAVE', 'take agents out of');
    const left = kernel.worlds.leave(agent.id) as World;
    return { success: true as const, world_id: left.id, agent_id: agent.id };
  },
});

export const worldEvent = defineSyscall({
  name: 'WORLD_EVENT',
  request: WorldEventRequest,
  handle: (request, session, kernel) => {
    const world = kernel.worlds.require(request.world_id, 'WORLD_EVENT');
    requireControl(world, kernel.worlds.ownerOf(world), session.agent, 'WORLD_EVENT', 'inject events into');
    const type = request.event_type;
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new KernelError('INVALID_REQUEST', `WORLD_EVENT: unknown event_type "${type}"; expected one of: ${EVENT_TYPES.join(', ')}`, {
        field: 'event_type',
      });
    }
    // The definition's own rules (needs a value? a target? takes a duration?), so injected and scheduled events agree.
    const { duration, ...rest } = request.params;
    const asDefined = {
      at: '+0s',
      type,
      ...rest,
      ...(duration === undefined ? {} : { duration: typeof duration === 'number' ? `${duration}ms` : duration }),
    };
    const parsed = WorldEvent.safeParse(asDefined);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => ({
        path: issue.path[0] === 'type' ? 'event_type' : formatPath(['params', ...issue.path]),
        message: issue.message,
      }));
      const listed = problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
      throw new KernelError('INVALID_REQUEST', `WORLD_EVENT: ${listed}`, { field: problems[0]?.path ?? '', problems });
    }
    const event = parsed.data;
    if (event.type === 'heal') {
      const healed = world.inject({ type: 'heal' });
      return { success: true as const, world_id: world.id, event_id: healed.at(-1)?.seq ?? null, healed: healed.length };
    }
    const entries = world.inject({
      type: event.type,
      ...(event.target === undefined ? {} : { target: event.target }),
      ...(event.targets === undefined ? {} : { targets: event.targets }),
      ...(event.value === undefined ? {} : { value: event.value }),
      ...(event.duration === undefined ? {} : { duration_ms: event.duration }),
    });
    const fired = entries.find((entry) => entry.kind === 'fired');
    return { success: true as const, world_id: world.id, event_id: fired?.seq ?? null, effect_id: fired?.effect_id ?? null };
  },
});

export const worldState = defineSyscall({
  name: 'WORLD_STATE',
  request: WorldTarget,
  handle: (request, session, kernel) => {
    const world = kernel.worlds.require(request.world_id, 'WORLD_STATE');
    const owner = kernel.worlds.ownerOf(world);
    // Members may watch their own world; steering it stays with its owners.
    if (!world.hasMember(session.agent.id)) requireControl(world, owner, session.agent, 'WORLD_STATE', 'read the state of');
    return { success: true as const, world_id: world.id, state: { ...world.snapshot(), owner: ownerSummary(owner) } };
  },
});

// WORLD_SNAPSHOT / WORLD_RESTORE (worlds.md §6; the file format is src/worlds/snapshot/format.ts).

export const worldSnapshot = defineSyscall({
  name: 'WORLD_SNAPSHOT',
  request: WorldSnapshotRequest,
  handle: async (request, session, kernel) => {
    const world = kernel.worlds.require(request.world_id, 'WORLD_SNAPSHOT');
    requireControl(world, kernel.worlds.ownerOf(world), session.agent, 'WORLD_SNAPSHOT', 'snapshot');
    // An explicit path is a host write on the caller's behalf; the default sits in the kernel's own data directory.
    const path =
      request.path === undefined
        ? defaultSnapshotPath(kernel.options.dataDir, world.name, new Date())
        : (await authorizeAgentPath(kernel, session.agent, request.path, 'write', { op: 'WORLD_SNAPSHOT path', cancel: session.closed }))
            .path;
    const owner = kernel.worlds.ownerOf(world);
    const payload = await snapshotPayload(
      world,
      KERNEL_VERSION,
      owner ? { kernel_started_at: kernel.startedAt, lineage: owner.lineage } : null,
    );
    const written = await kernel.pool.run('packWorldSnapshot', { path, payload }, session.closed);
    return { success: true as const, world_id: world.id, snapshot_id: payload.snapshot_id, ...written };
  },
});

export const worldRestore = defineSyscall({
  name: 'WORLD_RESTORE',
  request: WorldRestoreRequest,
  handle: async (request, session, kernel) => {
    const op = 'WORLD_RESTORE';
    const replacing = request.world_id === undefined ? undefined : kernel.worlds.require(request.world_id, op);
    if (replacing) {
      requireControl(replacing, kernel.worlds.ownerOf(replacing), session.agent, op, 'replace');
      const members = replacing.members().length;
      if (members > 0) {
        throw new KernelError('CONFLICT', `${op}: world "${replacing.id}" has ${members} member(s); a world is replaced only when empty`, {
          field: 'world_id',
        });
      }
    }
    let json: unknown;
    let fromKernelDir = false;
    if (request.snapshot_path !== undefined) {
      // The kernel's own snapshot directory (WORLD_SNAPSHOT's default) is readable to every
      // caller that may restore: only the kernel writes there. Anything else is a host read.
      const own = kernelSnapshotPath(kernel.options.dataDir, requestPath(session.agent, request.snapshot_path, op));
      const path =
        own ??
        (
          await authorizeAgentPath(kernel, session.agent, request.snapshot_path, 'read', {
            op: `${op} snapshot_path`,
            cancel: session.closed,
          })
        ).path;
      fromKernelDir = own !== undefined;
      json = await kernel.pool.run('unpackWorldSnapshot', { path }, session.closed);
    } else {
      json = await kernel.pool.run('unpackInlineSnapshot', { base64: request.snapshot as string }, session.closed);
    }
    const { payload, definition } = readSnapshotPayload(json, op);
    if (fromKernelDir) requireSnapshotOwner(payload.world, session.agent, kernel.startedAt);
    // The restored world shows its mirrors again: its caller must be allowed to read them, as at WORLD_CREATE.
    await authorizeSources(definition, session, kernel);
    const world = await kernel.worlds.restore(payload, definition, {
      name: request.name,
      replacing,
      owner: ownerFor(session.agent, kernel.agents),
    });
    return {
      success: true as const,
      world_id: world.id,
      name: world.name,
      snapshot_id: payload.snapshot_id,
      restored_from: payload.world.id,
      replaced: replacing?.id ?? null,
    };
  },
});
