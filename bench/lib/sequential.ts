/** A series of the same call, one at a time on one connection: the shape of the sequential benchmarks. */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ReplyReader } from './agnt.js';
import { type LatencySummary, round, Samples } from './stats.js';

export interface SeriesResult {
  calls: number;
  elapsed_ms: number;
  calls_per_s: number;
  latency: LatencySummary;
}

/** `calls` requests of the same frame, one at a time on `socket`; every reply must be a success. */
export function sequential(socket: Socket, frame: Buffer, calls: number): Promise<SeriesResult> {
  return new Promise((resolve, reject) => {
    const samples = new Samples(calls);
    let done = 0;
    let sentAt = 0;
    const started = performance.now();
    const reader = new ReplyReader((_opcode, payload) => {
      samples.add(performance.now() - sentAt);
      // `{"success":true`: byte 11 is the `t` of true.
      if (payload?.[11] !== 0x74) {
        socket.off('data', onData);
        reject(new Error(`call failed: ${payload?.subarray(0, 300).toString()}`));
        return;
      }
      if (++done === calls) {
        socket.off('data', onData);
        const elapsed = performance.now() - started;
        resolve({ calls, elapsed_ms: round(elapsed), calls_per_s: round((calls / elapsed) * 1000), latency: samples.summary() });
        return;
      }
      sentAt = performance.now();
      socket.write(frame);
    }, true);
    const onData = (chunk: Buffer) => reader.push(chunk);
    socket.on('data', onData);
    sentAt = performance.now();
    socket.write(frame);
  });
}
