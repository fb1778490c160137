/** Shared by the world benchmarks (bench/world-*.ts): world opcodes, JSON calls, a sequential series. */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { call, jsonFrame, ReplyReader } from './lib/agnt.js';
import { type LatencySummary, round, Samples } from './lib/stats.js';

export const OP_READ = 0x03;
export const OP_WRITE = 0x04;
export const OP_WORLD_CREATE = 0xa0;
export const OP_WORLD_DESTROY = 0xa1;
export const OP_WORLD_JOIN = 0xa3;
export const OP_WORLD_LEAVE = 0xa4;
export const OP_WORLD_STATE = 0xa6;
export const OP_WORLD_SNAPSHOT = 0xa7;
export const OP_WORLD_RESTORE = 0xa8;

export type Reply = Record<string, unknown>;

/** One JSON call on an idle socket; a failure reply throws with the kernel's code and message. */
export async function request<T extends Reply = Reply>(socket: Socket, opcode: number, body: unknown): Promise<T> {
  const { payload } = await call(socket, jsonFrame(opcode, body));
  const reply = JSON.parse(payload.toString('utf8')) as T & { success?: boolean; code?: string; error?: string };
  if (reply.success !== true) {
    const error = new Error(`0x${opcode.toString(16)} failed: ${reply.code}: ${reply.error}`) as Error & { code?: string };
    error.code = reply.code;
    throw error;
  }
  return reply;
}

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
