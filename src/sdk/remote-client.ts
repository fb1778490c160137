/**
 * RemoteAgentClient: the AgentOS client of an agent that runs far from the kernel and
 * reaches it through a relay (docs/relay.md). Every typed method of AgentOSClient works
 * the same; the link, its reconnects and the session live in RelayTransport.
 *
 * The relay does not tell an agent its kernel id, so `connect` asks with HELLO (no name
 * and no token: the relay named the agent, and its rights come from the agent token's
 * ceiling, never from a kernel token). Each reconnect is a new session, so a new agent
 * on the kernel; `agentId` is asked for again then.
 */
import { AgentOSClient } from './client.js';
import type { AgentOSError } from './errors.js';
import { type RelayLinkState, type RelaySessionInfo, RelayTransport, type RelayTransportInput } from './relay-transport.js';

export type RemoteConnectOptions = RelayTransportInput & {
  /** Every change of the link's state: 'connected' again after a reconnect, 'closed' for good with why. */
  onStateChange?: (state: RelayLinkState, error?: AgentOSError) => void;
};

export class RemoteAgentClient extends AgentOSClient {
  readonly #transport: RelayTransport;

  private constructor(transport: RelayTransport) {
    super(transport);
    this.#transport = transport;
    transport.onStateChange((state) => {
      if (state !== 'connected') return;
      // A new session is a new agent: learn its id. A failure here surfaces on the next call.
      this.agentId = undefined;
      this.hello({ client: 'agentos-ts-remote' }).catch(() => {});
    });
  }

  /**
   * Connects to the relay, authenticates as an agent of `machineId`, and says HELLO.
   * Rejects with AgentOSError: the relay's code (AUTH_FAILED, TOKEN_EXPIRED,
   * TOKEN_REVOKED, FORBIDDEN, MACHINE_OFFLINE), UNAVAILABLE when the relay cannot be
   * reached, PERMISSION_DENIED for a token over plain ws to a non-loopback host without
   * `insecure`, INVALID_REQUEST for a bad option.
   */
  static override async connect(options: RemoteConnectOptions): Promise<RemoteAgentClient> {
    const { onStateChange, ...transportOptions } = options;
    const transport = await RelayTransport.connect(transportOptions);
    const client = new RemoteAgentClient(transport);
    try {
      await client.hello({ client: 'agentos-ts-remote' });
    } catch (error) {
      await transport.close();
      throw error;
    }
    if (onStateChange) transport.onStateChange(onStateChange);
    return client;
  }

  /** 'connected', 'reconnecting' (calls wait, or fail with MACHINE_OFFLINE while the machine is away) or 'closed'. */
  get state(): RelayLinkState {
    return this.#transport.state;
  }

  /** The relay's session number of the current link (a new one after each reconnect). */
  get session(): number | undefined {
    return this.#transport.session?.session;
  }

  /** The most the agent token lets this agent hold on the kernel; null: the kernel's remote level alone. */
  get ceiling(): RelaySessionInfo['ceiling'] | undefined {
    return this.#transport.session?.ceiling;
  }

  /** Adds a listener of link state changes; returns a function that removes it. */
  onStateChange(listener: (state: RelayLinkState, error?: AgentOSError) => void): () => void {
    return this.#transport.onStateChange(listener);
  }
}
