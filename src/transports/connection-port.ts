/**
 * What a transport needs from the kernel for each connection: the router, a new
 * agent session, and the root supervisor's notifications. Transports never see the
 * kernel itself.
 */

import type { AgentRecord } from '../agents/registry.js';
import type { InspectionHub } from '../inspection/hub.js';
import type { Logger } from '../kernel/logger.js';
import type { KernelOptions } from '../kernel/options.js';
import type { Router } from '../kernel/router.js';
import type { Session, TransportKind } from '../kernel/session.js';
import type { CloseReason } from '../machines/connection.machine.js';

export interface ConnectionHooks {
  /** The peer will send no more requests; replies still drain. */
  draining(reason: Exclude<CloseReason, 'disconnected'>): void;
  /** The connection is gone; its session has been closed. */
  closed(): void;
}

export interface TransportContext {
  readonly options: KernelOptions;
  readonly log: Logger;
  readonly router: Router;
  /** Where /inspect WebSockets attach; without it the route answers 404. */
  readonly inspection?: InspectionHub;
  /** GET /metrics: the Prometheus text exposition; without it the route answers 404. */
  readonly metricsText?: () => Promise<string>;
  /** Open an agent session for a new connection and tell the root supervisor about it. */
  openConnection(transport: TransportKind, requestClose: () => void, agent?: AgentRecord): { session: Session; hooks: ConnectionHooks };
}
