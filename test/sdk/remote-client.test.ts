/**
 * RemoteAgentClient against a real `ws` server on loopback playing the relay (docs/relay.md
 * §2, §4, §6, §7): auth, correlation, per-call errors, reconnects, refusals, heartbeats.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { AgentToRelay, RelayToAgent } from '../../src/relay/protocol/schemas.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { agentEndpoint, type RelayLinkState } from '../../src/sdk/relay-transport.js';
import { RemoteAgentClient, type RemoteConnectOptions } from '../../src/sdk/remote-client.js';
import { rejection } from '../agents/support.js';

type AgentCall = Extract<AgentToRelay, { type: 'call' }>;
type AgentAuth = Extract<AgentToRelay, { type: 'agent_auth' }>;

/** One agent connection as the fake relay sees it. */
interface Peer {
  ws: WebSocket;
  session: number;
  auth: AgentAuth | undefined;
  received: AgentToRelay[];
  send(message: RelayToAgent | Record<string, unknown>): void;
}

/**
 * The relay, scripted: `authorize` answers agent_auth (auth_ok by default), `onCall`
 * answers calls (HELLO gets an agent id; anything else an echo by default).
 */
class FakeRelay {
  readonly server: WebSocketServer;
  readonly peers: Peer[] = [];
  url = '';
  #nextSession = 1;
  authorize: (auth: AgentAuth, peer: Peer) => RelayToAgent | 'hold' | undefined = (_auth, peer) => this.authOk(peer);
  onCall: (call: AgentCall, peer: Peer) => void = (call, peer) => this.echo(call, peer);
  onMessage: ((message: AgentToRelay, peer: Peer) => void) | undefined;
  heartbeat = { heartbeat_interval_ms: 15_000, heartbeat_timeout_ms: 45_000 };

  constructor() {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/agent' });
    this.server.on('connection', (ws) => this.#accept(ws));
  }

  async ready(): Promise<this> {
    if (!this.server.address()) await new Promise((resolve) => this.server.once('listening', resolve));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  authOk(peer: Peer, ceiling: Record<string, unknown> | null = { can_read: true, can_write: false }): RelayToAgent {
    return {
      type: 'auth_ok',
      machine_id: peer.auth?.machine_id ?? 'laptop-1',
      session: peer.session,
      ceiling,
      ...this.heartbeat,
      max_message_bytes: 1024 * 1024,
    } as RelayToAgent;
  }

  echo(call: AgentCall, peer: Peer): void {
    if (call.op === 'HELLO') {
      peer.send({ type: 'reply', id: call.id, result: { success: true, agent_id: 1_000_000_000 + peer.session, name: null } });
      return;
    }
    peer.send({ type: 'reply', id: call.id, result: { success: true, op: call.op, echo: call.payload ?? null } });
  }

  #accept(ws: WebSocket): void {
    const peer: Peer = {
      ws,
      session: this.#nextSession++,
      auth: undefined,
      received: [],
      send: (message) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
      },
    };
    this.peers.push(peer);
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as AgentToRelay;
      peer.received.push(message);
      this.onMessage?.(message, peer);
      if (message.type === 'agent_auth') {
        peer.auth = message;
        const answer = this.authorize(message, peer);
        if (answer !== 'hold' && answer !== undefined) {
          peer.send(answer);
          if (answer.type === 'auth_error') ws.close(1008);
        }
      } else if (message.type === 'call') {
        this.onCall(message, peer);
      }
    });
  }

  /** Resolves when `count` connections have authenticated (auth_ok sent). */
  async waitForPeers(count: number): Promise<Peer> {
    await until(() => this.peers.length >= count && this.peers[count - 1]?.auth !== undefined);
    return this.peers[count - 1] as Peer;
  }

  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function until(check: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const relays: FakeRelay[] = [];
const clients: RemoteAgentClient[] = [];

async function fakeRelay(): Promise<FakeRelay> {
  const relay = await new FakeRelay().ready();
  relays.push(relay);
  return relay;
}

async function connect(relay: FakeRelay, options: Partial<RemoteConnectOptions> = {}): Promise<RemoteAgentClient> {
  const client = await RemoteAgentClient.connect({
    relayUrl: relay.url,
    token: 'aos_agent_0123456789abcdef_secret',
    machineId: 'laptop-1',
    backoff: { initial_ms: 10, max_ms: 20, factor: 2 },
    ...options,
  });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const relay of relays.splice(0)) await relay.close();
});

describe('RemoteAgentClient: authentication', () => {
  it('authenticates with agent_auth, learns its session and ceiling, and its agent id from HELLO', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay, { name: 'cloud-planner' });
    const peer = await relay.waitForPeers(1);
    expect(peer.auth).toEqual({
      type: 'agent_auth',
      token: 'aos_agent_0123456789abcdef_secret',
      machine_id: 'laptop-1',
      name: 'cloud-planner',
    });
    expect(client.state).toBe('connected');
    expect(client.session).toBe(peer.session);
    expect(client.ceiling).toEqual({ can_read: true, can_write: false });
    expect(client.agentId).toBe(1_000_000_000 + peer.session);
    // HELLO carries no token and no name: the relay named the agent, its token is not the kernel's.
    const hello = peer.received.find((m): m is AgentCall => m.type === 'call' && m.op === 'HELLO');
    expect(hello?.payload).toEqual({ client: 'agentos-ts-remote' });
  });

  it.each(['AUTH_FAILED', 'FORBIDDEN', 'TOKEN_EXPIRED', 'MACHINE_OFFLINE'] as const)(
    'rejects connect with the relay code %s',
    async (code) => {
      const relay = await fakeRelay();
      relay.authorize = () => ({ type: 'auth_error', code, error: `refused: ${code}` });
      const error = await rejection(connect(relay));
      expect(error.code).toBe(code);
      expect(error.message).toContain(`refused: ${code}`);
    },
  );

  it('rejects connect with UNAVAILABLE when nothing listens', async () => {
    const relay = await fakeRelay();
    const url = relay.url;
    await relay.close();
    relays.splice(0);
    const error = await rejection(RemoteAgentClient.connect({ relayUrl: url, token: 't', machineId: 'laptop-1', connectTimeoutMs: 2000 }));
    expect(error.code).toBe('UNAVAILABLE');
  });

  it('rejects connect with UNAVAILABLE when the relay never answers the auth', async () => {
    const relay = await fakeRelay();
    relay.authorize = () => 'hold';
    const error = await rejection(connect(relay, { connectTimeoutMs: 200 }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('200 ms');
  });

  it('refuses to send a token over plain ws to a non-loopback host unless insecure', async () => {
    const error = await rejection(RemoteAgentClient.connect({ relayUrl: 'ws://relay.example.com:7700', token: 't', machineId: 'm' }));
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toMatch(/plain ws:\/\/.*insecure/);
    expect(agentEndpoint('ws://relay.example.com:7700', true)).toBe('ws://relay.example.com:7700/agent');
    expect(agentEndpoint('wss://relay.example.com/base/', false)).toBe('wss://relay.example.com/base/agent');
    expect(agentEndpoint('http://127.0.0.1:7700', false)).toBe('ws://127.0.0.1:7700/agent');
    expect(agentEndpoint('ws://localhost:7700', false)).toBe('ws://localhost:7700/agent');
    expect(() => agentEndpoint('ftp://relay', false)).toThrow(/ws:\/\/ or wss:\/\//);
  });

  it('names the bad option', async () => {
    const error = await rejection(RemoteAgentClient.connect({ relayUrl: 'ws://127.0.0.1:1', token: 't', machineId: 'no spaces' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.reply).toEqual({ field: 'machineId' });
  });
});

describe('RemoteAgentClient: calls', () => {
  it('correlates many concurrent calls answered out of order', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    const held: { call: AgentCall; peer: Peer }[] = [];
    relay.onCall = (call, peer) => {
      held.push({ call, peer });
      if (held.length === 200) for (const { call: c, peer: p } of held.reverse()) relay.echo(c, p);
    };
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call('FETCH', { key: `k${i}` })));
    expect(replies.map((reply) => (reply as { echo: { key: string } }).echo.key)).toEqual(Array.from({ length: 200 }, (_, i) => `k${i}`));
    expect(new Set(held.map(({ call }) => call.id)).size).toBe(200);
  });

  it('rejects one call with the relay code (RATE_LIMITED) while the others succeed', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = (call, peer) => {
      if ((call.payload as { key?: string }).key === 'k2')
        peer.send({ type: 'error', code: 'RATE_LIMITED', error: 'over 50 calls per second', id: call.id });
      else relay.echo(call, peer);
    };
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => client.fetch(`k${i}`)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const error = (results[2] as PromiseRejectedResult).reason as AgentOSError;
    expect(error).toBeInstanceOf(AgentOSError);
    expect(error.code).toBe('RATE_LIMITED');
  });

  it('turns a failure reply into the kernel code, as the local client does', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = (call, peer) =>
      peer.send({ type: 'reply', id: call.id, result: { success: false, code: 'PERMISSION_DENIED', error: 'can_write is off' } });
    const error = await rejection(client.write({ path: 'x.txt', content: 'x' }));
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.reply).toMatchObject({ error: 'can_write is off' });
  });

  it('sends NOOP bytes as text and ignores replies for ids it does not hold', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = (call, peer) => {
      peer.send({ type: 'reply', id: 999_999, result: { success: true } });
      peer.send({ type: 'reply', id: 'not-ours', result: { success: true } });
      relay.echo(call, peer);
    };
    const reply = (await client.call('NOOP', Buffer.from('hi'))) as { echo: string };
    expect(reply.echo).toBe('hi');
  });
});

describe('RemoteAgentClient: replies that are not objects', () => {
  it('unwraps {success: true, value} (NOOP, LIST), as the kernel sends them through the relay', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = (call, peer) => {
      const value = call.op === 'LIST' ? [{ agent_id: 1, name: 'a' }] : call.payload;
      peer.send({ type: 'reply', id: call.id, result: { success: true, value } });
    };
    expect((await client.noop('hi')).toString()).toBe('hi');
    expect(await client.list()).toEqual([{ agent_id: 1, name: 'a' }]);
    // A reply with more than these two fields is the kernel's own: untouched.
    relay.onCall = (call, peer) => peer.send({ type: 'reply', id: call.id, result: { success: true, value: 3, key: 'n', scope: 'agent' } });
    expect(await client.incr('n')).toEqual({ success: true, value: 3, key: 'n', scope: 'agent' });
  });
});

describe('RemoteAgentClient: reconnects', () => {
  it('rejects calls in flight at a drop with UNAVAILABLE, reconnects, and later calls succeed as a new agent', async () => {
    const relay = await fakeRelay();
    const states: RelayLinkState[] = [];
    const client = await connect(relay, { onStateChange: (state) => states.push(state) });
    const first = await relay.waitForPeers(1);
    const firstAgent = client.agentId;
    relay.onCall = () => {}; // held: never answered
    const inFlight = client.fetch('k');
    await until(() => first.received.some((m) => m.type === 'call' && m.op === 'FETCH'), 'the call at the relay');
    first.ws.terminate();
    const error = await rejection(inFlight);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('may or may not have run');

    relay.onCall = (call, peer) => relay.echo(call, peer);
    const second = await relay.waitForPeers(2);
    await until(() => client.state === 'connected' && client.agentId === 1_000_000_000 + second.session, 'the new agent id');
    expect(await client.fetch('again')).toMatchObject({ success: true });
    expect(client.session).toBe(second.session);
    expect(client.agentId).not.toBe(firstAgent);
    expect(states).toEqual(['reconnecting', 'connected']);
    // The call lost at the drop was not sent again.
    expect(second.received.filter((m) => m.type === 'call' && m.op === 'FETCH')).toHaveLength(1);
  });

  it('queues calls made while reconnecting and sends them on the new link', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    let release: (() => void) | undefined;
    relay.authorize = (_auth, peer) => {
      release = () => peer.send(relay.authOk(peer));
      return 'hold';
    };
    relay.peers[0]?.ws.terminate();
    await until(() => client.state === 'reconnecting' && release !== undefined, 'the second auth');
    const waiting = [client.fetch('a'), client.fetch('b')];
    release?.();
    const replies = await Promise.all(waiting);
    expect(replies.map((r) => (r as unknown as { echo: { key: string } }).echo.key)).toEqual(['a', 'b']);
  });

  it('bounds the queue and how long a queued call waits', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay, { maxQueuedCalls: 2, connectTimeoutMs: 300 });
    relay.authorize = () => 'hold';
    relay.peers[0]?.ws.terminate();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    const queued = [client.fetch('a'), client.fetch('b')];
    const over = await rejection(client.fetch('c'));
    expect(over.code).toBe('UNAVAILABLE');
    expect(over.message).toContain('2 calls already wait');
    for (const error of await Promise.all(queued.map(rejection))) {
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain('within 300 ms');
    }
  });

  it('fails calls at once with MACHINE_OFFLINE while the machine is offline, and resumes when it is back', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    let offline = true;
    relay.authorize = (_auth, peer) =>
      offline ? { type: 'auth_error', code: 'MACHINE_OFFLINE', error: 'machine "laptop-1" is offline' } : relay.authOk(peer);
    const first = relay.peers[0] as Peer;
    first.send({ type: 'error', code: 'MACHINE_OFFLINE', error: 'machine "laptop-1" is offline' });
    first.ws.close(1011);
    await until(() => client.state === 'reconnecting', 'reconnecting');
    expect((await rejection(client.fetch('k'))).code).toBe('MACHINE_OFFLINE');
    offline = false;
    await until(() => client.state === 'connected', 'connected again');
    expect(await client.fetch('k')).toMatchObject({ success: true });
  });

  it('stops for good after TOKEN_REVOKED: no reconnect, every later call fails with it', async () => {
    const relay = await fakeRelay();
    const states: RelayLinkState[] = [];
    const client = await connect(relay, { onStateChange: (state) => states.push(state) });
    const peer = relay.peers[0] as Peer;
    peer.send({ type: 'error', code: 'TOKEN_REVOKED', error: 'the token was revoked' });
    peer.ws.close(1008);
    await until(() => client.state === 'closed', 'closed');
    expect(states).toEqual(['closed']);
    expect((await rejection(client.fetch('k'))).code).toBe('TOKEN_REVOKED');
    // Give a (wrong) reconnect every chance to happen: the backoff is 10-20 ms.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(relay.peers).toHaveLength(1);
  });

  it('stops for good when the relay refuses the token on a reconnect', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.authorize = () => ({ type: 'auth_error', code: 'TOKEN_REVOKED', error: 'revoked' });
    relay.peers[0]?.ws.terminate();
    await until(() => client.state === 'closed', 'closed');
    expect((await rejection(client.fetch('k'))).code).toBe('TOKEN_REVOKED');
    expect(relay.peers).toHaveLength(2);
  });

  it('drops and reconnects when the relay sends something unreadable', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = (_call, peer) => peer.ws.send('{"type":"reply","id":1'); // not JSON
    const error = await rejection(client.fetch('k'));
    expect(error.code).toBe('UNAVAILABLE');
    relay.onCall = (call, peer) => relay.echo(call, peer);
    await relay.waitForPeers(2);
    await until(() => client.state === 'connected', 'connected again');
    expect(await client.fetch('k')).toMatchObject({ success: true });
  });

  it('close() rejects what waits and ends the link for good', async () => {
    const relay = await fakeRelay();
    const client = await connect(relay);
    relay.onCall = () => {};
    const pending = rejection(client.fetch('k'));
    await client.close();
    expect((await pending).code).toBe('UNAVAILABLE');
    expect(client.state).toBe('closed');
    expect((await rejection(client.fetch('k'))).code).toBe('UNAVAILABLE');
  });
});

describe('RemoteAgentClient: heartbeats', () => {
  it("answers the relay's ping with the same ts", async () => {
    const relay = await fakeRelay();
    await connect(relay);
    const peer = relay.peers[0] as Peer;
    peer.send({ type: 'ping', ts: 1_700_000_000_000 });
    await until(() => peer.received.some((m) => m.type === 'pong'), 'the pong');
    expect(peer.received.find((m) => m.type === 'pong')).toEqual({ type: 'pong', ts: 1_700_000_000_000 });
  });

  it('pings after a quiet interval, and a link silent past the timeout is dropped and made again', async () => {
    const relay = await fakeRelay();
    relay.heartbeat = { heartbeat_interval_ms: 100, heartbeat_timeout_ms: 300 };
    await connect(relay);
    const peer = relay.peers[0] as Peer;
    // The fake relay never answers pings, so the client must give up on it and come back.
    await until(() => peer.received.some((m) => m.type === 'ping'), 'a ping from the client');
    await relay.waitForPeers(2);
  });

  it('keeps a link alive while the relay answers pings', async () => {
    const relay = await fakeRelay();
    relay.heartbeat = { heartbeat_interval_ms: 100, heartbeat_timeout_ms: 300 };
    relay.onMessage = (message, peer) => {
      if (message.type === 'ping') peer.send({ type: 'pong', ts: message.ts });
    };
    const client = await connect(relay);
    const peer = relay.peers[0] as Peer;
    await until(() => peer.received.filter((m) => m.type === 'ping').length >= 5, 'five pings');
    expect(relay.peers).toHaveLength(1);
    expect(client.state).toBe('connected');
  });
});
