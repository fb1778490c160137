/**
 * The World class on its own, with a recording host: scheduled heals (which the
 * scheduler does not run), effects reconciled from what is still active, and destroy
 * removing the layer and stopping the timers.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateWorldDefinition } from '../../src/worlds/definition/index.js';
import { World, type WorldHost } from '../../src/worlds/world.js';
import { until } from '../agents/support.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function recordingHost() {
  const emitted: Array<{ type: string; data: Record<string, unknown> }> = [];
  const crashed: number[] = [];
  const host: WorldHost = {
    emit: (type, data) => emitted.push({ type, data }),
    crash: (agentId) => {
      crashed.push(agentId);
      return true;
    },
    warn: () => {},
  };
  return { host, emitted, crashed };
}

async function makeWorld(config: Record<string, unknown>, host: WorldHost): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-world-'));
  dirs.push(dir);
  const definition = validateWorldDefinition(config, { baseDir: dir });
  return World.create('world-1', definition, { layerDir: join(dir, 'layer'), host });
}

describe('World', () => {
  it('runs a scheduled heal, ending every effect then in force', async () => {
    const { host, emitted } = recordingHost();
    const world = await makeWorld(
      {
        name: 'healing',
        time_scale: 1000,
        events: [
          { at: '+1s', type: 'disk_full' },
          { at: '+1s', type: 'slow_io', value: 5 },
          { at: '+2s', type: 'heal' },
        ],
      },
      host,
    );
    // What the disk looked like as each entry was published (effects are applied before publishing).
    const seen: unknown[] = [];
    const original = host.emit;
    host.emit = (type, data, source) => {
      seen.push({ kind: data.kind, type: data.type, ...world.fs.effects });
      original(type, data, source);
    };
    world.start();
    await until(() => emitted.filter((event) => event.data.kind === 'healed').length === 2, 'the scheduled heal', 5000);
    expect(seen).toEqual([
      { kind: 'fired', type: 'disk_full', diskFull: true, diskFail: false, slowIoMs: 0 },
      { kind: 'fired', type: 'slow_io', diskFull: true, diskFail: false, slowIoMs: 5 },
      { kind: 'healed', type: 'disk_full', diskFull: false, diskFail: false, slowIoMs: 5 },
      { kind: 'healed', type: 'slow_io', diskFull: false, diskFail: false, slowIoMs: 0 },
    ]);
    // The scheduler's heal() records the time it ran, not the planned +2s (see the report: not deterministic yet).
    for (const event of emitted.filter((entry) => entry.data.kind === 'healed')) {
      expect(event.data.reason).toBe('heal');
      expect(event.data.world_ms).toBeGreaterThanOrEqual(2000);
    }
    await world.destroy();
  });

  it('heals one effect without undoing another, crashes members by name, skews the agent clock', async () => {
    const { host, crashed } = recordingHost();
    const world = await makeWorld({ name: 'reconcile' }, host);
    world.start();
    expect(world.join(7, 'worker-1')).toBe(true);
    world.inject({ type: 'packet_loss', value: 0.5 });
    world.inject({ type: 'network_partition', targets: ['worker-1'], duration_ms: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The partition's duration ran out; the packet loss stays.
    expect(world.network.effects()).toMatchObject({ partitions: [], packet_loss: { rate: 0.5 } });
    world.inject({ type: 'clock_skew', value: 60_000 });
    expect(world.clock.skewMs).toBe(60_000);
    world.inject({ type: 'agent_crash', target: 'worker-1' });
    world.inject({ type: 'agent_crash', target: 'nobody' });
    expect(crashed).toEqual([7]);
    expect(world.snapshot().metrics).toMatchObject({ crashes: 1, crash_targets_missed: 1 });
    world.inject({ type: 'heal' } as never);
    expect(world.clock.skewMs).toBe(0);
    expect(world.network.effects().packet_loss).toBeUndefined();
    await world.destroy();
    expect(existsSync(world.layerDir)).toBe(false);
    expect(world.state).toBe('destroyed');
  });

  it('pauses and resumes its clock', async () => {
    const { host } = recordingHost();
    const world = await makeWorld({ name: 'pausing' }, host);
    world.start();
    world.pause();
    expect(world.state).toBe('paused');
    const at = world.clock.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(world.clock.now()).toBe(at);
    world.resume();
    expect(world.state).toBe('running');
    await world.destroy();
  });
});
