/**
 * End to end with real processes: `agentos relay` and `agentos kernel --relay ...` as child
 * processes, tokens through the relay's REST API, remote agents through RemoteAgentClient.
 * The relay's agent limits are raised (its --config YAML) for the 1,000-call test; rate
 * limiting itself is in e2e-links.test.ts, against the default limits.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayLinkState } from '../../src/sdk/relay-transport.js';
import { rejection } from '../agents/support.js';
import {
  agentToken,
  eventually,
  type KernelProcess,
  type RelayProcess,
  remoteAgent,
  startKernelProcess,
  startRelayProcess,
  stopAll,
  tempDir,
} from './support.js';

const MACHINE = 'e2e-laptop';

let relay: RelayProcess;
let kernel: KernelProcess;

beforeAll(async () => {
  relay = await startRelayProcess({ limits: { agent_calls_per_second: 20_000, agent_burst: 20_000, agent_max_in_flight: 2_000 } });
  kernel = await startKernelProcess({ relay, machineId: MACHINE });
}, 120_000);

afterAll(async () => {
  await stopAll();
}, 60_000);

describe('a remote agent through the relay', () => {
  it('makes syscalls on the kernel: STORE/FETCH, WRITE then READ in a temp dir, as a remote agent of its own', async () => {
    const { token } = await agentToken(relay, [MACHINE]);
    const agent = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-worker' });
    expect(agent.state).toBe('connected');
    expect(agent.agentId).toBeGreaterThanOrEqual(1_000_000_000);

    await agent.store('plan', { steps: 3 });
    expect(await agent.fetch('plan')).toMatchObject({ exists: true, value: { steps: 3 } });

    const dir = await tempDir('files');
    const path = join(dir, 'notes.txt');
    await agent.write({ path, content: 'written from afar' });
    expect((await agent.read(path)).content).toBe('written from afar');
    expect(await readFile(path, 'utf8')).toBe('written from afar');

    // The kernel sees it: a remote agent in LIST and in TUNNEL_LIST_REMOTES.
    const admin = await kernel.admin();
    const { remotes } = await admin.tunnelRemotes();
    expect(remotes).toContainEqual(expect.objectContaining({ agent_id: agent.agentId, name: 'e2e-worker', session: agent.session }));
  });

  it('gets NOOP and LIST back as a local client does (the kernel wraps replies that are not objects)', async () => {
    const { token } = await agentToken(relay, [MACHINE]);
    const agent = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-lister' });
    expect((await agent.noop('echo me')).toString()).toBe('echo me');
    const agents = await agent.list();
    expect(Array.isArray(agents)).toBe(true);
    expect(agents).toContainEqual(expect.objectContaining({ id: agent.agentId, kind: 'remote', name: 'e2e-lister' }));
  });

  it('correlates 1,000 concurrent calls from one agent', async () => {
    const { token } = await agentToken(relay, [MACHINE]);
    const agent = await remoteAgent(relay, { token, machineId: MACHINE });
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => agent.incr(`n${i}`, { by: i })));
    expect(replies.map((reply) => [reply.key, reply.value])).toEqual(Array.from({ length: 1000 }, (_, i) => [`n${i}`, i]));
  });

  it('cannot exceed its ceiling: PERMISSION_DENIED, and the denial is in the audit log', async () => {
    const { token } = await agentToken(relay, [MACHINE], { ceiling: { can_write: false } });
    const agent = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-readonly' });
    expect(agent.ceiling).toEqual({ can_write: false });
    const dir = await tempDir('denied');
    await mkdir(dir, { recursive: true });
    const denied = await rejection(agent.write({ path: join(dir, 'nope.txt'), content: 'x' }));
    expect(denied.code).toBe('PERMISSION_DENIED');
    // Reading is still within both the kernel's remote level and the ceiling.
    expect(await agent.fetch('nothing-here')).toMatchObject({ exists: false });

    const admin = await kernel.admin();
    const entry = await eventually(async () => {
      const { entries } = await admin.auditLog({ category: 'denial', agent_id: agent.agentId, limit: 100 });
      return entries.find((e) => e.op === 'WRITE');
    }, 'the WRITE denial in the audit log');
    expect(entry.agent_id).toBe(agent.agentId);
  });

  it('cannot lift its ceiling with the kernel admin token in HELLO: refused, still capped', async () => {
    const { token } = await agentToken(relay, [MACHINE], { ceiling: { can_write: false } });
    const agent = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-climber' });
    const adminToken = (await readFile(join(kernel.dataDir, 'admin.token'), 'utf8')).trim();
    const refused = await rejection(agent.hello({ token: adminToken }));
    expect(refused.code).toBe('PERMISSION_DENIED');
    const dir = await tempDir('climb');
    await mkdir(dir, { recursive: true });
    expect((await rejection(agent.write({ path: join(dir, 'x.txt'), content: 'x' }))).code).toBe('PERMISSION_DENIED');
    const admin = await kernel.admin();
    const me = (await admin.list()).find((entry) => entry.id === agent.agentId);
    expect(me).toMatchObject({ kind: 'remote' });
  });
});

describe('refused agents', () => {
  it('refuses a bad token with AUTH_FAILED', async () => {
    const error = await rejection(remoteAgent(relay, { token: 'aos_agent_0123456789abcdef_notarealsecretatall', machineId: MACHINE }));
    expect(error.code).toBe('AUTH_FAILED');
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const { token } = await agentToken(relay, [MACHINE], { expires_at: Date.now() - 1000 });
    const error = await rejection(remoteAgent(relay, { token, machineId: MACHINE }));
    expect(error.code).toBe('TOKEN_EXPIRED');
  });

  it('refuses a token not scoped to the machine with FORBIDDEN', async () => {
    const { token } = await agentToken(relay, ['another-machine']);
    const error = await rejection(remoteAgent(relay, { token, machineId: MACHINE }));
    expect(error.code).toBe('FORBIDDEN');
  });

  it('closes a live session when its token is revoked through REST, and the client does not come back', async () => {
    const { id, token } = await agentToken(relay, [MACHINE]);
    const states: RelayLinkState[] = [];
    const agent = await remoteAgent(relay, { token, machineId: MACHINE, onStateChange: (state) => states.push(state) });
    await agent.store('alive', true);
    const agentId = agent.agentId;

    const revoked = await relay.rest('DELETE', `/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, revoked: true, sessions_closed: 1 });

    await eventually(async () => agent.state === 'closed', 'the client to close');
    expect((await rejection(agent.fetch('alive'))).code).toBe('TOKEN_REVOKED');
    expect(states).not.toContain('connected');
    // The kernel ended the remote agent with its session.
    const admin = await kernel.admin();
    await eventually(async () => !(await admin.tunnelRemotes()).remotes.some((r) => r.agent_id === agentId), 'the remote agent to end');
  });
});

describe('the fleet REST API', () => {
  it('refuses requests without the admin token (401), and answers with it', async () => {
    for (const [method, path] of [
      ['GET', '/v1/status'],
      ['GET', '/v1/machines'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens'],
    ] as const) {
      const anonymous = await relay.rest(method, path, method === 'POST' ? { kind: 'agent', machines: '*' } : undefined, null);
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      expect(anonymous.body).toMatchObject({ code: 'UNAUTHORIZED' });
      const wrong = await relay.rest(method, path, undefined, 'not-the-admin-token');
      expect(wrong.status, `${method} ${path} with a wrong token`).toBe(401);
    }
    expect((await relay.rest('GET', '/v1/health', undefined, null)).status).toBe(200);
    const machines = await relay.rest('GET', '/v1/machines');
    expect(machines.status).toBe(200);
    expect(machines.body.machines).toContainEqual(expect.objectContaining({ machine_id: MACHINE, online: true }));
  });
});
