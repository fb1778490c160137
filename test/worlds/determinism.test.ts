/**
 * Determinism of a world (worlds.md §4, issue 6 item 8), end to end: a real kernel on a
 * real socket, the shipped `chaos` preset (its YAML, with only name, seed and time_scale
 * set), and a scripted agent (a socket client that WORLD_JOINs) making a fixed sequence
 * of syscalls. Three runs: seed 42, seed 42 again, seed 43, each in its own world.
 *
 * What "deterministic" means here: the same definition, seed and sequence of calls give
 *
 * - the same event history: every entry's seq, kind, effect_id, type, target(s), value,
 *   source, heal reason and *planned* world time (`world_ms`), up to a cutoff world time
 *   both runs have passed. The real-time fields (`fired_world_ms`, `real_ms`,
 *   `late_real_ms`) measure the scheduler's accuracy and are not compared;
 * - the same outcome of each call: for HTTP the status or the error code, the failure's
 *   `cause` and the *simulated* latency (`world.latency_ms` of a mocked reply,
 *   `latency_ms` of a failure; a lost packet hangs for the request's own timeout); for
 *   WRITE success and size; and the same generated file content (/var/log/app.log) and
 *   filesystem usage.
 *
 * Real time must not decide anything compared, so the run is laid out on the world clock:
 * the calls are made in the first world minute (time_scale 30: two real seconds), before
 * any effect that could touch them can be in force (the first `at: random` draw is at
 * world minute 1; the preset's latency spike at +3m; its partition names other agents).
 * The test checks that layout instead of assuming it: the world time after the calls
 * must be earlier than the first effect that acts on files or on this agent's network.
 * The HTTP calls are pipelined on one connection; the kernel decides each as it is read,
 * in request order, so the network's draws follow the call sequence.
 * With seed 43 the failure decisions and latencies, and the generated log, differ; the
 * scheduled (`source: "schedule"`) part of the history does not, as it has no randomness.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { PRESET_DIR } from '../../src/worlds/definition/index.js';
import { connect, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

type Reply = Record<string, unknown>;

const TIME_SCALE = 30;
/** History entries planned up to this world time are compared (the preset's +5m memory_pressure included). */
const CUTOFF_WORLD_MS = 330_000;
/** Effects that change what a member's WRITE or HTTP gets (slow_io only delays; cpu/memory are metrics). */
const FILE_EFFECTS = new Set(['disk_full', 'disk_fail', 'file_corruption']);
const NETWORK_EFFECTS = new Set(['latency_spike', 'packet_loss', 'network_partition']);
/** A lost packet hangs for the request's timeout: short, so the run stays in the first world minute. */
const HTTP_TIMEOUT_S = 0.5;

/** The fixed call sequence: many calls, so fail_rate and packet_loss decisions vary. */
const HTTP_CALLS = Array.from({ length: 150 }, (_, i) => {
  switch (i % 5) {
    case 0:
    case 1:
      return { method: 'GET', url: 'http://api.internal.test/health' };
    case 2:
      return { method: 'POST', url: 'http://api.internal.test/restart', body: `{"attempt":${i}}` };
    case 3:
      return { method: 'GET', url: 'http://api.internal.test/metrics' };
    default:
      // Neither mocked nor allowed: blocked, still one decision of the network.
      return { method: 'GET', url: 'http://elsewhere.test/' };
  }
});

interface CallOutcome {
  status?: number;
  code?: string;
  cause?: unknown;
  latency_ms?: unknown;
  mock?: unknown;
}

interface RunResult {
  writes: Array<{ success: boolean; size?: unknown }>;
  writtenBack: string;
  http: CallOutcome[];
  log: { bytes: number; sha256: string; head: string };
  filesystem: unknown;
  networkCounters: unknown;
  history: Reply[];
  /** World time when the file calls, then the HTTP calls, were done. */
  filesDoneWorldMs: number;
  httpDoneWorldMs: number;
}

let kernel: TestKernel;
let preset: Record<string, unknown>;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  preset = parseYaml(await readFile(join(PRESET_DIR, 'chaos.yaml'), 'utf8')) as Record<string, unknown>;
});
afterAll(async () => {
  await kernel?.cleanup();
});

async function worldMs(client: AgentOSClient, worldId: string): Promise<number> {
  const state = (await client.call('WORLD_STATE', { world_id: worldId })) as { state: { clock: { world_ms: number } } };
  return state.state.clock.world_ms;
}

function outcomeOf(settled: PromiseSettledResult<unknown>): CallOutcome {
  if (settled.status === 'fulfilled') {
    const reply = settled.value as { status_code: number; world?: { latency_ms: unknown; mock: unknown } };
    return { status: reply.status_code, latency_ms: reply.world?.latency_ms, mock: reply.world?.mock };
  }
  const error = settled.reason;
  if (!(error instanceof AgentOSError)) throw error;
  // A lost packet hangs for the request's timeout, and which of the two timers ends it first is
  // real time's choice (only the kernel's carries no cause); no mock is that slow, so TIMEOUT = lost.
  if (error.code === 'TIMEOUT') return { code: error.code, cause: 'packet_loss', latency_ms: HTTP_TIMEOUT_S * 1000 };
  return { code: error.code, cause: error.reply?.cause, latency_ms: error.reply?.latency_ms };
}

/** Only the deterministic fields of a history entry. */
function planned(entry: Reply): Reply {
  const { fired_world_ms: _fired, real_ms: _real, late_real_ms: _late, ...kept } = entry;
  return kept;
}

/** One scripted agent's run in a fresh `chaos` world with `seed`. */
async function run(label: string, seed: number): Promise<RunResult> {
  const client = await connect(kernel);
  try {
    const created = (await client.call('WORLD_CREATE', {
      config: { ...preset, name: `chaos-${label}`, seed, time_scale: TIME_SCALE },
    })) as { world_id: string };
    const worldId = created.world_id;
    await client.call('WORLD_JOIN', { world_id: worldId });

    // Files first: they must finish before the first at: random draw (world minute 1).
    const writes: RunResult['writes'] = [];
    for (let i = 0; i < 5; i++) {
      const reply = (await client.call('WRITE', { path: `/var/log/agent-${i}.txt`, content: `note ${i}\n`.repeat(i + 1) })) as Reply;
      writes.push({ success: reply.success === true, size: reply.size });
    }
    const writtenBack = ((await client.call('READ', { path: '/var/log/agent-4.txt' })) as { content: string }).content;
    const logReply = (await client.call('READ', { path: '/var/log/app.log' })) as { content: string; size: number };
    const filesDoneWorldMs = await worldMs(client, worldId);

    const settled = await Promise.allSettled(HTTP_CALLS.map((request) => client.call('HTTP', { ...request, timeout: HTTP_TIMEOUT_S })));
    const httpDoneWorldMs = await worldMs(client, worldId);

    // Let the world run past the cutoff, until nothing planned up to it is still pending.
    const state = await until(
      async () => {
        const reply = (await client.call('WORLD_STATE', { world_id: worldId })) as { state: Reply };
        const clock = reply.state.clock as { world_ms: number };
        const upcoming = reply.state.upcoming as Array<{ due_world_ms: number }>;
        return clock.world_ms > CUTOFF_WORLD_MS && upcoming.every((entry) => entry.due_world_ms > CUTOFF_WORLD_MS)
          ? reply.state
          : undefined;
      },
      `world ${worldId} to pass world time ${CUTOFF_WORLD_MS} ms`,
      60_000,
    );
    await client.call('WORLD_LEAVE', {});
    await client.call('WORLD_DESTROY', { world_id: worldId });
    return {
      writes,
      writtenBack,
      http: settled.map(outcomeOf),
      log: {
        bytes: logReply.size,
        sha256: createHash('sha256').update(logReply.content).digest('hex'),
        head: logReply.content.slice(0, 200),
      },
      filesystem: state.filesystem,
      networkCounters: (state.network as Reply).counters,
      history: (state.history as Reply[]).filter((entry) => (entry.world_ms as number) <= CUTOFF_WORLD_MS).map(planned),
      filesDoneWorldMs,
      httpDoneWorldMs,
    };
  } finally {
    await client.close();
  }
}

/** The layout the comparison relies on: the calls were over before anything that could change them. */
function expectCallsBeforeEffects(result: RunResult, label: string): void {
  const firstOf = (types: Set<string>) =>
    Math.min(...result.history.filter((entry) => types.has(entry.type as string)).map((entry) => entry.world_ms as number));
  const firstFileEffect = firstOf(FILE_EFFECTS);
  const firstNetworkEffect = firstOf(NETWORK_EFFECTS);
  expect(result.filesDoneWorldMs, `${label}: file calls done at world ms, first file effect at ${firstFileEffect}`).toBeLessThan(
    Math.min(firstFileEffect, 60_000),
  );
  expect(result.httpDoneWorldMs, `${label}: HTTP calls done at world ms, first network effect at ${firstNetworkEffect}`).toBeLessThan(
    firstNetworkEffect,
  );
}

describe('determinism of the chaos preset', () => {
  it('the same seed and calls give the same history, decisions, latencies and content; another seed does not', async () => {
    const [first, second, other] = await Promise.all([run('a', 42), run('b', 42), run('c', 43)]);
    for (const [label, result] of [
      ['seed 42 (1)', first],
      ['seed 42 (2)', second],
      ['seed 43', other],
    ] as const) {
      expectCallsBeforeEffects(result, label);
    }

    // The run is rich enough to mean something: scheduled events, and varied call outcomes.
    const types = new Set(first.history.map((entry) => entry.type));
    expect([...types]).toEqual(
      expect.arrayContaining(['service_crash', 'cpu_spike', 'network_partition', 'latency_spike', 'memory_pressure']),
    );
    const kinds = new Set(first.http.map((outcome) => outcome.code ?? outcome.status));
    expect([...kinds]).toEqual(expect.arrayContaining([200, 'UNAVAILABLE', 'PERMISSION_DENIED']));
    expect(new Set(first.http.map((outcome) => outcome.latency_ms)).size).toBeGreaterThan(10);
    // Only the unreachable host is blocked, unless its packet was lost first (loss is decided before the host).
    for (const result of [first, other]) {
      result.http.forEach((outcome, i) => {
        const unreachable = HTTP_CALLS[i]!.url === 'http://elsewhere.test/';
        if (unreachable) expect(['PERMISSION_DENIED', 'TIMEOUT']).toContain(outcome.code);
        else expect(outcome.code, JSON.stringify([HTTP_CALLS[i], outcome])).not.toBe('PERMISSION_DENIED');
      });
    }
    expect(first.writes.every((write) => write.success)).toBe(true);
    expect(first.writtenBack).toBe('note 4\n'.repeat(5));
    expect(first.log.bytes).toBeGreaterThan(10_000);

    // Seed 42 twice: identical in everything compared.
    const comparable = ({ filesDoneWorldMs: _f, httpDoneWorldMs: _h, ...rest }: RunResult) => rest;
    expect(comparable(second)).toEqual(comparable(first));

    // Seed 43: other failure decisions and latencies, another generated log...
    expect(other.http).not.toEqual(first.http);
    expect(other.http.map((outcome) => outcome.latency_ms)).not.toEqual(first.http.map((outcome) => outcome.latency_ms));
    expect(other.log.sha256).not.toBe(first.log.sha256);
    // ...but the same scheduled events (no randomness in them).
    const scheduled = (result: RunResult) =>
      result.history.filter((entry) => entry.source === 'schedule').map(({ seq: _s, effect_id: _e, ...rest }) => rest);
    expect(scheduled(other)).toEqual(scheduled(first));
  }, 90_000);
});
