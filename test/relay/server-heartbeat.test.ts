/**
 * Heartbeats of the real relay (docs/relay.md §6) with short configured limits: pings
 * answered, quiet peers pinged, silent authenticated peers closed with HEARTBEAT_TIMEOUT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, connectAgent, connectKernel, startTestRelay } from './server-helpers.js';

afterEach(cleanup);

const SHORT = { heartbeat_interval_ms: 100, heartbeat_timeout_ms: 300 };

describe('relay server: heartbeats', () => {
  it('answers a ping with a pong of the same ts, on both endpoints', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    kernel.send({ type: 'ping', ts: 1_700_000_000_000 });
    agent.send({ type: 'ping', ts: 42 });
    expect(await kernel.next('pong')).toEqual({ type: 'pong', ts: 1_700_000_000_000 });
    expect(await agent.next('pong')).toEqual({ type: 'pong', ts: 42 });
  });

  it('pings a quiet peer, and keeps it while it answers', async () => {
    const { relay, machineToken } = await startTestRelay(SHORT);
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    for (let i = 0; i < 4; i++) {
      const ping = await kernel.next('ping');
      expect(ping.ts).toEqual(expect.any(Number));
      kernel.send({ type: 'pong', ts: ping.ts });
    }
    expect(relay.hub.onlineMachines()).toEqual(['laptop-1']);
  });

  it('closes a silent kernel with HEARTBEAT_TIMEOUT; its agents go offline', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay(SHORT);
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    // The agent stays alive by answering pings; the kernel never speaks again.
    agent.ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; ts?: number };
      if (message.type === 'ping') agent.send({ type: 'pong', ts: message.ts });
    });
    expect(await kernel.next('error')).toMatchObject({ code: 'HEARTBEAT_TIMEOUT' });
    expect((await kernel.closed).code).toBe(1008);
    expect(await agent.next('error')).toMatchObject({ code: 'MACHINE_OFFLINE' });
    expect(relay.hub.onlineMachines()).toEqual([]);
  });

  it('closes a silent agent with HEARTBEAT_TIMEOUT and tells the kernel', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay(SHORT);
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    kernel.ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; ts?: number };
      if (message.type === 'ping') kernel.send({ type: 'pong', ts: message.ts });
    });
    const { agent, session } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    expect(await agent.next('error')).toMatchObject({ code: 'HEARTBEAT_TIMEOUT' });
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session, reason: 'heartbeat_timeout' });
    expect(relay.hub.onlineMachines()).toEqual(['laptop-1']);
  });
});
