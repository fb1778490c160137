/** TUNNEL_* (protocol.md §5, docs/relay.md §12): the kernel's outbound tunnel to a relay. All admin-only. */
import { z } from 'zod';
import { MachineId, Token } from '../../relay/protocol/schemas.js';

const RelayUrl = z.url({ protocol: /^wss?$/, error: 'expected relay_url as a ws:// or wss:// URL' });

/** TUNNEL_CONNECT (0x70, alias 0xB0). */
export const TunnelConnectRequest = z.object({
  relay_url: RelayUrl,
  machine_id: MachineId,
  token: Token,
  /** Allow plain ws:// to a host other than this machine: the token then travels in clear. */
  insecure: z.boolean({ error: 'expected insecure as a boolean' }).default(false),
});
export type TunnelConnectRequest = z.infer<typeof TunnelConnectRequest>;

/** TUNNEL_STATUS, TUNNEL_DISCONNECT, TUNNEL_LIST_REMOTES take no fields. */
export const TunnelNoFields = z.object({});

/** TUNNEL_CONFIG (0xB4): stored in `<data-dir>/tunnel.db`; `clear` empties it first; null removes one setting. */
export const TunnelConfigRequest = z.object({
  relay_url: RelayUrl.nullable().optional(),
  machine_id: MachineId.nullable().optional(),
  token: Token.nullable().optional(),
  auto_connect: z.boolean({ error: 'expected auto_connect as a boolean' }).optional(),
  clear: z.boolean({ error: 'expected clear as a boolean' }).optional(),
});
export type TunnelConfigRequest = z.infer<typeof TunnelConfigRequest>;
