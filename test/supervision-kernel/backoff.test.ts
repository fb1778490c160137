/**
 * Backoff between restarts, observed from the kernel's AGENT_RESTARTING events of a real
 * crashing actor: delays grow by `factor` within `jitter`, stop growing at `max_ms`, start
 * over once the child stayed up `reset_after_ms`, and really are waited.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, until } from './support.js';

let kernel: TestKernel;
let events: EventLog;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
});
afterAll(async () => {
  events.close();
  await kernel.cleanup();
});

const BACKOFF = { initial_ms: 20, factor: 2, max_ms: 100, jitter: 0.25, reset_after_ms: 300 };

/** The delay bounds of restart `attempt` (0-based): base ± jitter, floored to whole ms. */
function bounds(attempt: number): [number, number] {
  const base = Math.min(BACKOFF.max_ms, BACKOFF.initial_ms * BACKOFF.factor ** attempt);
  return [Math.floor(base * (1 - BACKOFF.jitter)), Math.floor(base * (1 + BACKOFF.jitter))];
}

/** Logic that lives `lifetimes[n]` ms on its n-th run and then crashes; once they run out it stays up. */
function crashing(lifetimes: number[]) {
  let run = 0;
  return fromPromise<void>(({ signal }) => {
    const lifetime = lifetimes[run++];
    return new Promise<void>((_resolve, reject) => {
      if (lifetime === undefined) return;
      const timer = setTimeout(() => reject(new Error(`crashed after ${lifetime} ms`)), lifetime);
      signal.addEventListener('abort', () => clearTimeout(timer));
    });
  });
}

describe('backoff', () => {
  it('grows by factor within jitter, is capped at max_ms, and resets after a stable run', async () => {
    // Seven quick crashes, then a run longer than reset_after_ms, then two quick crashes.
    const lifetimes = [10, 10, 10, 10, 10, 10, 10, 400, 10, 10];
    const handle = await kernel.spawn(crashing(lifetimes), { name: 'backoff', maxRestarts: 50, restartWindow: 60, backoff: BACKOFF });
    await events.wait('AGENT_SPAWNED', handle.id, lifetimes.length + 1, 10_000);
    const restarting = events.of('AGENT_RESTARTING', handle.id);
    const delays = restarting.map((e) => e.data.delay_ms as number);
    expect(restarting.map((e) => e.data.restarts)).toEqual(lifetimes.map((_, i) => i + 1));

    // Attempts 0..6, then (after the 400 ms run) 0 and 1 again.
    const attempts = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2];
    for (const [index, delay] of delays.entries()) {
      const [low, high] = bounds(attempts[index]!);
      expect(delay, `restart ${index + 1} (attempt ${attempts[index]}): ${delays.join(', ')}`).toBeGreaterThanOrEqual(low);
      expect(delay, `restart ${index + 1} (attempt ${attempts[index]}): ${delays.join(', ')}`).toBeLessThanOrEqual(high);
    }
    // Never above the cap (with its jitter), and the cap is reached.
    expect(Math.max(...delays)).toBeLessThanOrEqual(BACKOFF.max_ms * (1 + BACKOFF.jitter));
    expect(delays.slice(3, 7).every((d) => d >= Math.floor(BACKOFF.max_ms * (1 - BACKOFF.jitter)))).toBe(true);
    // Growth by factor: each uncapped delay is about twice the one before (within the jitter of both).
    for (let i = 1; i <= 2; i++) {
      const ratio = delays[i]! / delays[i - 1]!;
      expect(ratio).toBeGreaterThanOrEqual((BACKOFF.factor * (1 - BACKOFF.jitter)) / (1 + BACKOFF.jitter) - 0.1);
      expect(ratio).toBeLessThanOrEqual((BACKOFF.factor * (1 + BACKOFF.jitter)) / (1 - BACKOFF.jitter) + 0.1);
    }
    // Jitter: the capped delays are not all the same number.
    expect(new Set(delays.slice(3, 7)).size).toBeGreaterThan(1);

    // The delay is really waited: from the exit to the next start takes at least delay_ms.
    const exits = events.of('AGENT_EXITED', handle.id);
    const starts = events.of('AGENT_SPAWNED', handle.id).slice(1);
    for (const [index, delay] of delays.entries()) {
      const gap = (starts[index] as KernelEvent).timestamp - (exits[index] as KernelEvent).timestamp;
      expect(gap, `restart ${index + 1}`).toBeGreaterThanOrEqual(delay - 2);
    }
    await handle.stop();
    await until(() => !kernel.agents().some((a) => a.id === handle.id), 'ended');
  });

  it('initial_ms 0 restarts at once', async () => {
    const handle = await kernel.spawn(crashing([10, 10, 10]), { name: 'no-backoff', backoff: { initial_ms: 0 } });
    await events.wait('AGENT_SPAWNED', handle.id, 4);
    expect(events.of('AGENT_RESTARTING', handle.id).map((e) => e.data.delay_ms)).toEqual([0, 0, 0]);
    await handle.stop();
  });
});
