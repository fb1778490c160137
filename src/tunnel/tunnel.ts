/**
 * The kernel's side of the relay, assembled: the tunnel actor, the remote sessions on
 * its link, the relay's deployments, the stored settings of TUNNEL_CONFIG, and the
 * tunnel's own agent (`relay`) that deployed agents are children of.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AnyActorRef } from 'xstate';
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { KernelOptions } from '../kernel/options.js';
import type { Session } from '../kernel/session.js';
import { KernelError } from '../protocol/errors.js';
import type { TransportContext } from '../transports/connection-port.js';
import { Deployments } from './deployments.js';
import { MAX_CALLS_IN_FLIGHT, RemoteSessions, type RemoteView } from './remote-sessions.js';
import { TunnelSettingsStore, type TunnelSettingsUpdate, type TunnelSettingsView } from './settings-store.js';
import { TunnelActor, type TunnelTarget } from './tunnel-actor.js';

export interface TunnelDeps {
  options: Pick<KernelOptions, 'tunnel' | 'dataDir'>;
  log: Logger;
  events: EventBus;
  registry: AgentRegistry;
  transport: Pick<TransportContext, 'openConnection' | 'router'>;
  kernelVersion: string;
  /** The root supervisor: the tunnel actor is its child, for inspection. */
  parent?: AnyActorRef;
  cwd: string;
}

export interface TunnelStatusReply {
  connected: boolean;
  state: string;
  relay_url: string | null;
  machine_id: string | null;
  remote_agent_count: number;
  reconnects: number;
  attempt: number;
  last_error: { code: string; error: string } | null;
  connected_since: number | null;
  next_retry_at: number | null;
}

export class Tunnel {
  readonly #deps: TunnelDeps;
  readonly #log: Logger;
  readonly #actor: TunnelActor;
  readonly #sessions: RemoteSessions;
  readonly #deployments: Deployments;
  readonly #settings: TunnelSettingsStore;
  #relayAgent: { record: AgentRecord; session: Session } | undefined;
  readonly #relayAbort = new AbortController();
  #closed = false;

  constructor(deps: TunnelDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'tunnel' });
    const { tunnel } = deps.options;
    this.#settings = TunnelSettingsStore.open(deps.options.dataDir);
    this.#sessions = new RemoteSessions({
      registry: deps.registry,
      transport: deps.transport,
      events: deps.events,
      log: this.#log,
      remoteLevel: tunnel.remoteLevel,
      maxRemoteAgents: tunnel.maxRemoteAgents,
      cwd: deps.cwd,
      send: (message) => this.#actor.send(message),
      sendText: (text) => this.#actor.sendText(text),
      maxMessageBytes: () => this.#actor.maxMessageBytes,
      inFlight: (count) => this.#actor.hold(count >= MAX_CALLS_IN_FLIGHT),
    });
    this.#deployments = new Deployments({
      registry: deps.registry,
      router: deps.transport.router,
      deployDir: tunnel.deployDir ?? join(dirname(deps.options.dataDir), 'deployed'),
      remoteLevel: tunnel.remoteLevel,
      log: this.#log,
      relaySession: () => this.#relaySession(),
      send: (message) => this.#actor.send(message),
    });
    this.#actor = new TunnelActor({
      log: deps.log,
      events: deps.events,
      kernelVersion: deps.kernelVersion,
      input: { backoff: tunnel.backoff, handshake_timeout_ms: tunnel.handshakeTimeoutMs },
      ...(tunnel.caFile === undefined ? {} : { ca: readCaFile(tunnel.caFile) }),
      ...(deps.parent ? { parent: deps.parent } : {}),
      onConnected: () => {
        this.#relaySession();
        this.#deployments.report();
      },
      sessions: () => this.#sessions,
      deployments: () => this.#deployments,
    });
  }

  /** The XState actor (for inspection and tests). */
  get actor(): TunnelActor['actor'] {
    return this.#actor.actor;
  }

  connect(target: TunnelTarget): Promise<{ connected: true; relay_url: string; machine_id: string }> {
    if (this.#closed) return Promise.reject(new KernelError('UNAVAILABLE', 'the kernel is shutting down'));
    return this.#actor.connect(target);
  }

  disconnect(): void {
    this.#actor.disconnect();
  }

  status(): TunnelStatusReply {
    const status = this.#actor.status();
    return {
      connected: status.state === 'connected',
      state: status.state,
      relay_url: status.relay_url,
      machine_id: status.machine_id,
      remote_agent_count: this.#sessions.size,
      reconnects: status.reconnects,
      attempt: status.attempt,
      last_error: status.last_error,
      connected_since: status.connected_since,
      next_retry_at: status.next_retry_at,
    };
  }

  remotes(): RemoteView[] {
    return this.#sessions.list();
  }

  config(update: TunnelSettingsUpdate): TunnelSettingsView {
    return this.#settings.update(update);
  }

  /** Whether `agentId` is a remote agent of a live session. */
  isRemote(agentId: number): boolean {
    return this.#sessions.isRemoteSession(agentId);
  }

  /** KILL of a remote agent: it ends here and the relay is told (session_close kernel_request). */
  endRemote(agentId: number): void {
    if (!this.#sessions.end(agentId, 'kernel_request', true)) {
      throw new KernelError(
        'INVALID_REQUEST',
        `agent ${agentId} is the tunnel's own agent or not a live remote session; it cannot be killed`,
      );
    }
  }

  /**
   * At start: the options' relay when they name one, else the stored settings when
   * auto_connect is on. Not awaited by the kernel: a relay that is down only delays the
   * tunnel, never the kernel, and the tunnel retries by itself.
   */
  autoConnect(): void {
    const { relayUrl, machineId, token, insecure } = this.#deps.options.tunnel;
    let target: TunnelTarget | undefined;
    if (relayUrl && machineId && token) target = { relay_url: relayUrl, machine_id: machineId, token, insecure };
    else {
      const stored = this.#settings.read();
      if (stored.auto_connect && stored.relay_url && stored.machine_id && stored.token) {
        target = { relay_url: stored.relay_url, machine_id: stored.machine_id, token: stored.token, insecure };
      }
    }
    if (!target) return;
    this.#actor.connect(target).then(
      () => {},
      (error: KernelError) => this.#log.warn({ code: error.code, error: error.message }, 'the tunnel did not connect at start'),
    );
  }

  /** Shutdown, before agents stop: the link closes, remote agents end, the store closes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#actor.close();
    this.#relayAbort.abort(new Error('the kernel is shutting down'));
    this.#settings.close();
  }

  /** The tunnel's own agent, made when the tunnel first connects: the parent of deployed agents. */
  #relaySession(): Session {
    if (this.#relayAgent && this.#deps.registry.get(this.#relayAgent.record.id)) return this.#relayAgent.session;
    const { registry } = this.#deps;
    // Admin: it SPAWNs scripts it wrote in the data directory; what it grants is the remote level, checked here.
    const record = registry.create({
      kind: 'remote',
      transport: 'relay',
      idSpace: 'remote',
      name: registry.byName('relay') === undefined ? 'relay' : null,
      level: 'unrestricted',
      admin: true,
      cwd: this.#deps.cwd,
    });
    const session: Session = { agent: record, transport: 'relay', closed: this.#relayAbort.signal, requestClose() {} };
    this.#relayAgent = { record, session };
    return session;
  }
}

/** Read once at start (a small file), so a wrong path stops the kernel with its name rather than failing every connect. */
function readCaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`tunnel.caFile: cannot read ${path}: ${(error as Error).message}`);
  }
}
