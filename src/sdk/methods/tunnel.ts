/**
 * The kernel's outbound tunnel to a relay (docs/relay.md §12; admin only: the client must
 * have presented <data-dir>/admin.token): TUNNEL_CONNECT, TUNNEL_STATUS, TUNNEL_DISCONNECT,
 * TUNNEL_LIST_REMOTES, TUNNEL_CONFIG. Replies are typed from the kernel's tunnel service,
 * which builds them (the TUNNEL_* replies have no schema of their own).
 */
import { Op } from '../../protocol/opcodes.js';
import type { TunnelConfigRequest, TunnelConnectRequest } from '../../protocol/schemas/tunnel.js';
import type { RemoteView, Tunnel, TunnelSettingsView, TunnelStatusReply } from '../../tunnel/index.js';
import type { Request } from '../types.js';
import type { Context } from './context.js';

type Ok<T> = { success: true } & T;

export const tunnelMethods = ({ call }: Context) => ({
  /**
   * TUNNEL_CONNECT: links the kernel to a relay and answers once connected. Rejects with
   * PERMISSION_DENIED when the relay refuses the machine token (the tunnel then stops),
   * UNAVAILABLE when the first attempt fails otherwise (the tunnel keeps retrying).
   */
  tunnelConnect(request: Request<typeof TunnelConnectRequest>): Promise<Ok<Awaited<ReturnType<Tunnel['connect']>>>> {
    return call(Op.TUNNEL_CONNECT, request);
  },

  /** TUNNEL_STATUS: state, relay, machine, remote agents, reconnects, the last error. */
  tunnelStatus(): Promise<Ok<TunnelStatusReply>> {
    return call(Op.TUNNEL_STATUS, {});
  },

  /** TUNNEL_DISCONNECT: closes the link (remote agents end) and stops retrying. */
  tunnelDisconnect(): Promise<Ok<{ disconnected: true }>> {
    return call(Op.TUNNEL_DISCONNECT, {});
  },

  /** TUNNEL_LIST_REMOTES: the remote agents linked through the relay now. */
  tunnelRemotes(): Promise<Ok<{ remotes: RemoteView[]; count: number }>> {
    return call(Op.TUNNEL_LIST_REMOTES, {});
  },

  /** TUNNEL_CONFIG: stores tunnel settings in the data dir; answers them without the token (`token_set`). */
  tunnelConfig(request: Request<typeof TunnelConfigRequest> = {}): Promise<Ok<TunnelSettingsView>> {
    return call(Op.TUNNEL_CONFIG, request);
  },
});
