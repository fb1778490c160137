/**
 * TUNNEL_CONNECT, TUNNEL_STATUS, TUNNEL_DISCONNECT and TUNNEL_CONFIG against a relay the
 * test plays (a real ws server on loopback), with TUNNEL_STATE events, reconnection with
 * backoff, refusals, admin-only access, and the kernel connecting at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KernelOptionsInput } from '../../src/kernel/index.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { FakeRelay, type FakeRelayOptions } from './fake-relay.js';

const BACKOFF = { initial_ms: 20, max_ms: 100, factor: 2 };
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function kernelWith(tunnel: KernelOptionsInput['tunnel'] = {}, overrides: KernelOptionsInput = {}): Promise<TestKernel> {
  const kernel = await startTestKernel({ tunnel: { backoff: BACKOFF, handshakeTimeoutMs: 2000, ...tunnel }, ...overrides });
  cleanups.push(() => kernel.cleanup());
  return kernel;
}

async function relay(options: FakeRelayOptions = {}): Promise<FakeRelay> {
  const r = await FakeRelay.start(options);
  cleanups.push(() => r.close());
  return r;
}

async function admin(kernel: TestKernel): Promise<AgentOSClient> {
  const client = await connect(kernel, adminToken(kernel));
  cleanups.push(() => client.close());
  return client;
}

function tunnelStates(kernel: TestKernel): KernelEvent[] {
  const seen: KernelEvent[] = [];
  const off = kernel.events.on((event) => {
    if (event.type === 'TUNNEL_STATE') seen.push(event);
  });
  cleanups.push(async () => off());
  return seen;
}

const TOKEN = 'aos_machine_0123456789abcdef_secret-not-for-logs';

describe('TUNNEL_CONNECT and TUNNEL_STATUS', () => {
  it('connects, reports every field, and sends kernel_auth with the token only to the relay', async () => {
    const kernel = await kernelWith();
    const fake = await relay();
    const os = await admin(kernel);
    const states = tunnelStates(kernel);

    const never = await os.call('TUNNEL_STATUS', {});
    expect(never).toMatchObject({ success: true, connected: false, state: 'disconnected', relay_url: null, machine_id: null });
    expect(never).toMatchObject({
      remote_agent_count: 0,
      reconnects: 0,
      attempt: 0,
      last_error: null,
      connected_since: null,
      next_retry_at: null,
    });

    const reply = await os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'laptop-1', token: TOKEN });
    expect(reply).toEqual({ success: true, connected: true, relay_url: fake.url, machine_id: 'laptop-1' });
    const auth = await fake.next('kernel_auth');
    expect(auth).toMatchObject({ machine_id: 'laptop-1', token: TOKEN });
    expect(auth.kernel_version).toBe(kernel.version);

    const status = (await os.call('TUNNEL_STATUS', {})) as Record<string, unknown>;
    expect(status).toMatchObject({
      connected: true,
      state: 'connected',
      relay_url: fake.url,
      machine_id: 'laptop-1',
      remote_agent_count: 0,
    });
    expect(typeof status.connected_since).toBe('number');
    expect(JSON.stringify(status)).not.toContain(TOKEN);
    // Alias numbers reach the same calls.
    expect(await os.call(0xb2, {})).toMatchObject({ state: 'connected' });

    expect(states.map((e) => e.data.state)).toEqual(['connecting', 'authenticating', 'connected']);
    expect(states[2]?.data).toEqual({ state: 'connected', relay_url: fake.url, machine_id: 'laptop-1' });
    expect(fake.invalid).toEqual([]);
  });

  it('a refused token is PERMISSION_DENIED with the relay code, and the tunnel stops without retrying', async () => {
    const kernel = await kernelWith();
    const fake = await relay({ auth: 'TOKEN_REVOKED' });
    const os = await admin(kernel);
    const states = tunnelStates(kernel);
    const error = await failure(os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'm1', token: TOKEN }), 'PERMISSION_DENIED');
    expect(error.message).toContain('TOKEN_REVOKED');
    expect(error.message).not.toContain(TOKEN);
    const status = (await os.call('TUNNEL_STATUS', {})) as Record<string, unknown>;
    expect(status).toMatchObject({ connected: false, state: 'stopped', last_error: { code: 'TOKEN_REVOKED' } });
    expect(states.at(-1)?.data).toMatchObject({ state: 'stopped', error: { code: 'TOKEN_REVOKED' } });
    // No retry: still one link after a good while longer than the backoff.
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.links).toBe(1);
  });

  it('a relay that is not there is UNAVAILABLE, and the tunnel keeps retrying until it is', async () => {
    const kernel = await kernelWith();
    const os = await admin(kernel);
    const fake = await relay();
    const url = fake.url;
    await fake.close();
    const error = await failure(os.call('TUNNEL_CONNECT', { relay_url: url, machine_id: 'm1', token: TOKEN }), 'UNAVAILABLE');
    expect(error.message).toContain('SOCKET');
    await until(async () => ((await os.call('TUNNEL_STATUS', {})) as { reconnects: number }).reconnects >= 2, 'retries');
    const status = (await os.call('TUNNEL_STATUS', {})) as { state: string; attempt: number };
    expect(['connecting', 'backing_off']).toContain(status.state);
    expect(status.attempt).toBeGreaterThan(0);
    await os.call('TUNNEL_DISCONNECT', {});
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ state: 'stopped', next_retry_at: null });
  });

  it('when the relay drops the link the tunnel backs off and reconnects by itself', async () => {
    const kernel = await kernelWith();
    const fake = await relay();
    const os = await admin(kernel);
    const states = tunnelStates(kernel);
    await os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'm1', token: TOKEN });
    fake.drop();
    await until(() => fake.links === 2 && kernel.tunnel.status().state === 'connected', 'the second link');
    expect(states.map((e) => e.data.state)).toContain('backing_off');
    const backingOff = states.find((e) => e.data.state === 'backing_off');
    expect(backingOff?.data.error).toMatchObject({ code: 'SOCKET_CLOSED' });
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ connected: true, reconnects: 1, attempt: 0 });
    expect(fake.all('kernel_auth')).toHaveLength(2);
  });

  it('TUNNEL_DISCONNECT closes the link and stops; a connect to another relay replaces the first', async () => {
    const kernel = await kernelWith();
    const first = await relay();
    const second = await relay();
    const os = await admin(kernel);
    await os.call('TUNNEL_CONNECT', { relay_url: first.url, machine_id: 'm1', token: TOKEN });
    await os.call(0xb0, { relay_url: second.url, machine_id: 'm2', token: TOKEN });
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ state: 'connected', relay_url: second.url, machine_id: 'm2' });
    await until(() => first.socket?.readyState === first.socket?.CLOSED, 'the first link closed');
    expect(await os.call('TUNNEL_DISCONNECT', {})).toEqual({ success: true, disconnected: true });
    await until(() => second.socket?.readyState === second.socket?.CLOSED, 'the second link closed');
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ connected: false, state: 'stopped' });
    await new Promise((r) => setTimeout(r, 200));
    expect(second.links).toBe(1);
  });

  it('a relay that never answers kernel_auth is a handshake timeout, then a retry', async () => {
    const kernel = await kernelWith({ handshakeTimeoutMs: 200 });
    const fake = await relay({ auth: 'silent' });
    const os = await admin(kernel);
    const error = await failure(os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'm1', token: TOKEN }), 'UNAVAILABLE');
    expect(error.message).toContain('HANDSHAKE_TIMEOUT');
    await until(() => fake.links >= 2, 'a retry');
    await os.call('TUNNEL_DISCONNECT', {});
  });

  it('heartbeats: pings after a quiet interval, answers pings, and a silent relay is a heartbeat timeout', async () => {
    const kernel = await kernelWith();
    const fake = await relay({ heartbeat_interval_ms: 100, heartbeat_timeout_ms: 400 });
    const os = await admin(kernel);
    await os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'm1', token: TOKEN });
    fake.send({ type: 'ping', ts: 42 });
    await fake.next('pong', (m) => m.ts === 42);
    await fake.next('ping');
    // The fake relay never answers pings: the kernel gives up on the link and reconnects.
    await until(() => kernel.tunnel.status().last_error?.code === 'HEARTBEAT_TIMEOUT', 'a heartbeat timeout');
    await until(() => fake.links >= 2, 'a reconnect');
    await os.call('TUNNEL_DISCONNECT', {});
  });

  it('refuses a token over plain ws to another host unless insecure, and bad fields name the field', async () => {
    const kernel = await kernelWith();
    const os = await admin(kernel);
    const plain = await failure(
      os.call('TUNNEL_CONNECT', { relay_url: 'ws://relay.example.com:7700', machine_id: 'm1', token: TOKEN }),
      'INVALID_REQUEST',
    );
    expect(plain.message).toContain('insecure');
    const bad = await failure(os.call('TUNNEL_CONNECT', { relay_url: 'http://x', machine_id: 'm1', token: TOKEN }), 'INVALID_REQUEST');
    expect(bad.message).toContain('relay_url');
    const noId = await failure(os.call('TUNNEL_CONNECT', { relay_url: 'ws://127.0.0.1:1', token: TOKEN }), 'INVALID_REQUEST');
    expect(noId.message).toContain('machine_id');
    expect(kernel.tunnel.status().state).toBe('disconnected');
  });

  it('TUNNEL_* need the admin or can_tunnel: other clients get PERMISSION_DENIED, audited, until an admin grants it', async () => {
    const kernel = await kernelWith({}, { defaultLevel: 'standard' });
    const client = await connect(kernel);
    cleanups.push(() => client.close());
    for (const op of ['TUNNEL_CONNECT', 'TUNNEL_STATUS', 'TUNNEL_DISCONNECT', 'TUNNEL_LIST_REMOTES', 'TUNNEL_CONFIG']) {
      const error = await failure(client.call(op, {}), 'PERMISSION_DENIED');
      expect(error.message).toContain('can_tunnel');
    }
    const entries = await kernel.audit.query({ category: 'denial', agent_id: client.agentId as number });
    expect(entries.entries.map((e) => e.op)).toContain('TUNNEL_CONNECT');
    // Nobody grants themselves what they do not hold.
    await failure(client.call('SET_PERMS', { permissions: { can_tunnel: true } }), 'PERMISSION_DENIED');

    const root = await admin(kernel);
    await root.call('SET_PERMS', { agent_id: client.agentId, permissions: { can_tunnel: true } });
    expect(await client.call('TUNNEL_STATUS')).toMatchObject({ connected: false, state: 'disconnected' });
    expect(await client.call('TUNNEL_LIST_REMOTES')).toMatchObject({ remotes: [], count: 0 });
  });
});

describe('TUNNEL_CONFIG and connecting at start', () => {
  it('stores the settings in tunnel.db, never answers the token, and keeps them across a restart', async () => {
    const kernel = await startTestKernel({ tunnel: { backoff: BACKOFF } });
    cleanups.push(() => kernel.cleanup());
    const fake = await relay();
    const os = await admin(kernel);
    const stored = await os.call('TUNNEL_CONFIG', { relay_url: fake.url, machine_id: 'home-1', token: TOKEN, auto_connect: true });
    expect(stored).toEqual({ success: true, relay_url: fake.url, machine_id: 'home-1', token_set: true, auto_connect: true });
    expect(JSON.stringify(stored)).not.toContain(TOKEN);
    expect(await os.call(0xb4, {})).toEqual(stored);
    // An admin action in the audit log, without the token.
    const audit = await kernel.audit.query({ category: 'admin' });
    const entry = audit.entries.find((e) => e.op === 'TUNNEL_CONFIG');
    expect(entry?.detail).toMatchObject({ machine_id: 'home-1', token_set: true, auto_connect: true });
    expect(JSON.stringify(audit)).not.toContain(TOKEN);
    await os.close();

    // The same data directory: the stored settings connect the next kernel at start.
    const { dataDir, socketPath } = kernel.options;
    await kernel.stop();
    const again = await startTestKernel({ dataDir, socketPath, tunnel: { backoff: BACKOFF } });
    cleanups.push(() => again.stop());
    const os2 = await admin(again);
    expect(await os2.call('TUNNEL_CONFIG', {})).toEqual(stored);
    await until(() => again.tunnel.status().state === 'connected', 'the tunnel connected at start');
    expect((await fake.next('kernel_auth')).machine_id).toBe('home-1');
    expect(await os2.call('TUNNEL_CONFIG', { clear: true })).toEqual({
      success: true,
      relay_url: null,
      machine_id: null,
      token_set: false,
      auto_connect: false,
    });
  });

  it('a recording never holds TUNNEL_* calls (they carry the token)', async () => {
    const kernel = await kernelWith();
    const os = await admin(kernel);
    await os.call('RECORD_START', {});
    await os.call('TUNNEL_CONFIG', { machine_id: 'rec-1', token: TOKEN });
    await os.call('STORE', { key: 'recorded', value: 1 });
    await os.call('RECORD_STOP', {});
    const status = (await os.call('RECORD_STATUS', { export: true })) as { recording: { entries: { op: string }[] } };
    expect(status.recording.entries.map((e) => e.op)).toEqual(['STORE']);
    expect(JSON.stringify(status)).not.toContain(TOKEN);
  });

  it('connects at start from its options', async () => {
    const fake = await relay();
    const kernel = await kernelWith({ relayUrl: fake.url, machineId: 'boot-1', token: TOKEN });
    await until(() => kernel.tunnel.status().state === 'connected', 'the tunnel connected at start');
    expect(await fake.next('kernel_auth')).toMatchObject({ machine_id: 'boot-1', token: TOKEN });
  });
});
