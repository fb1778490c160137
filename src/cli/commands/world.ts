/**
 * `agentos world ...`: create, list, inspect, perturb, snapshot, restore and destroy worlds
 * (docs/protocol.md, Worlds), and `world run` (world-run.ts). World ids (`world-3`) and
 * names are both accepted wherever a world is named.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AgentOSClient } from '../../sdk/client.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out, printJson, table } from '../output.js';
import { socketOption } from '../socket-option.js';
import { formatUptime } from './tree.js';
import { registerWorldRunCommand } from './world-run.js';
import {
  collect,
  collectParam,
  describeFailure,
  durationOption,
  numberOption,
  positiveNumber,
  resolveWorld,
  seedOption,
} from './world-shared.js';
import { createRequest } from './world-source.js';
import { registerWorldStateCommand } from './world-state.js';

type Flags = ConnectFlags & { json?: boolean };

/** Connect, run, close; any failure is one line on stderr and exit code 1. */
export async function withClient(flags: ConnectFlags, name: string, body: (client: AgentOSClient) => Promise<void>): Promise<void> {
  let client: AgentOSClient | undefined;
  try {
    client = await connectCli(flags, name);
    await body(client);
  } catch (error) {
    await client?.close().catch(() => {});
    fail(describeFailure(error));
  }
  await client?.close();
}

function connected(command: Command): Command {
  return command.addOption(socketOption()).addOption(dataDirOption()).option('--json', 'print the reply as JSON for machines');
}

function registerCreate(world: Command): void {
  connected(
    world
      .command('create')
      .description('create a world from a preset name (dev, staging, chaos, shadow, benchmark, training) or a YAML file')
      .argument('<preset-or-file>', 'a preset name, or the path of a definition file')
      .option('--name <name>', "the world's name (default: the definition's)")
      .option('--param <name=value>', 'the value of a placeholder NAME in the definition (repeatable)', collectParam)
      .option('--seed <n>', "override the definition's seed", seedOption)
      .option('--time-scale <x>', "override the definition's time scale (60 = one world minute per real second)", positiveNumber),
  ).action(async (source: string, flags: Flags & { name?: string; param?: Record<string, string>; seed?: number; timeScale?: number }) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const request = await createRequest(source, {
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        ...(flags.param ? { params: flags.param } : {}),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
      });
      const reply = await client.worldCreate(request);
      if (flags.json) printJson({ world_id: reply.world_id, name: reply.name });
      else out(reply.world_id);
    });
  });
}

function registerList(world: Command): void {
  connected(world.command('list').description('list the live worlds')).action(async (flags: Flags) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const { worlds } = await client.worldList();
      if (flags.json) return printJson(worlds);
      if (worlds.length === 0) return out('(no worlds)');
      const now = Date.now();
      out(
        table(
          ['id', 'name', 'status', 'agents', 'time scale', 'age'],
          worlds.map((w) => [
            w.world_id,
            w.name,
            w.status,
            `${w.agents}/${w.max_agents}`,
            `×${w.time_scale}`,
            formatUptime(now - w.created_at),
          ]),
        ),
      );
    });
  });
}

function registerEvent(world: Command): void {
  connected(
    world
      .command('event')
      .description('inject an event now (service_crash, network_partition, latency_spike, ...), or "heal" to end every active effect')
      .argument('<world>', 'world id or name')
      .argument('<type>', 'the event type, or "heal"')
      .option('--target <name>', 'an agent name the event targets (repeatable)', collect)
      .option('--value <n>', "the effect's value (percent, ms or probability, by type)", numberOption)
      .option('--duration <duration>', 'heal the effect after this much world time, e.g. "30s"', durationOption),
  ).action(async (idOrName: string, type: string, flags: Flags & { target?: string[]; value?: number; duration?: number }) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const worldId = await resolveWorld(client, idOrName);
      const targets = flags.target ?? [];
      const params = {
        ...(targets.length === 1 ? { target: targets[0] } : targets.length > 1 ? { targets } : {}),
        ...(flags.value !== undefined ? { value: flags.value } : {}),
        ...(flags.duration !== undefined ? { duration: flags.duration } : {}),
      };
      const reply = await client.worldEvent({ world_id: worldId, event_type: type, params });
      if (flags.json) return printJson(reply);
      if (type === 'heal') out(`${worldId}: healed ${reply.healed ?? 0} effect(s)`);
      else out(`${worldId}: ${type} fired (event ${reply.event_id ?? '-'})`);
    });
  });
}

function registerSnapshot(world: Command): void {
  connected(
    world
      .command('snapshot')
      .description("write the world's whole state to one file (definition, filesystem layer, clock, randomness, effects, history)")
      .argument('<world>', 'world id or name')
      .option('--out <path>', 'where to write it (default: chosen by the kernel, in its data directory)'),
  ).action(async (idOrName: string, flags: Flags & { out?: string }) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const worldId = await resolveWorld(client, idOrName);
      // The kernel writes the file, so a relative --out means this shell's directory.
      const request = { world_id: worldId, ...(flags.out !== undefined ? { path: resolve(flags.out) } : {}) };
      const reply = await client.worldSnapshot(request);
      if (flags.json) return printJson(reply);
      out(`${worldId}: snapshot ${reply.snapshot_id} written to ${reply.path} (${reply.bytes} bytes, sha256 ${reply.sha256})`);
    });
  });
}

function registerRestore(world: Command): void {
  connected(
    world
      .command('restore')
      .description('recreate a world from a snapshot file; it carries on exactly where the snapshot was taken')
      .argument('<file>', 'a snapshot written by `agentos world snapshot`')
      .option('--name <name>', "the restored world's name (default: the snapshot's)")
      .option('--replace <world>', 'an empty world (id or name) the restored one replaces, taking its name'),
  ).action(async (file: string, flags: Flags & { name?: string; replace?: string }) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const replacing = flags.replace === undefined ? undefined : await resolveWorld(client, flags.replace);
      const request = {
        snapshot_path: resolve(file),
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        ...(replacing !== undefined ? { world_id: replacing } : {}),
      };
      const reply = await client.worldRestore(request);
      if (flags.json) printJson(reply);
      else out(replacing === undefined ? reply.world_id : `${reply.world_id} (replaced ${replacing})`);
    });
  });
}

function registerDestroy(world: Command): void {
  connected(
    world
      .command('destroy')
      .description('destroy a world (refused while it has members, unless --force)')
      .argument('<world>', 'world id or name')
      .option('--force', 'let its members go and destroy it anyway'),
  ).action(async (idOrName: string, flags: Flags & { force?: boolean }) => {
    await withClient(flags, 'agentos-world', async (client) => {
      const worldId = await resolveWorld(client, idOrName);
      const reply = await client.worldDestroy({ world_id: worldId, force: flags.force ?? false });
      if (flags.json) printJson(reply);
      else out(`${worldId}: destroyed${reply.members_released > 0 ? ` (${reply.members_released} member(s) let go)` : ''}`);
    });
  });
}

export function registerWorldCommand(program: Command): void {
  const world = program
    .command('world')
    .description('simulated environments for agents: files, network and chaos (docs/protocol.md, Worlds)');
  registerCreate(world);
  registerList(world);
  registerWorldStateCommand(world);
  registerEvent(world);
  registerSnapshot(world);
  registerRestore(world);
  registerDestroy(world);
  registerWorldRunCommand(world);
}
