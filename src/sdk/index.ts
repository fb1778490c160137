export { AgentOSClient, type ConnectOptions, type Reply, type Request } from './client.js';
export { AgentOSError } from './errors.js';
export { InProcessTransport } from './inprocess-transport.js';
export { SocketTransport } from './socket-transport.js';
export type { ClientTransport } from './transport.js';
export { WebSocketTransport } from './websocket-transport.js';
