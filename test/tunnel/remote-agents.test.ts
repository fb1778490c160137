/**
 * Remote agents over the tunnel: the test plays the relay, opens sessions, makes calls
 * with its own link ids, closes sessions and drops the link; the kernel makes each
 * session an agent of its own (kind remote, ids from 1e9), routes its calls through the
 * one router with the remote level narrowed by the ceiling, and ends it in every way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REMOTE_ID_BASE } from '../../src/agents/registry.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { FakeRelay, type FromKernel } from './fake-relay.js';

let kernel: TestKernel;
let fake: FakeRelay;
let os: AgentOSClient;
let dir: string;
let nextSession = 1;
let nextCall = 1;
const events: KernelEvent[] = [];

beforeAll(async () => {
  kernel = await startTestKernel({ tunnel: { backoff: { initial_ms: 20, max_ms: 100, factor: 2 }, maxRemoteAgents: 5 } });
  kernel.events.on((event) => events.push(event));
  fake = await FakeRelay.start({ max_message_bytes: 64 * 1024 });
  os = await connect(kernel, adminToken(kernel));
  dir = await mkdtemp(join(tmpdir(), 'agentos-remote-'));
});

afterAll(async () => {
  await os?.close().catch(() => {});
  await kernel?.cleanup();
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  if (kernel.tunnel.status().state !== 'connected') {
    await os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'laptop-1', token: 'aos_machine_x_y' });
  }
});

// A failed test leaves no session behind for the next one.
afterEach(async () => {
  for (const remote of kernel.tunnel.remotes()) fake.send({ type: 'session_close', session: remote.session, reason: 'stopped' });
  await until(() => kernel.tunnel.remotes().length === 0, 'no session left');
});

type Reply = Extract<FromKernel, { type: 'reply' }>;

async function openSession(ceiling: Record<string, unknown> | null = null, name?: string) {
  const session = nextSession++;
  fake.send({ type: 'session_open', session, token_id: '5f0c2a9e1b7d4c3a', ceiling, ...(name && { name }) });
  const agent = await until(
    () =>
      kernel.agents().find((a) => a.kind === 'remote' && kernel.tunnel.remotes().some((r) => r.session === session && r.agent_id === a.id)),
    `session ${session}`,
  );
  return { session, agent };
}

async function call(session: number, op: string | number, payload?: unknown): Promise<Reply['result']> {
  const id = nextCall++;
  fake.send({ type: 'call', id, session, op, ...(payload !== undefined && { payload }) });
  return (await fake.next('reply', (m) => m.id === id)).result;
}

async function listed(): Promise<{ id: number; kind: string; name: string | null; state: string }[]> {
  return (await os.call('LIST', {})) as { id: number; kind: string; name: string | null; state: string }[];
}

describe('remote sessions', () => {
  it('session_open makes an agent of kind remote with an id from 1e9, in LIST and TUNNEL_LIST_REMOTES', async () => {
    const { session, agent } = await openSession(null, 'cloud-planner');
    expect(agent.id).toBeGreaterThanOrEqual(REMOTE_ID_BASE);
    expect(agent.transport).toBe('relay');
    expect(agent.level).toBe('sandboxed');
    const row = (await listed()).find((a) => a.id === agent.id);
    expect(row).toMatchObject({ kind: 'remote', name: 'cloud-planner', state: 'connected' });
    const remotes = (await os.call('TUNNEL_LIST_REMOTES', {})) as { remotes: Record<string, unknown>[]; count: number };
    expect(remotes.remotes).toContainEqual(
      expect.objectContaining({ agent_id: agent.id, name: 'cloud-planner', session, token_id: '5f0c2a9e1b7d4c3a', syscalls: 0 }),
    );
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ remote_agent_count: remotes.count });
    expect(events.some((e) => e.type === 'AGENT_SPAWNED' && e.data.agent_id === agent.id)).toBe(true);

    // A second session asking for the same name gets none: names are never taken from a live agent.
    const other = await openSession(null, 'cloud-planner');
    expect(other.agent.name).toBeNull();
    expect(other.agent.id).toBeGreaterThan(agent.id);
    fake.send({ type: 'session_close', session: other.session, reason: 'agent_closed' });
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
    await until(async () => !(await listed()).some((a) => a.id === agent.id || a.id === other.agent.id), 'both gone from LIST');
    const exited = events.find((e) => e.type === 'AGENT_EXITED' && e.data.agent_id === agent.id);
    expect(exited?.data).toMatchObject({ kind: 'remote', reason: 'agent_closed' });
  });

  it('routes calls by name or number, echoes the link id, and answers unknown ops and sessions', async () => {
    const { session, agent } = await openSession();
    expect(await call(session, 'NOOP')).toMatchObject({ success: true });
    expect(await call(session, 0x00, {})).toMatchObject({ success: true });
    expect(await call(session, 'HELLO', {})).toMatchObject({ success: true, agent_id: agent.id });
    expect(await call(session, 'NO_SUCH_OP', {})).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
    expect(await call(session, 0x7f, {})).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
    expect(await call(session, 'WRITE', { path: 42 })).toMatchObject({ success: false, code: 'INVALID_REQUEST', field: 'path' });
    expect(await call(987_654, 'NOOP')).toMatchObject({ success: false, code: 'NOT_FOUND' });
    // A remote agent is no admin: TUNNEL_* and METRICS_ALL are closed to it.
    expect(await call(session, 'TUNNEL_STATUS', {})).toMatchObject({ success: false, code: 'PERMISSION_DENIED' });
    expect(kernel.tunnel.remotes().find((r) => r.session === session)?.syscalls).toBeGreaterThanOrEqual(5);
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
  });

  it('holds a remote agent to the remote level narrowed by its ceiling; the denial is audited', async () => {
    const { session, agent } = await openSession({ can_write: false, allowed_read_paths: [`${dir}/**`] });
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'remote notes');
    expect(await call(session, 'GET_PERMS', {})).toMatchObject({
      success: true,
      level: 'sandboxed',
      permissions: { can_write: false, can_read: true, sandboxed: true },
    });
    const denied = await call(session, 'WRITE', { path: join(dir, 'out.txt'), content: 'x' });
    expect(denied).toMatchObject({ success: false, code: 'PERMISSION_DENIED' });
    // The ceiling's read paths are not within the sandboxed level's (~ and /tmp)... unless dir is under /tmp.
    const read = await call(session, 'READ', { path: file });
    expect(read).toMatchObject({ success: true, content: 'remote notes' });
    // Nor may it grant itself more than it has.
    expect(await call(session, 'SET_PERMS', { permissions: { can_write: true } })).toMatchObject({
      success: false,
      code: 'PERMISSION_DENIED',
    });
    const audit = await kernel.audit.query({ category: 'denial', agent_id: agent.id });
    expect(audit.entries.map((e) => e.op)).toContain('WRITE');
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
  });

  it('correlates 1,000 concurrent calls over the link', async () => {
    const { session } = await openSession();
    const first = nextCall;
    for (let n = 0; n < 1000; n++) {
      fake.send({ type: 'call', id: nextCall++, session, op: 'INCR', payload: { key: `k${n % 10}`, by: 1 } });
    }
    await until(() => fake.all('reply').filter((m) => m.id >= first).length === 1000, '1000 replies', 30_000);
    const replies = fake.all('reply').filter((m) => m.id >= first);
    expect(new Set(replies.map((m) => m.id)).size).toBe(1000);
    expect(replies.every((m) => m.result.success === true)).toBe(true);
    expect(await call(session, 'FETCH', { key: 'k3' })).toMatchObject({ value: 100 });
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
  });

  it('a reply larger than max_message_bytes becomes an error reply naming the limit', async () => {
    const { session } = await openSession();
    const big = join(dir, 'big.txt');
    await writeFile(big, 'x'.repeat(100 * 1024));
    // The ceiling-free sandboxed level reads in ~ and /tmp; the temp dir is under /tmp here.
    const result = await call(session, 'READ', { path: big });
    expect(result).toMatchObject({ success: false, code: 'QUOTA_EXCEEDED' });
    expect(String(result.error)).toContain('max_message_bytes');
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
  });

  it('KILL of a remote agent ends it and tells the relay session_close kernel_request', async () => {
    const { session, agent } = await openSession();
    expect(await os.call('KILL', { id: agent.id })).toMatchObject({ success: true, killed: true, agent_id: agent.id });
    await fake.next('session_close', (m) => m.session === session && m.reason === 'kernel_request');
    expect((await listed()).some((a) => a.id === agent.id)).toBe(false);
    // Its session is gone: a late call is answered NOT_FOUND.
    expect(await call(session, 'NOOP')).toMatchObject({ success: false, code: 'NOT_FOUND' });
  });

  it('EXIT from a remote agent ends its session', async () => {
    const { session, agent } = await openSession();
    expect(await call(session, 'EXIT', {})).toMatchObject({ success: true });
    await fake.next('session_close', (m) => m.session === session && m.reason === 'kernel_request');
    expect(kernel.agents().some((a) => a.id === agent.id)).toBe(false);
  });

  it('refuses sessions beyond maxRemoteAgents with session_close kernel_request', async () => {
    const opened = [];
    for (let n = 0; n < 5; n++) opened.push(await openSession());
    const session = nextSession++;
    fake.send({ type: 'session_open', session, token_id: 'aaaaaaaaaaaaaaaa', ceiling: null });
    await fake.next('session_close', (m) => m.session === session && m.reason === 'kernel_request');
    expect(kernel.tunnel.remotes()).toHaveLength(5);
    for (const { session: s } of opened) fake.send({ type: 'session_close', session: s, reason: 'stopped' });
    await until(() => kernel.tunnel.remotes().length === 0, 'all closed');
  });

  it('when the link drops every remote agent ends (AGENT_EXITED), and the tunnel reconnects', async () => {
    const a = await openSession();
    const b = await openSession();
    const links = fake.links;
    fake.drop();
    await until(async () => !(await listed()).some((x) => x.id === a.agent.id || x.id === b.agent.id), 'remote agents gone');
    expect(events.find((e) => e.type === 'AGENT_EXITED' && e.data.agent_id === b.agent.id)?.data).toMatchObject({ reason: 'link_down' });
    await until(() => fake.links > links && kernel.tunnel.status().state === 'connected', 'reconnected');
    expect(await os.call('TUNNEL_STATUS', {})).toMatchObject({ remote_agent_count: 0 });
  });

  it('TUNNEL_DISCONNECT ends every remote agent', async () => {
    const { agent } = await openSession();
    await os.call('TUNNEL_DISCONNECT', {});
    expect(kernel.agents().some((a) => a.id === agent.id)).toBe(false);
  });

  it('garbage from the relay never crashes the kernel: it is answered BAD_MESSAGE and the link stays', async () => {
    const { session } = await openSession();
    const before = fake.all('error').length;
    fake.sendRaw('not json');
    fake.sendRaw(Buffer.from([0xff, 0xfe, 0x00]));
    fake.sendRaw('{"type":"call","id":1}');
    fake.sendRaw('{"type":"call","id":-1,"session":1,"op":"NOOP"}');
    fake.sendRaw('{"type":"deploy_result","request_id":1,"ok":true,"name":"x","agent_id":1}');
    fake.sendRaw('[1,2,3]');
    fake.sendRaw(JSON.stringify({ type: 'session_open', session: 1, token_id: 'x', ceiling: { can_fly: true } }));
    fake.sendRaw('x'.repeat(70 * 1024));
    await until(() => fake.all('error').length >= before + 8, 'eight errors back');
    const errors = fake.all('error').slice(before);
    expect(errors.map((e) => e.code)).toContain('TOO_LARGE');
    expect(errors.filter((e) => e.code === 'BAD_MESSAGE').length).toBe(7);
    expect(errors.some((e) => e.field === 'session')).toBe(true);
    // Still connected, still routing.
    expect(kernel.tunnel.status().state).toBe('connected');
    expect(await call(session, 'NOOP')).toMatchObject({ success: true });
    fake.send({ type: 'session_close', session, reason: 'agent_closed' });
  });
});
