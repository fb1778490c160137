/** Shared by the world benchmarks (bench/world-*.ts): world opcodes and JSON calls (a sequential series is bench/lib/sequential.ts). */
import type { Socket } from 'node:net';
import { call, jsonFrame } from './lib/agnt.js';

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
