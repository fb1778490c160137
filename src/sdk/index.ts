export { AgentOSClient, DEFAULT_REQUEST_TIMEOUT_MS, type FamilyMethods } from './client.js';
export { AgentOSError } from './errors.js';
export { InProcessTransport } from './inprocess-transport.js';
export {
  agentEndpoint,
  DEFAULT_AGENT_BACKOFF,
  type RelayLinkState,
  type RelaySessionInfo,
  RelayTransport,
  type RelayTransportInput,
  RelayTransportOptions,
} from './relay-transport.js';
export { RemoteAgentClient, type RemoteConnectOptions } from './remote-client.js';
export { SocketTransport } from './socket-transport.js';
export * from './tasks/index.js';
export type { ClientTransport } from './transport.js';
export type {
  AgentRef,
  AsyncOp,
  AsyncOps,
  AsyncPollOptions,
  AsyncRequest,
  AsyncRequestId,
  AsyncResultOptions,
  AsyncResultsOptions,
  CasOptions,
  ConnectOptions,
  EmitOptions,
  EventsOptions,
  IncrOptions,
  KeysOptions,
  KillOptions,
  LogsOptions,
  MessagesOptions,
  PollEventsOptions,
  RecvOptions,
  Reply,
  Request,
  ScopeOptions,
  SendOptions,
  StoreOptions,
  SubscribeOptions,
} from './types.js';
export { WebSocketTransport } from './websocket-transport.js';
