/**
 * Heartbeats (docs/relay.md §6) as two pure rules the relay core's sweep applies to each
 * peer: ping after an interval of quiet (once per interval), give up after the timeout.
 * Any message counts as life, so a busy link is never pinged.
 */
import type { RelayLimits } from '../protocol/limits.js';
import type { Peer } from './peer.js';

export type HeartbeatTerms = Pick<RelayLimits, 'heartbeat_interval_ms' | 'heartbeat_timeout_ms'>;

/**
 * How often the core sweeps its peers (heartbeats and token expiry): a ping goes out
 * within a quarter interval of quiet, and an expired token ends within a second.
 */
export function sweepPeriodMs(terms: HeartbeatTerms): number {
  const quarter = Math.floor(Math.min(terms.heartbeat_interval_ms, terms.heartbeat_timeout_ms - terms.heartbeat_interval_ms) / 4);
  return Math.max(20, Math.min(1000, quarter));
}

/** Pings a peer quiet for an interval; true when it has been silent past the timeout. */
export function silentTooLong(peer: Peer, now: number, terms: HeartbeatTerms): boolean {
  const silent = now - peer.lastReceived;
  if (silent >= terms.heartbeat_timeout_ms) return true;
  if (silent >= terms.heartbeat_interval_ms && now - peer.lastPinged >= terms.heartbeat_interval_ms) {
    peer.lastPinged = now;
    peer.send({ type: 'ping', ts: now });
  }
  return false;
}
