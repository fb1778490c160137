/**
 * The relay server's doors (docs/relay.md §1-§3, §7, §10): kernel and agent
 * authentication against the real token store, session_open with the token's ceiling,
 * the auth window, replaced links, unknown paths, and the refusal of plain ws off loopback.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRelay } from '../../src/relay/server/relay.js';
import { cleanup, connectAgent, connectKernel, startTestRelay, TestPeer } from './server-helpers.js';

afterEach(cleanup);

describe('relay server: kernel authentication', () => {
  it('links a kernel with its machine token and records the machine', async () => {
    const { relay, machineToken } = await startTestRelay();
    const kernel = await TestPeer.connect(`${relay.url}/kernel`);
    kernel.send({ type: 'kernel_auth', machine_id: 'laptop-1', token: machineToken('laptop-1'), kernel_version: '0.1.0' });
    expect(await kernel.next('auth_ok')).toEqual({
      type: 'auth_ok',
      machine_id: 'laptop-1',
      heartbeat_interval_ms: 15_000,
      heartbeat_timeout_ms: 45_000,
      max_message_bytes: 1024 * 1024,
    });
    expect(relay.hub.onlineMachines()).toEqual(['laptop-1']);
    expect(relay.hub.machine('laptop-1')).toMatchObject({ online: true, kernel_version: '0.1.0', sessions: 0 });
  });

  it('refuses unknown, forged, malformed and wrong-kind tokens, and another machine id, with one code', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const good = machineToken('laptop-1');
    const forged = good.slice(0, -43) + (good.at(-43) === 'A' ? 'B' : 'A') + good.slice(-42);
    const cases: [string, string][] = [
      ['laptop-1', forged],
      ['laptop-1', 'aos_machine_nonsense'],
      ['laptop-1', agentToken('*').token],
      ['laptop-2', good], // the token is for laptop-1
    ];
    for (const [machineId, token] of cases) {
      const kernel = await TestPeer.connect(`${relay.url}/kernel`);
      kernel.send({ type: 'kernel_auth', machine_id: machineId, token, kernel_version: '0.1.0' });
      expect(await kernel.next('auth_error')).toEqual({
        type: 'auth_error',
        code: 'AUTH_FAILED',
        error: `unknown token for machine "${machineId}"`,
      });
      expect((await kernel.closed).code).toBe(1008);
    }
    expect(relay.hub.onlineMachines()).toEqual([]);
  });

  it('says TOKEN_EXPIRED and TOKEN_REVOKED for a token that matched', async () => {
    const { relay, machineToken } = await startTestRelay();
    const expired = machineToken('laptop-1', Date.now() - 1);
    const revokedToken = relay.hub.tokens.create({ kind: 'machine', machine_id: 'laptop-1' });
    relay.hub.tokens.revoke(revokedToken.id);
    for (const [token, code] of [
      [expired, 'TOKEN_EXPIRED'],
      [revokedToken.token, 'TOKEN_REVOKED'],
    ]) {
      const kernel = await TestPeer.connect(`${relay.url}/kernel`);
      kernel.send({ type: 'kernel_auth', machine_id: 'laptop-1', token, kernel_version: '0.1.0' });
      expect(await kernel.next('auth_error')).toMatchObject({ code });
      await kernel.closed;
    }
  });

  it('replaces an older link for the same machine (REPLACED), whose agents are told MACHINE_OFFLINE', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const token = machineToken('laptop-1');
    const first = await connectKernel(relay, 'laptop-1', token);
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken(['laptop-1']).token);
    const second = await connectKernel(relay, 'laptop-1', token);
    expect(await first.next('error')).toMatchObject({ code: 'REPLACED' });
    expect((await first.closed).code).toBe(1008);
    expect(await agent.next('error')).toMatchObject({ code: 'MACHINE_OFFLINE' });
    expect((await agent.closed).code).toBe(1011);
    // The new link works.
    const { session } = await connectAgent(relay, 'laptop-1', agentToken(['laptop-1']).token);
    expect(await second.next('session_open')).toMatchObject({ session });
    expect(relay.hub.onlineMachines()).toEqual(['laptop-1']);
  });
});

describe('relay server: agent authentication', () => {
  it('opens a session: the kernel gets session_open with the ceiling, the agent auth_ok', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const ceiling = { can_read: true, can_write: false };
    const { id, token } = agentToken(['laptop-1'], { ceiling });
    const agent = await TestPeer.connect(`${relay.url}/agent`);
    agent.send({ type: 'agent_auth', token, machine_id: 'laptop-1', name: 'planner' });
    const ok = await agent.next('auth_ok');
    expect(ok).toEqual({
      type: 'auth_ok',
      machine_id: 'laptop-1',
      session: expect.any(Number),
      ceiling,
      heartbeat_interval_ms: 15_000,
      heartbeat_timeout_ms: 45_000,
      max_message_bytes: 1024 * 1024,
    });
    expect(await kernel.next('session_open')).toEqual({
      type: 'session_open',
      session: ok.session,
      token_id: id,
      ceiling,
      name: 'planner',
    });

    // No ceiling, no name: null, and no name key.
    const bare = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    expect(await kernel.next('session_open', (m) => m.session === bare.session)).toEqual({
      type: 'session_open',
      session: bare.session,
      token_id: expect.any(String),
      ceiling: null,
    });
    expect(bare.session).not.toBe(ok.session);
    expect(relay.hub.sessions('laptop-1').map((s) => s.name)).toEqual(['planner', null]);
  });

  it('refuses a token not scoped to the machine (FORBIDDEN), an offline machine, and bad tokens', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    await connectKernel(relay, 'laptop-2', machineToken('laptop-2'));
    const scoped = agentToken(['laptop-1']).token;
    const tries: [string, string, string, string][] = [
      [scoped, 'laptop-2', 'FORBIDDEN', 'token is not scoped to machine "laptop-2"'],
      [agentToken('*').token, 'nas', 'MACHINE_OFFLINE', 'machine "nas" is offline'],
      ['aos_agent_garbage', 'laptop-1', 'AUTH_FAILED', 'unknown agent token'],
      [machineToken('laptop-1'), 'laptop-1', 'AUTH_FAILED', 'unknown agent token'],
      [agentToken('*', { expiresAt: Date.now() - 1 }).token, 'laptop-1', 'TOKEN_EXPIRED', 'the agent token has expired'],
    ];
    for (const [token, machineId, code, error] of tries) {
      const agent = await TestPeer.connect(`${relay.url}/agent`);
      agent.send({ type: 'agent_auth', token, machine_id: machineId });
      expect(await agent.next('auth_error')).toEqual({ type: 'auth_error', code, error });
      await agent.closed;
    }
    expect(relay.hub.sessions()).toEqual([]);
  });

  it('holds one token to max_sessions_per_token live sessions (RATE_LIMITED), and frees a place when one ends', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay({ max_sessions_per_token: 2 });
    await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const { token } = agentToken(['laptop-1']);
    const first = await connectAgent(relay, 'laptop-1', token);
    await connectAgent(relay, 'laptop-1', token);
    const third = await TestPeer.connect(`${relay.url}/agent`);
    third.send({ type: 'agent_auth', token, machine_id: 'laptop-1' });
    expect(await third.next('auth_error')).toMatchObject({
      code: 'RATE_LIMITED',
      error: expect.stringContaining('max_sessions_per_token'),
    });
    // Another token is not held to this one's count.
    await connectAgent(relay, 'laptop-1', agentToken(['laptop-1']).token);
    first.agent.ws.close();
    for (let waited = 0; relay.hub.sessions().length > 2; waited += 10) {
      if (waited > 5000) throw new Error('the closed session was never ended');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const again = await TestPeer.connect(`${relay.url}/agent`);
    again.send({ type: 'agent_auth', token, machine_id: 'laptop-1' });
    expect(await again.next('auth_ok')).toMatchObject({ type: 'auth_ok', machine_id: 'laptop-1' });
  });
});

describe('relay server: the auth window', () => {
  it('drops a silent connection with AUTH_TIMEOUT', async () => {
    const { relay } = await startTestRelay({ auth_timeout_ms: 150 });
    const agent = await TestPeer.connect(`${relay.url}/agent`);
    expect(await agent.next('error')).toMatchObject({ code: 'AUTH_TIMEOUT' });
    expect((await agent.closed).code).toBe(1008);
  });

  it('answers a message before auth with UNAUTHENTICATED and closes', async () => {
    const { relay } = await startTestRelay();
    const agent = await TestPeer.connect(`${relay.url}/agent`);
    agent.send({ type: 'call', id: 1, op: 'NOOP' });
    expect(await agent.next('error')).toMatchObject({ code: 'UNAUTHENTICATED' });
    await agent.closed;
    const kernel = await TestPeer.connect(`${relay.url}/kernel`);
    kernel.send({ type: 'ping', ts: 1 });
    expect(await kernel.next('error')).toMatchObject({ code: 'UNAUTHENTICATED' });
    await kernel.closed;
  });

  it('closes on a bad first frame, naming the field', async () => {
    const { relay } = await startTestRelay();
    const kernel = await TestPeer.connect(`${relay.url}/kernel`);
    kernel.send({ type: 'kernel_auth', machine_id: 'laptop-1', token: 'x', kernel_version: '1', extra: true });
    expect(await kernel.next('error')).toMatchObject({ code: 'BAD_MESSAGE' });
    await kernel.closed;
  });

  it('refuses other paths with 404', async () => {
    const { relay } = await startTestRelay();
    const ws = new WebSocket(`${relay.url}/other`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
  });
});

describe('relay server: start', () => {
  it('refuses plain ws on a non-loopback host without insecure, and makes its admin token once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aos-relay-start-'));
    try {
      await expect(startRelay({ host: '0.0.0.0', port: 0, dataDir: dir }, { logger: pino({ level: 'silent' }) })).rejects.toThrow(
        /refusing to serve plain ws on 0\.0\.0\.0.*--insecure/,
      );
      const relay = await startRelay({ port: 0, dataDir: dir }, { logger: pino({ level: 'silent' }) });
      const token = await readFile(relay.adminTokenFile, 'utf8');
      expect(token.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await stat(relay.adminTokenFile)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'relay.db'))).mode & 0o777).toBe(0o600);
      expect(relay.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      await relay.close();
      const again = await startRelay({ port: 0, dataDir: dir }, { logger: pino({ level: 'silent' }) });
      expect(await readFile(again.adminTokenFile, 'utf8')).toBe(token);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
