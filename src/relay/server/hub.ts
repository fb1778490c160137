/**
 * The FleetHub (src/relay/fleet/hub.ts) over the running relay: views of its links,
 * sessions and tables for the REST API, and deploy/stop sent down a kernel link and
 * settled once by the kernel's answer, a timeout or the link's end.
 */
import type { DeploymentView, DeploySpec, FleetHub, FleetOutcome, MachineView, RelayStatusView, SessionView } from '../fleet/hub.js';
import type { RelayToKernel } from '../protocol/schemas.js';
import type { TokenStore } from '../tokens/store.js';
import type { RelayCore } from './core.js';
import type { CommandAnswer } from './kernel-links.js';
import type { MachineRow } from './relay-store.js';

/** Fleet commands awaiting one kernel's answer; each holds an HTTP request open. */
const MAX_PENDING_COMMANDS = 1024;

export class RelayHub implements FleetHub {
  readonly #core: RelayCore;
  readonly #startedAt: number;
  readonly #version: string;

  constructor(core: RelayCore, startedAt: number, version: string) {
    this.#core = core;
    this.#startedAt = startedAt;
    this.#version = version;
  }

  get tokens(): TokenStore {
    return this.#core.tokens;
  }

  status(): RelayStatusView {
    const core = this.#core;
    return {
      version: this.#version,
      uptime_ms: Math.max(0, core.now() - this.#startedAt),
      machines_online: core.links.size,
      machines_known: core.store.machineCount(),
      sessions: core.sessions.size,
      deployments: core.store.deploymentCount(),
      calls_forwarded: core.counters.calls_forwarded,
      calls_rate_limited: core.counters.calls_rate_limited,
    };
  }

  machines(): MachineView[] {
    const views = this.#core.store.machines().map((row) => this.#view(row));
    // Stable: online first, each group in machine id order.
    return views.sort((a, b) => Number(b.online) - Number(a.online));
  }

  machine(machineId: string): MachineView | undefined {
    const row = this.#core.store.machine(machineId);
    return row === undefined ? undefined : this.#view(row);
  }

  #view(row: MachineRow): MachineView {
    const link = this.#core.links.get(row.machine_id);
    return {
      machine_id: row.machine_id,
      online: link !== undefined,
      kernel_version: link?.kernelVersion ?? row.kernel_version,
      first_seen: row.first_seen,
      last_seen: link === undefined ? row.last_seen : Math.max(row.last_seen, link.peer.lastReceived),
      connected_since: link?.since ?? null,
      sessions: link?.sessions.size ?? 0,
      deployments: this.#core.store.deploymentCount(row.machine_id),
    };
  }

  removeMachine(machineId: string): { tokens_revoked: number; link_closed: boolean } | undefined {
    const core = this.#core;
    if (core.store.machine(machineId) === undefined && !core.links.has(machineId)) return undefined;
    const linked = core.links.has(machineId);
    let revoked = 0;
    // Revoking a token closes the link that uses it (the core's revoke listener).
    for (const token of core.tokens.list()) {
      if (token.kind === 'machine' && token.machine_id === machineId && token.revoked_at === null) {
        if (core.tokens.revoke(token.id) === 'revoked') revoked++;
      }
    }
    const link = core.links.get(machineId);
    if (link !== undefined) core.dropLink(link, { code: 'TOKEN_REVOKED', error: `machine "${machineId}" was removed from the relay` });
    core.store.removeMachine(machineId);
    core.log.info({ machine_id: machineId, tokens_revoked: revoked, link_closed: linked }, 'machine removed');
    return { tokens_revoked: revoked, link_closed: linked };
  }

  sessions(machineId?: string): SessionView[] {
    const views: SessionView[] = [];
    for (const session of this.#core.sessions.values()) {
      if (machineId !== undefined && session.link.machineId !== machineId) continue;
      views.push({
        session: session.id,
        machine_id: session.link.machineId,
        name: session.name,
        token_id: session.tokenId,
        connected_since: session.since,
        calls: session.calls,
        in_flight: session.inFlight.size,
      });
    }
    return views;
  }

  deployments(machineId?: string): DeploymentView[] {
    return this.#core.store.deployments(machineId);
  }

  onlineMachines(): string[] {
    return [...this.#core.links.keys()];
  }

  deploy(machineId: string, spec: DeploySpec, timeoutMs: number): Promise<FleetOutcome<{ agent_id: number }>> {
    return this.#command<{ agent_id: number }>(
      machineId,
      'deploy',
      spec.name,
      timeoutMs,
      (request_id) => ({ type: 'deploy', request_id, ...spec }),
      (answer) => {
        if (!answer.ok) return { ok: false, code: answer.code, error: answer.error };
        const agentId = 'agent_id' in answer ? answer.agent_id : 0;
        this.#core.store.recordDeploy(machineId, spec.name, agentId, this.#core.now());
        return { ok: true, agent_id: agentId };
      },
    );
  }

  stop(machineId: string, name: string, timeoutMs: number): Promise<FleetOutcome<object>> {
    return this.#command<object>(
      machineId,
      'stop',
      name,
      timeoutMs,
      (request_id) => ({ type: 'stop', request_id, name }),
      (answer) => {
        // NOT_FOUND: the kernel no longer runs it (restarted, crashed): the record ends too.
        if (answer.ok || answer.code === 'NOT_FOUND') this.#core.store.recordStop(machineId, name, this.#core.now());
        return answer.ok ? { ok: true } : { ok: false, code: answer.code, error: answer.error };
      },
    );
  }

  revokeToken(id: string): { result: 'revoked' | 'already_revoked' | 'not_found'; sessions_closed: number } {
    const using = this.#core.sessionsUsing(id);
    const result = this.#core.tokens.revoke(id);
    return { result, sessions_closed: result === 'revoked' ? using : 0 };
  }

  /** Sends one command and settles once: the kernel's answer, TIMEOUT, or the link's end. */
  #command<T>(
    machineId: string,
    kind: 'deploy' | 'stop',
    name: string,
    timeoutMs: number,
    message: (requestId: number) => RelayToKernel,
    onAnswer: (answer: CommandAnswer) => FleetOutcome<T>,
  ): Promise<FleetOutcome<T>> {
    const core = this.#core;
    const link = core.links.get(machineId);
    if (link === undefined || core.closing) {
      return Promise.resolve({ ok: false, code: 'MACHINE_OFFLINE', error: `machine "${machineId}" is offline` });
    }
    if (link.commands.size >= MAX_PENDING_COMMANDS) {
      return Promise.resolve({
        ok: false,
        code: 'RATE_LIMITED',
        error: `over ${MAX_PENDING_COMMANDS} commands awaiting machine "${machineId}"`,
      });
    }
    const requestId = core.nextRequestId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        link.commands.delete(requestId);
        core.log.warn({ machine_id: machineId, request_id: requestId, kind, name }, 'fleet command timed out');
        resolve({
          ok: false,
          code: 'TIMEOUT',
          error: `machine "${machineId}" did not answer the ${kind} of "${name}" within ${timeoutMs} ms`,
        });
      }, timeoutMs);
      link.commands.set(requestId, {
        kind,
        answer: (answer) => {
          clearTimeout(timer);
          try {
            resolve(onAnswer(answer));
          } catch (error) {
            core.log.error({ err: error, machine_id: machineId, kind, name }, 'recording a fleet command failed');
            resolve({ ok: false, code: 'INTERNAL', error: 'the relay could not record the result; its log has the details' });
          }
        },
        fail: (code, error) => {
          clearTimeout(timer);
          resolve({ ok: false, code, error });
        },
      });
      link.send(message(requestId));
    });
  }
}
