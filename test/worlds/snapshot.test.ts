/**
 * WORLD_SNAPSHOT's file and WORLD_RESTORE's world, without a kernel: a world is driven on
 * a manual clock, snapshotted mid-run (paused) through the worker task functions, restored,
 * and then the original and the restored world go through the same calls and time; their
 * histories, network decisions and latencies, files, metrics and scores stay identical.
 * Also: foreign, corrupted and future-version files are refused, naming the problem.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packWorldSnapshot, unpackWorldSnapshot } from '../../src/workers/world-snapshot.js';
import { ManualTime } from '../../src/worlds/chaos/manual-time.js';
import { validateWorldDefinition } from '../../src/worlds/definition/index.js';
import { readSnapshotPayload, snapshotPayload } from '../../src/worlds/snapshot/payload.js';
import { World, type WorldHost } from '../../src/worlds/world.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const host: WorldHost = { emit: () => {}, crash: () => true, warn: () => {} };

const CONFIG = {
  name: 'snap',
  seed: 99,
  filesystem: { '/data': { type: 'virtual', files: [{ name: 'log', generator: 'random_logs', lines: 5 }] } },
  network: {
    mocks: [{ pattern: 'GET api.test/health', response: { ok: true }, latency_ms: 20, fail_rate: 0.3 }],
    base_latency_ms: 10,
    jitter_ms: 8,
    packet_loss: 0.1,
  },
  events: [
    { at: 'random', type: 'latency_spike', value: 50, probability: 0.5, duration: '30s' },
    { at: '+1m', type: 'disk_full', duration: '45s' },
    { at: '+20s', type: 'packet_loss', value: 0.5, every: '50s', duration: '10s' },
    { at: '+3m', type: 'heal', every: '2m' },
  ],
  scoring: {
    objectives: [
      { name: 'uptime', weight: 1 },
      { name: 'response_time', target_ms: 25, weight: 1 },
      { name: 'errors_handled', weight: 1 },
    ],
  },
};

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-snap-'));
  dirs.push(dir);
  return dir;
}

const envelope = <I>(input: I) => ({ input, cancelPort: undefined as never });

async function unwrap<V>(outcome: Promise<{ ok: true; value: V } | { ok: false; code: string; message: string }>): Promise<V> {
  const result = await outcome;
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.value;
}

/** The same step on a world: a request, a write, sometimes an injected event. */
async function step(world: World, index: number): Promise<unknown> {
  const decision = world.network.decide({ agentId: '7', method: 'GET', url: 'http://api.test/health' });
  let write: unknown;
  try {
    write = await world.fs.write(`/data/out-${index % 3}.txt`, `step ${index}\n`, { append: true });
  } catch (error) {
    write = (error as { code?: string }).code;
  }
  if (index === 5) world.inject({ type: 'service_crash', target: '7' });
  if (index === 12) world.inject({ type: 'disk_full', duration_ms: 30_000 });
  if (index === 9) world.inject({ type: 'clock_skew', value: 1500 } as never);
  world.countSyscall(index % 2 ? 'READ' : 'HTTP');
  return { decision, write };
}

describe('world snapshots', () => {
  it('a restored world continues identically to the original', async () => {
    const dir = await tempDir();
    const time = new ManualTime(1_000_000);
    const definition = validateWorldDefinition(CONFIG, { baseDir: dir });
    const options = (name: string) => ({ layerDir: join(dir, name), host, time: { realTime: time, timers: time } });
    const original = await World.create('world-1', definition, options('a'));
    original.start();
    for (let i = 0; i < 6; i++) {
      time.advance(25_000);
      await step(original, i);
    }
    original.pause();

    const path = join(dir, 'snaps', 'snap.agentos-world');
    const payload = await snapshotPayload(original, 'test');
    const written = await unwrap(packWorldSnapshot(envelope({ path, payload })));
    expect(written.bytes).toBe((await readFile(path)).length);
    expect(written.sha256).toMatch(/^[0-9a-f]{64}$/);
    const json = await unwrap(unpackWorldSnapshot(envelope({ path })));
    const read = readSnapshotPayload(json, 'WORLD_RESTORE');
    const restored = await World.restore('world-2', read.definition, read.payload.state, options('b'));
    restored.start();
    expect(restored.state).toBe('paused');
    expect(restored.clock.now()).toBe(original.clock.now());
    expect(restored.snapshot()).toMatchObject({ history: original.scheduler.history(), syscalls: original.syscallCounts() });

    original.join(7, 'worker');
    restored.join(7, 'worker');
    original.resume();
    restored.resume();
    const seen: Array<[unknown, unknown]> = [];
    for (let i = 6; i < 20; i++) {
      time.advance(25_000);
      seen.push([await step(original, i), await step(restored, i)]);
    }
    for (const [a, b] of seen) expect(b).toEqual(a);
    // The run after the restore did see chaos: several decision kinds, and writes refused by disk_full.
    const kinds = new Set(seen.map(([a]) => (a as { decision: { kind: string } }).decision.kind));
    expect(kinds.size).toBeGreaterThan(1);
    expect(seen.some(([a]) => typeof (a as { write: unknown }).write === 'string')).toBe(true);
    expect(restored.scheduler.history().some((entry) => entry.world_ms > 150_000)).toBe(true);
    // Real-time stamps (creation, joining) differ between two worlds; everything else must not.
    const strip = (world: World) => {
      const { world_id, created_at, agents, ...rest } = world.snapshot();
      return { ...rest, agents: (agents as Array<Record<string, unknown>>).map(({ joined_at, ...member }) => member) };
    };
    expect(strip(restored)).toEqual(strip(original));
    expect(restored.scheduler.history().length).toBeGreaterThan(5);
    expect(restored.network.log()).toEqual(original.network.log());
    expect(restored.scorer.score()).toEqual(original.scorer.score());
    for (let i = 0; i < 3; i++) {
      const a = await original.fs.read(`/data/out-${i}.txt`).catch((error: { code?: string }) => error.code);
      expect(await restored.fs.read(`/data/out-${i}.txt`).catch((error: { code?: string }) => error.code)).toEqual(a);
    }
    expect((await restored.fs.read('/data/log')).content).toBe((await original.fs.read('/data/log')).content);
    await original.destroy();
    await restored.destroy();
  });

  it('refuses foreign, corrupted, truncated and future-version files, naming the problem', async () => {
    const dir = await tempDir();
    const definition = validateWorldDefinition({ name: 'small' }, { baseDir: dir });
    const world = await World.create('world-1', definition, { layerDir: join(dir, 'layer'), host });
    world.start();
    const path = join(dir, 'small.agentos-world');
    await unwrap(packWorldSnapshot(envelope({ path, payload: await snapshotPayload(world, 'test') })));
    const good = await readFile(path);
    const attempt = async (bytes: Buffer | string) => {
      const target = join(dir, `bad-${Math.random()}`);
      await writeFile(target, bytes);
      return unpackWorldSnapshot(envelope({ path: target }));
    };
    expect(await attempt('{"hello": "world"}')).toMatchObject({
      ok: false,
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('not an AgentOS world snapshot'),
    });
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5]! ^= 0xff;
    expect(await attempt(flipped)).toMatchObject({ ok: false, message: 'snapshot is corrupted: checksum mismatch' });
    expect(await attempt(good.subarray(0, good.length - 3))).toMatchObject({
      ok: false,
      message: expect.stringContaining('snapshot is corrupted'),
    });
    const future = Buffer.from(good.toString('latin1').replace('AGENTOS-WORLD-SNAPSHOT v1 ', 'AGENTOS-WORLD-SNAPSHOT v7 '), 'latin1');
    expect(await attempt(future)).toMatchObject({
      ok: false,
      message: 'snapshot format version 7 is not supported (this kernel reads 1)',
    });
    expect(await unpackWorldSnapshot(envelope({ path: join(dir, 'missing') }))).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // A well-formed file whose payload is wrong is named by field.
    const json = (await unwrap(unpackWorldSnapshot(envelope({ path })))) as { state: { clock: Record<string, unknown> } };
    json.state.clock.world_ms = -5;
    expect(() => readSnapshotPayload(json, 'WORLD_RESTORE')).toThrow(/snapshot is corrupted: .*state\.clock\.world_ms/);
    expect(() => readSnapshotPayload({ ...json, version: 3 }, 'WORLD_RESTORE')).toThrow(/version 3 is not supported/);
    await world.destroy();
  });
});
