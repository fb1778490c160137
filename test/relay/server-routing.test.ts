/**
 * Calls through the real relay (docs/relay.md §3-§4, §7-§8): routing and correlation,
 * agents isolated from each other, DUPLICATE_ID, garbage frames, oversized frames, rate
 * limits per agent, revocation and expiry of live sessions, the kernel's session_close,
 * and a kernel link's drop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, connectAgent, connectKernel, echoCalls, type Message, startTestRelay } from './server-helpers.js';

afterEach(cleanup);

async function linked(limits = {}) {
  const test = await startTestRelay(limits);
  const kernel = await connectKernel(test.relay, 'laptop-1', test.machineToken('laptop-1'));
  return { ...test, kernel };
}

describe('relay server: calls', () => {
  it('forwards a call with a fresh link id and the session, and maps the reply back to the agent id', async () => {
    const { relay, kernel, agentToken } = await linked();
    const { agent, session } = await connectAgent(relay, 'laptop-1', agentToken(['laptop-1']).token);
    agent.send({ type: 'call', id: 'req-a', op: 'READ', payload: { path: 'notes.txt' } });
    const call = await kernel.next('call');
    expect(call).toEqual({ type: 'call', id: expect.any(Number), session, op: 'READ', payload: { path: 'notes.txt' } });
    kernel.send({ type: 'reply', id: call.id, result: { success: true, content: 'hi' } });
    expect(await agent.next('reply')).toEqual({ type: 'reply', id: 'req-a', result: { success: true, content: 'hi' } });

    // A call without payload carries none; the kernel's error for a call reaches its agent.
    agent.send({ type: 'call', id: 7, op: 0 });
    const bare = await kernel.next('call');
    expect(bare).toEqual({ type: 'call', id: expect.any(Number), session, op: 0 });
    expect(bare.id).not.toBe(call.id);
    kernel.send({ type: 'error', code: 'INTERNAL', error: 'oops', id: bare.id });
    expect(await agent.next('error')).toEqual({ type: 'error', code: 'INTERNAL', error: 'oops', id: 7 });

    // A reply for an unknown link id is dropped; the link stays.
    kernel.send({ type: 'reply', id: 999_999, result: { success: true } });
    agent.send({ type: 'ping', ts: 5 });
    expect(await agent.next('pong')).toEqual({ type: 'pong', ts: 5 });
    expect(agent.received).toEqual([]);
    expect(relay.hub.status()).toMatchObject({ calls_forwarded: 2, calls_rate_limited: 0, sessions: 1, machines_online: 1 });
  });

  it('keeps two agents using the same call ids apart', async () => {
    const { relay, kernel, agentToken } = await linked();
    echoCalls(kernel);
    const a = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    const b = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    for (let id = 0; id < 20; id++) {
      a.agent.send({ type: 'call', id, op: 'NOOP', payload: { from: 'a', id } });
      b.agent.send({ type: 'call', id, op: 'NOOP', payload: { from: 'b', id } });
    }
    for (let id = 0; id < 20; id++) {
      const ra = await a.agent.next('reply', (m) => m.id === id);
      const rb = await b.agent.next('reply', (m) => m.id === id);
      expect(ra.result).toMatchObject({ session: a.session, payload: { from: 'a', id } });
      expect(rb.result).toMatchObject({ session: b.session, payload: { from: 'b', id } });
    }
    expect(a.agent.received).toEqual([]);
    expect(b.agent.received).toEqual([]);
  });

  it('correlates 1,000 concurrent calls from one agent, answered out of order', async () => {
    const { relay, kernel, agentToken } = await linked({
      agent_calls_per_second: 100_000,
      agent_burst: 100_000,
      agent_max_in_flight: 2000,
    });
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    const calls: Message[] = [];
    const all = new Promise<void>((resolve) => {
      kernel.ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Message;
        if (message.type !== 'call') return;
        calls.push(message);
        if (calls.length === 1000) resolve();
      });
    });
    for (let i = 0; i < 1000; i++) agent.send({ type: 'call', id: i % 2 === 0 ? i : `s-${i}`, op: 'NOOP', payload: { i } });
    await all;
    expect(relay.hub.sessions()[0]?.in_flight).toBe(1000);
    // Answer in reverse: correlation must not depend on order.
    for (const call of [...calls].reverse())
      kernel.send({ type: 'reply', id: call.id, result: { success: true, i: (call.payload as { i: number }).i } });
    const replies = new Map<unknown, unknown>();
    await new Promise<void>((resolve) => {
      const take = (m: Message) => {
        replies.set(m.id, (m.result as { i: number }).i);
        if (replies.size === 1000) resolve();
      };
      for (const m of agent.received.splice(0)) take(m);
      agent.ws.on('message', (data) => take(JSON.parse(data.toString()) as Message));
    });
    for (let i = 0; i < 1000; i++) expect(replies.get(i % 2 === 0 ? i : `s-${i}`)).toBe(i);
    expect(relay.hub.sessions()[0]).toMatchObject({ calls: 1000, in_flight: 0 });
  });

  it('refuses an id already in flight with DUPLICATE_ID, without forwarding it', async () => {
    const { relay, kernel, agentToken } = await linked();
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    agent.send({ type: 'call', id: 1, op: 'NOOP' });
    const first = await kernel.next('call');
    agent.send({ type: 'call', id: 1, op: 'NOOP' });
    expect(await agent.next('error')).toMatchObject({ code: 'DUPLICATE_ID', id: 1 });
    // "1" is another id than 1.
    agent.send({ type: 'call', id: '1', op: 'NOOP' });
    await kernel.next('call');
    kernel.send({ type: 'reply', id: first.id, result: { success: true } });
    expect(await agent.next('reply')).toMatchObject({ id: 1 });
    agent.send({ type: 'call', id: 1, op: 'NOOP' });
    await kernel.next('call');
    expect(relay.hub.status().calls_forwarded).toBe(3);
  });

  it('answers garbage after auth with BAD_MESSAGE naming the field, and keeps the link', async () => {
    const { relay, kernel, agentToken } = await linked();
    echoCalls(kernel);
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    agent.sendRaw('not json');
    expect(await agent.next('error')).toMatchObject({ code: 'BAD_MESSAGE', error: expect.stringContaining('not valid JSON') });
    agent.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), true);
    expect(await agent.next('error')).toMatchObject({ code: 'BAD_MESSAGE', error: expect.stringContaining('UTF-8') });
    agent.send({ type: 'deploy', request_id: 1, name: 'x', script: 'y' });
    expect(await agent.next('error')).toMatchObject({ code: 'BAD_MESSAGE', field: 'type' });
    agent.send({ type: 'call', id: 1, op: 'NOOP', session: 3 });
    // An extra key (an agent naming a session) is named in the text and in `field`.
    const extra = await agent.next('error');
    expect(extra).toMatchObject({ code: 'BAD_MESSAGE', error: expect.stringContaining('"session"'), field: 'session' });
    agent.send({ type: 'call', id: -1, op: 'NOOP' });
    expect(await agent.next('error')).toMatchObject({ code: 'BAD_MESSAGE', field: 'id' });
    // Binary frames of UTF-8 JSON are calls like any other.
    agent.sendRaw(Buffer.from(JSON.stringify({ type: 'call', id: 'bin', op: 'NOOP' })), true);
    expect(await agent.next('reply')).toMatchObject({ id: 'bin', result: { success: true } });

    kernel.sendRaw('{"type":"reply"}');
    expect(await kernel.next('error')).toMatchObject({ code: 'BAD_MESSAGE', field: 'id' });
    agent.send({ type: 'call', id: 'after', op: 'NOOP' });
    expect(await agent.next('reply')).toMatchObject({ id: 'after' });
  });

  it('closes a peer that sends a frame over max_message_bytes (1009)', async () => {
    const { relay, kernel, agentToken } = await linked({ max_message_bytes: 4096 });
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    agent.send({ type: 'call', id: 1, op: 'WRITE', payload: { content: 'x'.repeat(5000) } });
    expect((await agent.closed).code).toBe(1009);
    expect(await kernel.next('session_close')).toMatchObject({ reason: 'agent_closed' });
    expect(relay.hub.sessions()).toEqual([]);
  });
});

describe('relay server: rate limits', () => {
  it('limits a flooding agent while another agent calls the same kernel', async () => {
    const { relay, kernel, agentToken } = await linked({ agent_calls_per_second: 5, agent_burst: 10, agent_max_in_flight: 1000 });
    echoCalls(kernel);
    const flood = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    const calm = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    for (let i = 0; i < 100; i++) flood.agent.send({ type: 'call', id: i, op: 'NOOP' });
    const limited = await flood.agent.next('error', (m) => m.code === 'RATE_LIMITED');
    expect(limited).toMatchObject({ error: 'over 5 calls per second', id: expect.any(Number) });
    calm.agent.send({ type: 'call', id: 'c', op: 'NOOP' });
    expect(await calm.agent.next('reply')).toMatchObject({ id: 'c', result: { success: true, session: calm.session } });
    const forwarded = relay.hub.status();
    expect(forwarded.calls_rate_limited).toBeGreaterThanOrEqual(80);
    // The burst went through; the rest never reached the kernel.
    await flood.agent.next('reply', (m) => m.id === 0);
    expect(relay.hub.status().calls_forwarded).toBeLessThanOrEqual(12);
  });

  it('limits calls in flight', async () => {
    const { relay, kernel, agentToken } = await linked({ agent_max_in_flight: 2 });
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    for (let i = 0; i < 3; i++) agent.send({ type: 'call', id: i, op: 'NOOP' });
    expect(await agent.next('error')).toMatchObject({ code: 'RATE_LIMITED', error: 'over 2 calls in flight', id: 2 });
    const first = await kernel.next('call');
    await kernel.next('call');
    kernel.send({ type: 'reply', id: first.id, result: { success: true } });
    expect(await agent.next('reply')).toMatchObject({ id: 0 });
    // A slot is free again.
    agent.send({ type: 'call', id: 3, op: 'NOOP', payload: { third: true } });
    expect(await kernel.next('call')).toMatchObject({ payload: { third: true } });
    expect(relay.hub.status().calls_rate_limited).toBe(1);
  });
});

describe('relay server: ends', () => {
  it('closes a live session at once when its token is revoked', async () => {
    const { relay, kernel, agentToken } = await linked();
    const { token, id } = agentToken('*');
    const { agent, session } = await connectAgent(relay, 'laptop-1', token);
    const other = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    expect(relay.hub.revokeToken(id)).toEqual({ result: 'revoked', sessions_closed: 1 });
    expect(await agent.next('error')).toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session, reason: 'token_revoked' });
    await agent.closed;
    expect(relay.hub.sessions().map((s) => s.session)).toEqual([other.session]);
    expect(relay.hub.revokeToken(id)).toEqual({ result: 'already_revoked', sessions_closed: 0 });
  });

  it('closes the kernel link whose machine token is revoked', async () => {
    const test = await startTestRelay();
    const created = test.relay.hub.tokens.create({ kind: 'machine', machine_id: 'laptop-1' });
    const kernel = await connectKernel(test.relay, 'laptop-1', created.token);
    test.relay.hub.revokeToken(created.id);
    expect(await kernel.next('error')).toMatchObject({ code: 'TOKEN_REVOKED' });
    await kernel.closed;
    expect(test.relay.hub.onlineMachines()).toEqual([]);
  });

  it('closes a session whose token expires', async () => {
    const { relay, kernel, agentToken } = await linked();
    const { agent, session } = await connectAgent(relay, 'laptop-1', agentToken('*', { expiresAt: Date.now() + 300 }).token);
    expect(await agent.next('error')).toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session, reason: 'token_expired' });
  });

  it('closes a kernel link whose machine token expires; its agents go offline', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1', Date.now() + 300));
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    expect(await kernel.next('error')).toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(await agent.next('error')).toMatchObject({ code: 'MACHINE_OFFLINE' });
    expect(relay.hub.onlineMachines()).toEqual([]);
  });

  it("closes the agent on the kernel's session_close, and tells the kernel when an agent leaves", async () => {
    const { relay, kernel, agentToken } = await linked();
    const a = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    kernel.send({ type: 'session_close', session: a.session, reason: 'kernel_request' });
    expect(await a.agent.closed).toEqual({ code: 1000, reason: 'kernel_request' });
    const b = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    b.agent.ws.close();
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session: b.session, reason: 'agent_closed' });
    // The kernel was not told of the session it closed itself.
    expect(kernel.received.filter((m) => m.type === 'session_close')).toEqual([]);
  });

  it('answers calls in flight with MACHINE_OFFLINE when the kernel link drops, and closes the sessions', async () => {
    const { relay, kernel, agentToken } = await linked();
    const { agent } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    agent.send({ type: 'call', id: 'x', op: 'NOOP' });
    agent.send({ type: 'call', id: 2, op: 'NOOP' });
    await kernel.next('call');
    await kernel.next('call');
    kernel.ws.terminate();
    const errors = [await agent.next('error', (m) => m.id === 'x'), await agent.next('error', (m) => m.id === 2)];
    for (const error of errors) expect(error).toMatchObject({ code: 'MACHINE_OFFLINE', error: 'machine "laptop-1" is offline' });
    expect(await agent.next('error', (m) => m.id === undefined)).toMatchObject({ code: 'MACHINE_OFFLINE' });
    expect((await agent.closed).code).toBe(1011);
    expect(relay.hub.machine('laptop-1')).toMatchObject({ online: false, connected_since: null });
  });
});
