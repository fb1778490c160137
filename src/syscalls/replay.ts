/** RECORD_START, RECORD_STOP, RECORD_STATUS, REPLAY_START, REPLAY_STATUS (admin-only in the opcode table). */
import type { z } from 'zod';
import { defineSyscall } from '../kernel/syscall.js';
import { NoFields } from '../protocol/schemas/agents.js';
import {
  type RecordStartReply,
  RecordStartRequest,
  type RecordStatusReply,
  RecordStatusRequest,
  type RecordStopReply,
  type ReplayStartReply,
  ReplayStartRequest,
  type ReplayStatusReply,
} from '../protocol/schemas/replay.js';

export const recordStart = defineSyscall({
  name: 'RECORD_START',
  request: RecordStartRequest,
  handle: (request, _session, kernel) => {
    kernel.recorder.start(request);
    return { success: true as const, state: kernel.recorder.state, options: request } satisfies z.output<typeof RecordStartReply>;
  },
});

export const recordStop = defineSyscall({
  name: 'RECORD_STOP',
  request: NoFields,
  handle: (_request, _session, kernel) => {
    kernel.recorder.stop();
    return { success: true as const, ...kernel.recorder.status() } satisfies z.output<typeof RecordStopReply>;
  },
});

export const recordStatus = defineSyscall({
  name: 'RECORD_STATUS',
  request: RecordStatusRequest,
  handle: (request, _session, kernel) => {
    const status = kernel.recorder.status();
    const reply = { success: true as const, ...status, ...(request.export && { recording: kernel.recorder.export() ?? null }) };
    return reply satisfies z.output<typeof RecordStatusReply>;
  },
});

export const replayStart = defineSyscall({
  name: 'REPLAY_START',
  request: ReplayStartRequest,
  handle: (request, _session, kernel) => {
    kernel.replayer.start(request.recording);
    return { success: true as const, state: 'running' as const, entries_total: request.recording.entries.length } satisfies z.output<
      typeof ReplayStartReply
    >;
  },
});

export const replayStatus = defineSyscall({
  name: 'REPLAY_STATUS',
  request: NoFields,
  handle: (_request, _session, kernel) =>
    ({ success: true as const, ...kernel.replayer.status() }) satisfies z.output<typeof ReplayStatusReply>,
});
