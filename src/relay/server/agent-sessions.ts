/**
 * One authenticated remote agent (docs/relay.md §3-§4): its session id, the link it
 * reaches, its own call ids in flight (mapped to link ids) and its rate limit. Data
 * only; the relay core decides what happens to it.
 */
import type { z } from 'zod';
import type { AgentCallId } from '../protocol/schemas.js';
import type { KernelLink } from './kernel-links.js';
import type { Peer } from './peer.js';
import { TokenBucket } from './rate-limit.js';

export type CallId = z.infer<typeof AgentCallId>;

export interface AgentSessionInit {
  id: number;
  peer: Peer;
  link: KernelLink;
  tokenId: string;
  expiresAt: number | null;
  name: string | null;
  since: number;
  callsPerSecond: number;
  burst: number;
}

export class AgentSession {
  readonly id: number;
  readonly peer: Peer;
  readonly link: KernelLink;
  readonly tokenId: string;
  readonly expiresAt: number | null;
  readonly name: string | null;
  readonly since: number;
  readonly bucket: TokenBucket;
  /**
   * The agent's id → the link id its call travels under. A Map keeps 1 and "1" apart,
   * as the agent's own ids are (§4).
   */
  readonly inFlight = new Map<CallId, number>();
  /** Calls forwarded over the session's life. */
  calls = 0;
  closed = false;

  constructor(init: AgentSessionInit) {
    this.id = init.id;
    this.peer = init.peer;
    this.link = init.link;
    this.tokenId = init.tokenId;
    this.expiresAt = init.expiresAt;
    this.name = init.name;
    this.since = init.since;
    this.bucket = new TokenBucket(init.callsPerSecond, init.burst, init.since);
  }
}
