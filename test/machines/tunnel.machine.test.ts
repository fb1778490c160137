/** The tunnel machine, driven by a SimulatedClock and a scripted random source: no sleeping. */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  createTunnelMachine,
  retryDelayMs,
  TunnelEvent,
  TunnelInput,
  TunnelStatus,
  tunnelMachine,
  tunnelStatusOf,
} from '../../src/machines/tunnel.machine.js';

const URL = 'wss://relay.example:8443/kernel';
const BACKOFF = { initial_ms: 100, max_ms: 1000, factor: 2 };

/** Random values from a list, then the last one forever. */
function scripted(values: number[]) {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)] ?? 0;
}

function tunnel(randoms: number[] = [1], input: Record<string, unknown> = { backoff: BACKOFF, handshake_timeout_ms: 5000 }) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const logic = createTunnelMachine({ random: scripted(randoms), now: () => clock.now() }).provide({
    actions: {
      openSocket: () => calls.push('open'),
      sendAuth: () => calls.push('auth'),
      closeSocket: () => calls.push('close'),
    },
  });
  const actor = createActor(logic, { clock, input }).start();
  const status = () => tunnelStatusOf(actor.getSnapshot());
  const connect = () => {
    actor.send({ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' });
    actor.send({ type: 'socket.open' });
    actor.send({ type: 'auth.ok' });
  };
  return { actor, clock, calls, status, connect };
}

describe('tunnel machine', () => {
  it('connect → authenticating → connected, with the status TUNNEL_STATUS needs', () => {
    const { actor, clock, calls, status } = tunnel();
    expect(status().state).toBe('disconnected');
    clock.set(1_000);
    actor.send({ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' });
    expect(status()).toMatchObject({ state: 'connecting', relay_url: URL, machine_id: 'm-1' });
    actor.send({ type: 'auth.ok' }); // not yet: the socket is not open
    expect(status().state).toBe('connecting');
    actor.send({ type: 'socket.open' });
    expect(status().state).toBe('authenticating');
    actor.send({ type: 'auth.ok' });
    expect(calls).toEqual(['open', 'auth']);
    const connected = status();
    expect(TunnelStatus.parse(connected)).toEqual({
      state: 'connected',
      relay_url: URL,
      machine_id: 'm-1',
      attempt: 0,
      reconnects: 0,
      last_error: null,
      connected_since: 1_000,
      next_retry_at: null,
    });
    // A second connect while up is the syscall layer's "already connected", not a restart.
    actor.send({ type: 'tunnel.connect', relay_url: 'ws://127.0.0.1:1', machine_id: 'other' });
    expect(status()).toMatchObject({ state: 'connected', relay_url: URL });
  });

  it('drops back off with growing delays, capped, jittered; a reconnect resets attempt', () => {
    // random 1 picks the cap itself, so the growth is visible; 0.5 then shows the jitter.
    const { actor, clock, calls, status, connect } = tunnel([1, 1, 1, 1, 1, 0.5]);
    connect();
    calls.length = 0;
    const delays: number[] = [];
    for (let drop = 0; drop < 6; drop++) {
      const at = clock.now();
      if (drop === 0) actor.send({ type: 'socket.close', code: 1006, reason: '' });
      else actor.send({ type: 'socket.error', error: 'ECONNREFUSED' });
      const s = status();
      expect(s.state).toBe('backing_off');
      expect(s.attempt).toBe(drop + 1);
      expect(s.connected_since).toBeNull();
      const delay = (s.next_retry_at ?? 0) - at;
      delays.push(delay);
      clock.increment(delay - 1);
      expect(status().state).toBe('backing_off');
      clock.increment(1);
      expect(status()).toMatchObject({ state: 'connecting', reconnects: drop + 1, next_retry_at: null });
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 500]);
    expect(status().last_error).toEqual({ code: 'SOCKET_ERROR', error: 'ECONNREFUSED' });
    // Every way down closes the socket before waiting; every retry opens a new one.
    expect(calls.filter((call) => call === 'close')).toHaveLength(6);
    expect(calls.filter((call) => call === 'open')).toHaveLength(6);

    actor.send({ type: 'socket.open' });
    actor.send({ type: 'auth.ok' });
    expect(status()).toMatchObject({ state: 'connected', attempt: 0, reconnects: 6, connected_since: clock.now() });
    // The next drop starts from initial_ms again (random 0.5 of 100).
    const at = clock.now();
    actor.send({ type: 'socket.close', code: 1001, reason: 'relay restarting' });
    expect(status().next_retry_at).toBe(at + 50);
    expect(status().last_error).toEqual({ code: 'SOCKET_CLOSED', error: 'closed with 1001: relay restarting' });
  });

  it('a refused token stops the tunnel with the error recorded and never retries', () => {
    const { actor, clock, calls, status } = tunnel();
    actor.send({ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' });
    actor.send({ type: 'socket.open' });
    actor.send({ type: 'auth.error', code: 'UNAUTHORIZED', error: 'no token for machine m-1' });
    expect(status()).toMatchObject({
      state: 'stopped',
      last_error: { code: 'UNAUTHORIZED', error: 'no token for machine m-1' },
      next_retry_at: null,
    });
    clock.increment(10 * 60_000);
    expect(status().state).toBe('stopped');
    expect(calls).toEqual(['open', 'auth', 'close']);
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('a token revoked while connected stops the tunnel too', () => {
    const { actor, status, connect } = tunnel();
    connect();
    actor.send({ type: 'auth.error', code: 'TOKEN_REVOKED', error: 'token revoked' });
    expect(status()).toMatchObject({ state: 'stopped', connected_since: null, last_error: { code: 'TOKEN_REVOKED' } });
  });

  it.each([
    ['disconnected', [] as TunnelEvent[]],
    ['connecting', [{ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' }]],
    ['authenticating', [{ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' }, { type: 'socket.open' }]],
    ['connected', [{ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' }, { type: 'socket.open' }, { type: 'auth.ok' }]],
    [
      'backing_off',
      [
        { type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' },
        { type: 'socket.error', error: 'ECONNRESET' },
      ],
    ],
  ] as const)('tunnel.disconnect from %s → stopped, socket closed, no timer left', (state, events) => {
    const { actor, clock, calls, status } = tunnel();
    for (const event of events) actor.send(event as TunnelEvent);
    expect(status().state).toBe(state);
    calls.length = 0;
    actor.send({ type: 'tunnel.disconnect' });
    expect(status()).toMatchObject({ state: 'stopped', connected_since: null, next_retry_at: null });
    expect(calls).toEqual(['close']);
    clock.increment(60 * 60_000);
    expect(status().state).toBe('stopped');
    expect(calls).toEqual(['close']);
  });

  it('stopped is idle: a later tunnel.connect starts a fresh session', () => {
    const { actor, status, connect } = tunnel();
    connect();
    actor.send({ type: 'socket.error', error: 'EPIPE' });
    actor.send({ type: 'tunnel.disconnect' });
    actor.send({ type: 'tunnel.connect', relay_url: 'wss://other.example/', machine_id: 'm-2' });
    expect(status()).toMatchObject({
      state: 'connecting',
      relay_url: 'wss://other.example/',
      machine_id: 'm-2',
      attempt: 0,
      reconnects: 0,
      last_error: null,
    });
  });

  it('a heartbeat timeout while connected backs off and closes the half-dead socket', () => {
    const { actor, calls, status, connect } = tunnel();
    connect();
    actor.send({ type: 'heartbeat.timeout' });
    expect(status()).toMatchObject({ state: 'backing_off', attempt: 1, last_error: { code: 'HEARTBEAT_TIMEOUT' } });
    expect(calls).toEqual(['open', 'auth', 'close']);
    // The close the socket reports afterwards is stale and changes nothing.
    actor.send({ type: 'socket.close', code: 1006, reason: '' });
    expect(status().last_error?.code).toBe('HEARTBEAT_TIMEOUT');
  });

  it('a relay that never answers the handshake times out into backing_off', () => {
    const { actor, clock, status } = tunnel();
    actor.send({ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' });
    clock.increment(5000);
    expect(status()).toMatchObject({ state: 'backing_off', last_error: { code: 'HANDSHAKE_TIMEOUT' } });
    clock.increment(100); // random 1: the full 100 ms
    actor.send({ type: 'socket.open' });
    clock.increment(4999);
    expect(status().state).toBe('authenticating');
    clock.increment(1);
    expect(status()).toMatchObject({ state: 'backing_off', attempt: 2 });
  });

  it('the default machine fills in its defaults from an empty input', () => {
    const actor = createActor(tunnelMachine, { input: {} }).start();
    expect(actor.getSnapshot().context).toMatchObject({
      backoff: { initial_ms: 250, max_ms: 1500, factor: 2 },
      handshake_timeout_ms: 10_000,
    });
    actor.stop();
  });
});

describe('retryDelayMs', () => {
  it('grows by factor, caps at max_ms, and scales by the random pick (full jitter)', () => {
    expect([0, 1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, BACKOFF, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelayMs(3, BACKOFF, () => 0)).toBe(0);
    expect(retryDelayMs(3, BACKOFF, () => 0.25)).toBe(200);
    // A huge attempt overflows factor^attempt to Infinity: still the cap, never NaN.
    expect(retryDelayMs(5000, BACKOFF, () => 1)).toBe(1000);
    // Out-of-range randoms are clamped.
    expect(retryDelayMs(0, BACKOFF, () => 7)).toBe(100);
    expect(retryDelayMs(0, BACKOFF, () => -1)).toBe(0);
    expect(() => retryDelayMs(-1, BACKOFF, () => 0)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5, BACKOFF, () => 0)).toThrow(RangeError);
  });
});

describe('schemas', () => {
  it('refuse bad input, naming the field', () => {
    const bad = TunnelInput.safeParse({ backoff: { initial_ms: 5000, max_ms: 10 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['backoff', 'initial_ms']);
    expect(TunnelInput.safeParse({ handshake_timeout_ms: 0 }).error?.issues[0]?.path).toEqual(['handshake_timeout_ms']);
    // Bad input fails the actor at start (an error snapshot), not later on some timer.
    const actor = createActor(tunnelMachine, { input: { handshake_timeout_ms: -5 } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/handshake_timeout_ms/);
  });

  it('accept only ws:// and wss:// relay urls and a machine id', () => {
    const ok = TunnelEvent.safeParse({ type: 'tunnel.connect', relay_url: URL, machine_id: 'm-1' });
    expect(ok.success).toBe(true);
    const http = TunnelEvent.safeParse({ type: 'tunnel.connect', relay_url: 'http://relay.example', machine_id: 'm-1' });
    expect(http.error?.issues[0]?.path).toEqual(['relay_url']);
    const noId = TunnelEvent.safeParse({ type: 'tunnel.connect', relay_url: URL, machine_id: '' });
    expect(noId.error?.issues[0]?.path).toEqual(['machine_id']);
    expect(TunnelEvent.safeParse({ type: 'socket.teleport' }).success).toBe(false);
  });
});
