/**
 * What the fleet REST API (src/relay/fleet/api.ts) needs from the running relay
 * (src/relay/server): the live links and sessions, the relay's database and a way to send
 * deploy and stop to a kernel. The server implements it; the API only reads and asks, so
 * each side is tested on its own terms.
 */

import type { z } from 'zod';
import type { Deploy, RelayErrorCode } from '../protocol/schemas.js';
import type { TokenStore } from '../tokens/store.js';

export interface MachineView {
  machine_id: string;
  online: boolean;
  kernel_version: string | null;
  first_seen: number;
  last_seen: number;
  connected_since: number | null;
  sessions: number;
  deployments: number;
}

export interface SessionView {
  session: number;
  machine_id: string;
  name: string | null;
  token_id: string;
  connected_since: number;
  calls: number;
  in_flight: number;
}

export interface DeploymentView {
  machine_id: string;
  name: string;
  agent_id: number;
  deployed_at: number;
}

export interface RelayStatusView {
  version: string;
  uptime_ms: number;
  machines_online: number;
  machines_known: number;
  sessions: number;
  deployments: number;
  calls_forwarded: number;
  calls_rate_limited: number;
}

/** What a deploy carries to one kernel: the `deploy` message without its envelope. */
export type DeploySpec = Omit<z.infer<typeof Deploy>, 'type' | 'request_id'>;

export type FleetOutcome<T> = ({ ok: true } & T) | { ok: false; code: RelayErrorCode | 'TIMEOUT'; error: string };

export interface FleetHub {
  readonly tokens: TokenStore;
  status(): RelayStatusView;
  /** Every machine the relay has seen and not removed, online first. */
  machines(): MachineView[];
  machine(machineId: string): MachineView | undefined;
  /** Forget a machine: revoke its machine tokens, close its link. undefined when unknown. */
  removeMachine(machineId: string): { tokens_revoked: number; link_closed: boolean } | undefined;
  sessions(machineId?: string): SessionView[];
  deployments(machineId?: string): DeploymentView[];
  /** Machines with a live link now. */
  onlineMachines(): string[];
  /** Sends `deploy` and waits for the kernel's `deploy_result` (MACHINE_OFFLINE at once when unlinked, TIMEOUT after `timeoutMs`). */
  deploy(machineId: string, spec: DeploySpec, timeoutMs: number): Promise<FleetOutcome<{ agent_id: number }>>;
  stop(machineId: string, name: string, timeoutMs: number): Promise<FleetOutcome<object>>;
  /** Revoke a token; live sessions using it are closed at once (the store's onRevoke does it). */
  revokeToken(id: string): { result: 'revoked' | 'already_revoked' | 'not_found'; sessions_closed: number };
}
