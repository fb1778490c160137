/**
 * One authenticated kernel link (docs/relay.md §2-§5): the machine it speaks for, the
 * sessions riding on it, the calls and fleet commands awaiting the kernel's answer, and
 * the backpressure of §8 towards it: while the kernel's send queue is over the limit, the
 * agent sockets feeding it are not read.
 */
import type { z } from 'zod';
import type { DeployResult, RelayErrorCode, RelayToKernel, StopResult } from '../protocol/schemas.js';
import type { AgentSession, CallId } from './agent-sessions.js';
import type { Peer } from './peer.js';

export interface PendingCall {
  session: AgentSession;
  /** The agent's own id, given back with the reply. */
  id: CallId;
}

export type CommandAnswer = z.infer<typeof DeployResult> | z.infer<typeof StopResult>;

/** A deploy or stop sent by the fleet hub, settled once: by the kernel's answer, or by a failure. */
export interface PendingCommand {
  readonly kind: 'deploy' | 'stop';
  answer(message: CommandAnswer): void;
  fail(code: RelayErrorCode, error: string): void;
}

export interface KernelLinkInit {
  machineId: string;
  peer: Peer;
  tokenId: string;
  expiresAt: number | null;
  kernelVersion: string;
  since: number;
  maxBufferedBytes: number;
}

export class KernelLink {
  readonly machineId: string;
  readonly peer: Peer;
  readonly tokenId: string;
  readonly expiresAt: number | null;
  readonly kernelVersion: string;
  readonly since: number;
  readonly sessions = new Set<AgentSession>();
  /** Link id → the agent's call; ids are fresh per link, so agents never see each other's. */
  readonly calls = new Map<number, PendingCall>();
  /** Request id → a fleet command awaiting deploy_result / stop_result. */
  readonly commands = new Map<number, PendingCommand>();
  dropped = false;
  readonly #maxBuffered: number;
  #nextCallId = 1;
  #feedersPaused = false;

  constructor(init: KernelLinkInit) {
    this.machineId = init.machineId;
    this.peer = init.peer;
    this.tokenId = init.tokenId;
    this.expiresAt = init.expiresAt;
    this.kernelVersion = init.kernelVersion;
    this.since = init.since;
    this.#maxBuffered = init.maxBufferedBytes;
  }

  /** True while the agents feeding this kernel are not read (its queue is over the limit). */
  get feedersPaused(): boolean {
    return this.#feedersPaused;
  }

  adopt(session: AgentSession): void {
    this.sessions.add(session);
    if (this.#feedersPaused) session.peer.pause();
  }

  /** A fresh link id for a call; safe integers last far beyond any link's life. */
  register(call: PendingCall): number {
    const id = this.#nextCallId++;
    this.calls.set(id, call);
    return id;
  }

  /** Sends towards the kernel, pausing the agents that feed it when its queue grows too long. */
  send(message: RelayToKernel): void {
    this.peer.send(message, this.#onWritten);
    if (!this.#feedersPaused && this.peer.buffered > this.#maxBuffered) {
      this.#feedersPaused = true;
      for (const session of this.sessions) session.peer.pause();
    }
  }

  // One function per link, not one closure per message: it runs after each write.
  readonly #onWritten = (): void => {
    if (!this.#feedersPaused || this.peer.buffered > this.#maxBuffered) return;
    this.#feedersPaused = false;
    for (const session of this.sessions) session.peer.resume();
  };
}
