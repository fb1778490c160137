/**
 * TUNNEL_CONNECT, TUNNEL_STATUS, TUNNEL_DISCONNECT, TUNNEL_LIST_REMOTES, TUNNEL_CONFIG
 * (docs/relay.md §12), admin-only by the opcode table. The token goes in and never comes
 * back out, nor into the audit log: its changes are recorded as `token_set`.
 */
import type { Session } from '../kernel/session.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { TunnelConfigRequest, TunnelConnectRequest, TunnelNoFields } from '../protocol/schemas/tunnel.js';

/** Who moved the kernel's link, and where to: an admin action. */
function audited(kernel: KernelServices, session: Session, op: string, detail: Record<string, unknown>): void {
  kernel.audit.record({ category: 'admin', agent_id: session.agent.id, agent_name: session.agent.name, op, detail });
}

export const tunnelConnect = defineSyscall({
  name: 'TUNNEL_CONNECT',
  request: TunnelConnectRequest,
  handle: async (request, session, kernel) => {
    audited(kernel, session, 'TUNNEL_CONNECT', {
      relay_url: request.relay_url,
      machine_id: request.machine_id,
      insecure: request.insecure,
    });
    return { success: true as const, ...(await kernel.tunnel.connect(request)) };
  },
});

export const tunnelStatus = defineSyscall({
  name: 'TUNNEL_STATUS',
  request: TunnelNoFields,
  handle: (_request, _session, kernel) => ({ success: true as const, ...kernel.tunnel.status() }),
});

export const tunnelDisconnect = defineSyscall({
  name: 'TUNNEL_DISCONNECT',
  request: TunnelNoFields,
  handle: (_request, session, kernel) => {
    audited(kernel, session, 'TUNNEL_DISCONNECT', { relay_url: kernel.tunnel.status().relay_url });
    kernel.tunnel.disconnect();
    return { success: true as const, disconnected: true };
  },
});

export const tunnelListRemotes = defineSyscall({
  name: 'TUNNEL_LIST_REMOTES',
  request: TunnelNoFields,
  handle: (_request, _session, kernel) => {
    const remotes = kernel.tunnel.remotes();
    return { success: true as const, remotes, count: remotes.length };
  },
});

export const tunnelConfig = defineSyscall({
  name: 'TUNNEL_CONFIG',
  request: TunnelConfigRequest,
  handle: (request, session, kernel) => {
    const { token, ...rest } = request;
    const changes = Object.keys(rest).length > 0 || token !== undefined;
    if (changes) audited(kernel, session, 'TUNNEL_CONFIG', { ...rest, ...(token !== undefined && { token_set: token !== null }) });
    return { success: true as const, ...kernel.tunnel.config(request) };
  },
});
