/** The kernel's side of the relay (docs/relay.md §12). */
export { narrowPermissions } from './remote-permissions.js';
export type { RemoteView } from './remote-sessions.js';
export type { TunnelSettingsView } from './settings-store.js';
export { Tunnel, type TunnelDeps, type TunnelStatusReply } from './tunnel.js';
export type { TunnelTarget } from './tunnel-actor.js';
