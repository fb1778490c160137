/** Record and replay (docs/protocol.md, Record and replay; admin only): RECORD_START/STOP/STATUS, REPLAY_START/STATUS. */
import { Op } from '../../protocol/opcodes.js';
import type {
  Recording,
  RecordStartReply,
  RecordStartRequest,
  RecordStatusReply,
  RecordStatusRequest,
  RecordStopReply,
  ReplayStartReply,
  ReplayStatusReply,
} from '../../protocol/schemas/replay.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const replayMethods = ({ call }: Context) => ({
  /**
   * RECORD_START: record every validated call (of `filter_agents`, or of every agent) with
   * its reply and timing; THINK, HTTP and DOWNLOAD only with `include_think` /
   * `include_http`. Replaces any previous recording. Admin only (PERMISSION_DENIED).
   */
  recordStart(request: Request<typeof RecordStartRequest> = {}): Promise<Reply<typeof RecordStartReply>> {
    return call(Op.RECORD_START, request);
  },

  /** RECORD_STOP: stops the recording (kept until the next RECORD_START); stopping when none runs succeeds. */
  recordStop(): Promise<Reply<typeof RecordStopReply>> {
    return call(Op.RECORD_STOP, {});
  },

  /** RECORD_STATUS: where the recording stands; with `export: true`, the recording itself (null while idle), for `replayStart`. */
  recordStatus(request: Request<typeof RecordStatusRequest> = {}): Promise<Reply<typeof RecordStatusReply>> {
    return call(Op.RECORD_STATUS, request);
  },

  /**
   * REPLAY_START: re-runs a recording's deterministic calls in the background, each as its
   * recorded agent's rights; `replayStatus` follows it. Rejects with CONFLICT while a replay
   * runs, INVALID_REQUEST (naming the field) for a malformed recording.
   */
  replayStart(recording: Request<typeof Recording>): Promise<Reply<typeof ReplayStartReply>> {
    return call(Op.REPLAY_START, { recording });
  },

  /** REPLAY_STATUS: the replay's state, progress and every divergence from the recorded replies. */
  replayStatus(): Promise<Reply<typeof ReplayStatusReply>> {
    return call(Op.REPLAY_STATUS, {});
  },
});
