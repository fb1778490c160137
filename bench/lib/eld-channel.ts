/**
 * The side channel of a measured server process (the floor and the kernel host): when
 * forked with an IPC channel, it answers `eld.reset` and `eld.read` with event-loop
 * delay figures from perf_hooks.monitorEventLoopDelay, `mem` with process.memoryUsage()
 * (after a full GC when started with --expose-gc), and `stop` by calling `onStop`. A
 * server may add commands of its own (`commands`, answered with their value, or with
 * `{ error }` when they throw). Nothing runs on the server's event loop between requests
 * except the histogram's timer.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Sampling tick; each sample is tick + delay, so the tick is subtracted when reported. */
export const ELD_RESOLUTION_MS = 1;

export interface EldReading {
  samples: number;
  /** How late the 1 ms tick fired, in ms (the tick itself subtracted, floored at 0). */
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

export type ChannelRequest = { id: number; cmd: string; arg?: unknown };

/** A server's own side-channel commands, by name. */
export type ChannelCommands = Record<string, (arg: unknown) => unknown>;

export interface MemReading {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
  array_buffers_mb: number;
  /** True when a full GC ran first (the process was started with --expose-gc). */
  after_gc: boolean;
}

export function installSideChannel(onStop: () => Promise<void>, commands: ChannelCommands = {}): void {
  if (typeof process.send !== 'function') return;
  const histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  histogram.enable();
  const late = (ns: number) => Math.max(0, Math.round((ns / 1e6 - ELD_RESOLUTION_MS) * 1000) / 1000);
  // The orchestrator is gone (finished or crashed): do not outlive it.
  process.on('disconnect', () => {
    setTimeout(() => process.exit(0), 2000).unref();
    onStop().finally(() => process.exit(0));
  });
  process.on('message', (message: ChannelRequest) => {
    const reply = (value: unknown) => process.send?.({ id: message.id, value });
    switch (message.cmd) {
      case 'eld.reset':
        histogram.reset();
        reply(true);
        break;
      case 'eld.read':
        reply({
          samples: histogram.count,
          p50_ms: late(histogram.percentile(50)),
          p99_ms: late(histogram.percentile(99)),
          max_ms: late(histogram.max),
          mean_ms: late(histogram.mean),
        } satisfies EldReading);
        break;
      case 'mem': {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        const m = process.memoryUsage();
        const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
        reply({
          rss_mb: mb(m.rss),
          heap_used_mb: mb(m.heapUsed),
          heap_total_mb: mb(m.heapTotal),
          external_mb: mb(m.external),
          array_buffers_mb: mb(m.arrayBuffers),
          after_gc: gc !== undefined,
        } satisfies MemReading);
        break;
      }
      case 'stop':
        histogram.disable();
        onStop().then(
          () => {
            reply(true);
            process.exit(0);
          },
          (error: unknown) => {
            process.stderr.write(`stop failed: ${(error as Error).message}\n`);
            process.exit(1);
          },
        );
        break;
      default: {
        const command = commands[message.cmd];
        if (!command) {
          reply({ error: `unknown side-channel command "${message.cmd}"` });
          break;
        }
        Promise.resolve()
          .then(() => command(message.arg))
          .then(reply, (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }));
      }
    }
  });
}
