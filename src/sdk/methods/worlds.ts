/** Worlds (docs/protocol.md, Worlds): WORLD_CREATE, WORLD_DESTROY, WORLD_LIST, WORLD_JOIN, WORLD_LEAVE, WORLD_EVENT, WORLD_STATE, WORLD_SNAPSHOT, WORLD_RESTORE. */
import { Op } from '../../protocol/opcodes.js';
import type {
  WorldCreateReply,
  WorldCreateRequest,
  WorldDestroyReply,
  WorldDestroyRequest,
  WorldEventReply,
  WorldEventRequest,
  WorldJoinRequest,
  WorldLeaveRequest,
  WorldListReply,
  WorldMembershipReply,
  WorldRestoreReply,
  WorldRestoreRequest,
  WorldSnapshotReply,
  WorldSnapshotRequest,
  WorldStateReply,
} from '../../protocol/schemas/worlds.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const worldMethods = ({ call }: Context) => ({
  /** WORLD_CREATE: one of `preset`, `config` or `yaml`; a bad definition is INVALID_REQUEST with `problems` (key paths). */
  worldCreate(request: Request<typeof WorldCreateRequest>): Promise<Reply<typeof WorldCreateReply>> {
    return call(Op.WORLD_CREATE, request);
  },

  /** WORLD_DESTROY: CONFLICT while the world has members unless `force: true`. */
  worldDestroy(request: Request<typeof WorldDestroyRequest>): Promise<Reply<typeof WorldDestroyReply>> {
    return call(Op.WORLD_DESTROY, request);
  },

  /** WORLD_LIST: the live worlds. */
  worldList(): Promise<Reply<typeof WorldListReply>> {
    return call(Op.WORLD_LIST, {});
  },

  /** WORLD_JOIN: the caller (or an agent it spawned) joins a world; QUOTA_EXCEEDED when it is full. */
  worldJoin(request: Request<typeof WorldJoinRequest>): Promise<Reply<typeof WorldMembershipReply>> {
    return call(Op.WORLD_JOIN, request);
  },

  /** WORLD_LEAVE: the caller (or an agent it spawned) leaves its world. */
  worldLeave(request: Request<typeof WorldLeaveRequest> = {}): Promise<Reply<typeof WorldMembershipReply>> {
    return call(Op.WORLD_LEAVE, request);
  },

  /** WORLD_EVENT: start an effect now (`type: "heal"` ends every active one). */
  worldEvent(request: Request<typeof WorldEventRequest>): Promise<Reply<typeof WorldEventReply>> {
    return call(Op.WORLD_EVENT, request);
  },

  /** WORLD_STATE: members, clock, active effects, history, filesystem and network figures. */
  worldState(worldId: string): Promise<Reply<typeof WorldStateReply>> {
    return call(Op.WORLD_STATE, { world_id: worldId });
  },

  /** WORLD_SNAPSHOT: one versioned file (default under the kernel's data directory); returns its path, size and sha256. */
  worldSnapshot(request: Request<typeof WorldSnapshotRequest>): Promise<Reply<typeof WorldSnapshotReply>> {
    return call(Op.WORLD_SNAPSHOT, request);
  },

  /** WORLD_RESTORE: a new world continuing a snapshot (`snapshot_path` or base64 `snapshot`); `world_id` replaces an empty world. */
  worldRestore(request: Request<typeof WorldRestoreRequest>): Promise<Reply<typeof WorldRestoreReply>> {
    return call(Op.WORLD_RESTORE, request);
  },
});
