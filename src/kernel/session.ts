/**
 * One connection's view of the kernel: the agent it speaks for (which HELLO with a
 * spawn token may change), and what ends with the connection.
 */
import type { AgentRecord, TransportKind } from '../agents/registry.js';
import type { KernelEvent } from '../protocol/schemas/events.js';

export type { TransportKind };

export interface Session {
  /** The agent this connection acts as. */
  agent: AgentRecord;
  readonly transport: TransportKind;
  /** Aborted when the connection closes, so its in-flight work (EXEC) is cancelled. */
  readonly closed: AbortSignal;
  /** Close after the reply being sent (EXIT). */
  requestClose(): void;
  /**
   * Set by transports that can push (the WebSocket): sends one event to the peer now,
   * false when it cannot (the peer reads too slowly, or is gone). SUBSCRIBE attaches it.
   */
  push?: EventPush;
}

export type EventPush = (event: KernelEvent) => boolean;
