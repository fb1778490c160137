/**
 * The fleet REST API over a real HTTP server on loopback, with a FleetHub made here on a
 * real TokenStore (temp SQLite file) and in-test machines, sessions and deploy/stop
 * behaviour: every route, the admin token, bad bodies naming the field, 404/405/413,
 * deploy outcomes (ok, MACHINE_OFFLINE, TIMEOUT) and revocation closing sessions. Log
 * lines are captured to check that neither a token nor a script reaches them.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFleetApi } from '../../src/relay/fleet/api.js';
import type { DeploymentView, DeploySpec, FleetHub, FleetOutcome, MachineView, SessionView } from '../../src/relay/fleet/hub.js';
import { type RelayServer, startRelay } from '../../src/relay/server/relay.js';
import { TokenStore } from '../../src/relay/tokens/store.js';
import { connectAgentPeer, connectKernelPeer } from '../cli/fleet-peer.js';

const ADMIN = 'admin-secret-for-tests';
const MAX_BODY = 4096;
const DEPLOY_TIMEOUT_MS = 100;

type Behaviour = 'ok' | 'refuse' | 'hang' | 'throw';

interface TestHub extends FleetHub {
  online: Set<string>;
  behaviour: Map<string, Behaviour>;
  sessionList: SessionView[];
  deploymentList: DeploymentView[];
  deployed: { machineId: string; spec: DeploySpec }[];
  stopped: { machineId: string; name: string }[];
  /** Makes an unexpected throw in a route. */
  brokenStatus: boolean;
}

function makeHub(tokens: TokenStore): TestHub {
  const known = new Map<string, { first_seen: number; last_seen: number; kernel_version: string | null }>([
    ['laptop-1', { first_seen: 1000, last_seen: 5000, kernel_version: '0.1.0' }],
    ['nas', { first_seen: 2000, last_seen: 6000, kernel_version: '0.1.0' }],
    ['old-box', { first_seen: 500, last_seen: 900, kernel_version: null }],
  ]);
  const view = (id: string): MachineView | undefined => {
    const seen = known.get(id);
    if (seen === undefined) return undefined;
    const online = hub.online.has(id);
    return {
      machine_id: id,
      online,
      ...seen,
      connected_since: online ? seen.last_seen : null,
      sessions: hub.sessionList.filter((s) => s.machine_id === id).length,
      deployments: hub.deploymentList.filter((d) => d.machine_id === id).length,
    };
  };
  let nextAgentId = 1042;
  const answer = async <T>(machineId: string, timeoutMs: number, result: () => T): Promise<FleetOutcome<T>> => {
    if (!hub.online.has(machineId)) return { ok: false, code: 'MACHINE_OFFLINE', error: `machine "${machineId}" is offline` };
    const behaviour = hub.behaviour.get(machineId) ?? 'ok';
    if (behaviour === 'hang') {
      await new Promise((done) => setTimeout(done, timeoutMs));
      return { ok: false, code: 'TIMEOUT', error: `no answer from "${machineId}" within ${timeoutMs} ms` };
    }
    if (behaviour === 'throw') throw new Error('link broke');
    if (behaviour === 'refuse') return { ok: false, code: 'CONFLICT', error: 'an agent of that name is running' };
    return { ok: true, ...result() };
  };
  const hub: TestHub = {
    tokens,
    online: new Set(['laptop-1', 'nas']),
    behaviour: new Map(),
    sessionList: [],
    deploymentList: [],
    deployed: [],
    stopped: [],
    brokenStatus: false,
    status() {
      if (hub.brokenStatus) throw new Error('status exploded');
      return {
        version: '9.9.9',
        uptime_ms: 1234,
        machines_online: hub.online.size,
        machines_known: known.size,
        sessions: hub.sessionList.length,
        deployments: hub.deploymentList.length,
        calls_forwarded: 7,
        calls_rate_limited: 1,
      };
    },
    machines: () => [...known.keys()].map((id) => view(id) as MachineView).sort((a, b) => Number(b.online) - Number(a.online)),
    machine: view,
    removeMachine(id) {
      if (!known.has(id)) return undefined;
      known.delete(id);
      const link_closed = hub.online.delete(id);
      let tokens_revoked = 0;
      for (const record of tokens.list())
        if (record.kind === 'machine' && record.machine_id === id && record.revoked_at === null && tokens.revoke(record.id) === 'revoked')
          tokens_revoked++;
      return { tokens_revoked, link_closed };
    },
    sessions: (machineId) => hub.sessionList.filter((s) => machineId === undefined || s.machine_id === machineId),
    deployments: (machineId) => hub.deploymentList.filter((d) => machineId === undefined || d.machine_id === machineId),
    onlineMachines: () => [...hub.online],
    deploy(machineId, spec, timeoutMs) {
      hub.deployed.push({ machineId, spec });
      return answer(machineId, timeoutMs, () => {
        const agent_id = nextAgentId++;
        hub.deploymentList.push({ machine_id: machineId, name: spec.name, agent_id, deployed_at: 7000 });
        return { agent_id };
      });
    },
    stop(machineId, name, timeoutMs) {
      hub.stopped.push({ machineId, name });
      return answer(machineId, timeoutMs, () => {
        hub.deploymentList = hub.deploymentList.filter((d) => !(d.machine_id === machineId && d.name === name));
        return {};
      });
    },
    revokeToken(id) {
      const before = hub.sessionList.length;
      const result = tokens.revoke(id);
      return { result, sessions_closed: before - hub.sessionList.length };
    },
  };
  // As the relay does: revocation closes the token's live sessions at once.
  tokens.onRevoke((id) => {
    hub.sessionList = hub.sessionList.filter((s) => s.token_id !== id);
  });
  return hub;
}

let dir: string;
let store: TokenStore;
let hub: TestHub;
let server: Server;
let base: string;
let logText: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aos-fleet-api-'));
  store = TokenStore.open(join(dir, 'relay.db'));
  hub = makeHub(store);
  logText = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logText += chunk.toString();
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const api = createFleetApi(hub, { adminToken: ADMIN, maxBodyBytes: MAX_BODY, version: '9.9.9', log, deployTimeoutMs: DEPLOY_TIMEOUT_MS });
  server = createServer(api);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  store.close();
  await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('fleet REST API: access', () => {
  it('answers /v1/health without a token', async () => {
    const reply = await call('GET', '/v1/health', undefined, null);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok', version: '9.9.9', uptime_ms: 1234 });
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('refuses every other route without the admin token, or with a wrong one', async () => {
    for (const [method, path] of [
      ['GET', '/v1/status'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens'],
      ['DELETE', '/v1/machines/nas'],
      ['GET', '/v1/nothing-here'],
      ['POST', '/v1/health'],
    ] as const) {
      const missing = await call(method, path, undefined, null);
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(missing.body.code).toBe('UNAUTHORIZED');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await call(method, path, undefined, `${ADMIN}x`);
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ code: 'UNAUTHORIZED', error: 'wrong admin token' });
    }
    const short = await call('GET', '/v1/status', undefined, 'a');
    expect(short.status).toBe(401);
    const res = await fetch(`${base}/v1/status`, { headers: { authorization: `Basic ${ADMIN}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/Bearer/);
    expect(hub.machines()).toHaveLength(3); // nothing was removed
  });

  it('answers 404 for an unknown path and 405 (with Allow) for a wrong method', async () => {
    const missing = await call('GET', '/v1/widgets');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    const root = await call('GET', '/');
    expect(root.status).toBe(404);
    const wrong = await call('PUT', '/v1/tokens');
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect((await call('POST', '/v1/machines/nas', {})).status).toBe(405);
    expect((await call('GET', '/v1/agents/crawler')).status).toBe(405);
  });

  it('turns an unexpected throw into 500 INTERNAL and a log line, and keeps serving', async () => {
    hub.brokenStatus = true;
    const reply = await call('GET', '/v1/status');
    expect(reply.status).toBe(500);
    expect(reply.body).toEqual({ code: 'INTERNAL', error: 'internal error (see the relay log)' });
    expect(logText).toContain('status exploded');
    hub.brokenStatus = false;
    expect((await call('GET', '/v1/status')).status).toBe(200);
  });

  it('refuses unknown query parameters naming them', async () => {
    const reply = await call('GET', '/v1/agents?machines=nas');
    expect(reply.status).toBe(400);
    expect(reply.body.field).toBe('machines');
    const bad = await call('GET', '/v1/agents?machine=../etc');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('machine');
  });
});

describe('fleet REST API: bodies', () => {
  it('refuses a body that is not JSON, empty, or not UTF-8', async () => {
    const notJson = await call('POST', '/v1/tokens', '{"kind":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('BAD_REQUEST');
    expect(notJson.body.error).toMatch(/JSON/);
    const empty = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(empty.status).toBe(400);
    const binary = await fetch(`${base}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    });
    expect(binary.status).toBe(400);
    expect(((await binary.json()) as { error: string }).error).toMatch(/UTF-8/);
  });

  it('answers 413 from Content-Length before reading the body', async () => {
    const reply = await call('POST', '/v1/tokens', { kind: 'agent', machines: '*', label: 'x'.repeat(MAX_BODY) });
    expect(reply.status).toBe(413);
    expect(reply.body.code).toBe('TOO_LARGE');
    expect(store.list()).toHaveLength(0);
  });

  it('answers 413 as soon as a chunked body passes the cap, without waiting for its end', async () => {
    const { port } = server.address() as AddressInfo;
    const outcome = await new Promise<{ status: number; body: string }>((done, failed) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/agents',
          headers: { authorization: `Bearer ${ADMIN}`, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', failed);
      // Past the cap, and never ended: only an answer at the cap can finish this.
      req.write('x'.repeat(MAX_BODY + 1024));
    });
    expect(outcome.status).toBe(413);
    expect(JSON.parse(outcome.body).code).toBe('TOO_LARGE');
    expect(hub.deployed).toHaveLength(0);
  });
});

describe('fleet REST API: tokens', () => {
  it('creates machine and agent tokens, shows the secret once, lists without secrets', async () => {
    const before = Date.now();
    const machine = await call('POST', '/v1/tokens', { kind: 'machine', machine_id: 'laptop-1', label: 'my laptop', expires_in_s: 3600 });
    expect(machine.status).toBe(201);
    expect(machine.body).toMatchObject({ kind: 'machine', machine_id: 'laptop-1', label: 'my laptop', machines: null, revoked_at: null });
    expect(machine.body.token).toMatch(/^aos_machine_[0-9a-f]{16}_/);
    expect(machine.body.expires_at as number).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(machine.body.expires_at as number).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(store.verify(machine.body.token, { kind: 'machine', machine_id: 'laptop-1' }).ok).toBe(true);

    const agent = await call('POST', '/v1/tokens', {
      kind: 'agent',
      machines: ['laptop-1', 'nas'],
      ceiling: { can_read: true, can_write: false },
    });
    expect(agent.status).toBe(201);
    expect(agent.body).toMatchObject({
      kind: 'agent',
      machines: ['laptop-1', 'nas'],
      ceiling: { can_read: true, can_write: false },
      expires_at: null,
    });

    const list = await call('GET', '/v1/tokens');
    expect(list.status).toBe(200);
    const tokens = list.body.tokens as Record<string, unknown>[];
    expect(tokens.map((t) => t.id)).toEqual([machine.body.id, agent.body.id]);
    expect(JSON.stringify(list.body)).not.toContain('aos_');
    expect(logText).not.toContain(machine.body.token as string);
    expect(logText).not.toContain(agent.body.token as string);
  });

  it('refuses a bad token request naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ kind: 'robot' }, 'kind'],
      [{ kind: 'machine' }, 'machine_id'],
      [{ kind: 'machine', machine_id: 'a', machines: ['b'] }, 'machines'],
      [{ kind: 'agent' }, 'machines'],
      [{ kind: 'agent', machines: '*', ceiling: { can_fly: true } }, 'ceiling'],
      [{ kind: 'agent', machines: '*', expires_in_s: -5 }, 'expires_in_s'],
      [{ kind: 'agent', machines: '*', expires_in_s: 10, expires_at: 5 }, 'expires_in_s'],
      [{ kind: 'agent', machines: '*', colour: 'red' }, ''],
      [[1, 2], ''],
    ];
    for (const [body, field] of cases) {
      const reply = await call('POST', '/v1/tokens', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.code).toBe('BAD_REQUEST');
      if (field) expect(reply.body.field, JSON.stringify(body)).toBe(field);
      expect(reply.body.error as string).toMatch(/token request/);
    }
    const extra = await call('POST', '/v1/tokens', { kind: 'agent', machines: '*', colour: 'red' });
    expect(extra.body.error).toMatch(/colour/);
    expect(store.list()).toHaveLength(0);
  });

  it('revokes a token, closing its sessions; again is 409, unknown 404, malformed 400', async () => {
    const agent = await call('POST', '/v1/tokens', { kind: 'agent', machines: '*' });
    const id = agent.body.id as string;
    hub.sessionList.push(
      { session: 1, machine_id: 'laptop-1', name: 'a', token_id: id, connected_since: 1, calls: 0, in_flight: 0 },
      { session: 2, machine_id: 'nas', name: null, token_id: id, connected_since: 2, calls: 3, in_flight: 1 },
      { session: 3, machine_id: 'nas', name: 'other', token_id: 'ffffffffffffffff', connected_since: 3, calls: 0, in_flight: 0 },
    );
    const revoked = await call('DELETE', `/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id, revoked: true, sessions_closed: 2 });
    expect(hub.sessionList.map((s) => s.session)).toEqual([3]);
    expect(store.verify(agent.body.token, { kind: 'agent', machine_id: 'nas' })).toEqual({ ok: false, reason: 'revoked' });

    const again = await call('DELETE', `/v1/tokens/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    const unknown = await call('DELETE', '/v1/tokens/0123456789abcdef');
    expect(unknown.status).toBe(404);
    const malformed = await call('DELETE', '/v1/tokens/not-an-id');
    expect(malformed.status).toBe(400);
    expect(malformed.body.field).toBe('id');
  });
});

describe('fleet REST API: machines and status', () => {
  it('answers status, the machine list, one machine with its sessions and deployments', async () => {
    hub.sessionList.push({
      session: 4,
      machine_id: 'nas',
      name: 'p',
      token_id: 'ffffffffffffffff',
      connected_since: 10,
      calls: 2,
      in_flight: 0,
    });
    hub.deploymentList.push({ machine_id: 'nas', name: 'crawler', agent_id: 77, deployed_at: 20 });
    const status = await call('GET', '/v1/status');
    expect(status.body).toEqual({
      version: '9.9.9',
      uptime_ms: 1234,
      machines_online: 2,
      machines_known: 3,
      sessions: 1,
      deployments: 1,
      calls_forwarded: 7,
      calls_rate_limited: 1,
    });
    const list = await call('GET', '/v1/machines');
    const machines = list.body.machines as MachineView[];
    expect(machines.map((m) => [m.machine_id, m.online])).toEqual([
      ['laptop-1', true],
      ['nas', true],
      ['old-box', false],
    ]);
    const nas = await call('GET', '/v1/machines/nas');
    expect(nas.status).toBe(200);
    expect(nas.body).toEqual({
      machine: {
        machine_id: 'nas',
        online: true,
        kernel_version: '0.1.0',
        first_seen: 2000,
        last_seen: 6000,
        connected_since: 6000,
        sessions: 1,
        deployments: 1,
      },
      sessions: [hub.sessionList[0]],
      deployments: [hub.deploymentList[0]],
    });
    const unknown = await call('GET', '/v1/machines/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/nowhere/);
  });

  it('removes a machine: its machine tokens revoked, its link closed', async () => {
    await call('POST', '/v1/tokens', { kind: 'machine', machine_id: 'nas' });
    await call('POST', '/v1/tokens', { kind: 'machine', machine_id: 'nas' });
    await call('POST', '/v1/tokens', { kind: 'machine', machine_id: 'laptop-1' });
    const removed = await call('DELETE', '/v1/machines/nas');
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ machine_id: 'nas', removed: true, tokens_revoked: 2, link_closed: true });
    expect((await call('GET', '/v1/machines/nas')).status).toBe(404);
    expect((await call('DELETE', '/v1/machines/nas')).status).toBe(404);
    const offline = await call('DELETE', '/v1/machines/old-box');
    expect(offline.body).toEqual({ machine_id: 'old-box', removed: true, tokens_revoked: 0, link_closed: false });
  });
});

describe('fleet REST API: agents', () => {
  const script = "print('the secret sauce')";

  it('deploys to one machine and lists it with the live sessions', async () => {
    hub.sessionList.push({
      session: 5,
      machine_id: 'laptop-1',
      name: 'planner',
      token_id: 'ffffffffffffffff',
      connected_since: 30,
      calls: 0,
      in_flight: 0,
    });
    const reply = await call('POST', '/v1/agents', {
      name: 'crawler',
      script,
      filename: 'crawler.py',
      args: ['--fast'],
      env: { A: '1' },
      ceiling: { can_network: true, allowed_domains: ['example.com'] },
      machine_id: 'nas',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ results: [{ machine_id: 'nas', ok: true, agent_id: 1042 }] });
    expect(hub.deployed).toEqual([
      {
        machineId: 'nas',
        spec: {
          name: 'crawler',
          script,
          filename: 'crawler.py',
          args: ['--fast'],
          env: { A: '1' },
          ceiling: { can_network: true, allowed_domains: ['example.com'] },
        },
      },
    ]);
    const agents = await call('GET', '/v1/agents');
    expect(agents.body.agents).toEqual([
      { kind: 'session', machine_id: 'laptop-1', name: 'planner', session: 5, since: 30 },
      { kind: 'deployed', machine_id: 'nas', name: 'crawler', agent_id: 1042, since: 7000 },
    ]);
    const onNas = await call('GET', '/v1/agents?machine=nas');
    expect((onNas.body.agents as unknown[]).length).toBe(1);
    expect(logText).not.toContain('secret sauce');
  });

  it('deploys to several machines in parallel with one outcome each: ok, MACHINE_OFFLINE, TIMEOUT, refused, failed', async () => {
    hub.online.add('slow');
    hub.online.add('grumpy');
    hub.online.add('broken');
    hub.behaviour.set('slow', 'hang');
    hub.behaviour.set('grumpy', 'refuse');
    hub.behaviour.set('broken', 'throw');
    const reply = await call('POST', '/v1/agents', {
      name: 'crawler',
      script,
      machines: ['nas', 'old-box', 'slow', 'grumpy', 'broken', 'nas'],
    });
    expect(reply.status).toBe(200);
    expect(reply.body.results).toEqual([
      { machine_id: 'nas', ok: true, agent_id: 1042 },
      { machine_id: 'old-box', ok: false, code: 'MACHINE_OFFLINE', error: 'machine "old-box" is offline' },
      { machine_id: 'slow', ok: false, code: 'TIMEOUT', error: `no answer from "slow" within ${DEPLOY_TIMEOUT_MS} ms` },
      { machine_id: 'grumpy', ok: false, code: 'CONFLICT', error: 'an agent of that name is running' },
      { machine_id: 'broken', ok: false, code: 'INTERNAL', error: 'internal error (see the relay log)' },
    ]);
    expect(logText).toContain('link broke');
  });

  it('deploys to every online machine with all: true', async () => {
    const reply = await call('POST', '/v1/agents', { name: 'crawler', script, all: true });
    expect((reply.body.results as { machine_id: string }[]).map((r) => r.machine_id).sort()).toEqual(['laptop-1', 'nas']);
  });

  it('refuses a bad deploy naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ script, machine_id: 'nas' }, 'name'],
      [{ name: 'c', script: '', machine_id: 'nas' }, 'script'],
      [{ name: 'c', script }, 'machine_id'],
      [{ name: 'c', script, machine_id: 'nas', all: true }, 'all'],
      [{ name: 'c', script, machine_id: 'nas', machines: ['nas'] }, 'machines'],
      [{ name: 'c', script, machines: [] }, 'machines'],
      [{ name: 'c', script, all: false }, 'all'],
      [{ name: 'c', script, machine_id: 'nas', filename: '../x.py' }, 'filename'],
      [{ name: 'c', script, machine_id: 'nas', ceiling: { can_fly: true } }, 'ceiling'],
      [{ name: 'c', script, machine_id: 'nas', request_id: 3 }, ''],
      [{ name: '../c', script, machine_id: 'nas' }, 'name'],
    ];
    for (const [body, field] of cases) {
      const reply = await call('POST', '/v1/agents', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.code).toBe('BAD_REQUEST');
      if (field) expect(reply.body.field, JSON.stringify(body)).toBe(field);
    }
    expect(hub.deployed).toHaveLength(0);
  });

  it('stops an agent where it runs, or on the machine named; 404 when it runs nowhere', async () => {
    await call('POST', '/v1/agents', { name: 'crawler', script, machines: ['nas', 'laptop-1'] });
    const one = await call('DELETE', '/v1/agents/crawler?machine=nas');
    expect(one.body).toEqual({ results: [{ machine_id: 'nas', ok: true }] });
    const rest = await call('DELETE', '/v1/agents/crawler');
    expect(rest.body).toEqual({ results: [{ machine_id: 'laptop-1', ok: true }] });
    expect(hub.stopped).toEqual([
      { machineId: 'nas', name: 'crawler' },
      { machineId: 'laptop-1', name: 'crawler' },
    ]);
    const none = await call('DELETE', '/v1/agents/crawler');
    expect(none.status).toBe(404);
    const offline = await call('DELETE', '/v1/agents/crawler?machine=old-box');
    expect(offline.body).toEqual({
      results: [{ machine_id: 'old-box', ok: false, code: 'MACHINE_OFFLINE', error: 'machine "old-box" is offline' }],
    });
    const badName = await call('DELETE', '/v1/agents/bad%20name');
    expect(badName.status).toBe(400);
    expect(badName.body.field).toBe('name');
  });
});

describe('fleet REST API on the real relay', () => {
  let relay: RelayServer;
  let relayDir: string;
  let admin: string;
  const peers: { close(): Promise<unknown> }[] = [];

  beforeEach(async () => {
    relayDir = await mkdtemp(join(tmpdir(), 'aos-fleet-relay-'));
    relay = await startRelay({ port: 0, dataDir: relayDir, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) });
    admin = (await readFile(relay.adminTokenFile, 'utf8')).trim();
  });

  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await relay.close();
    await rm(relayDir, { recursive: true, force: true });
  });

  const rest = async (method: string, path: string, body?: unknown, token: string | null = admin) => {
    const res = await fetch(`${relay.httpUrl}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('creates tokens, sees a kernel online, deploys and stops through it, revokes closing sessions', async () => {
    expect((await rest('GET', '/v1/health', undefined, null)).body.status).toBe('ok');
    expect((await rest('GET', '/v1/machines', undefined, 'wrong')).status).toBe(401);

    const machineToken = await rest('POST', '/v1/tokens', { kind: 'machine', machine_id: 'laptop-1', label: 'test kernel' });
    expect(machineToken.status).toBe(201);
    const kernel = await connectKernelPeer(relay.url, 'laptop-1', machineToken.body.token as string);
    peers.push(kernel);

    const machines = await rest('GET', '/v1/machines');
    expect(machines.body.machines).toEqual([
      expect.objectContaining({ machine_id: 'laptop-1', online: true, kernel_version: '0.1.0-test' }),
    ]);

    const deployed = await rest('POST', '/v1/agents', {
      name: 'crawler',
      script: "print('hi')",
      filename: 'crawler.py',
      machine_id: 'laptop-1',
    });
    expect(deployed.body).toEqual({ results: [{ machine_id: 'laptop-1', ok: true, agent_id: 5000 }] });
    expect(kernel.received[0]).toMatchObject({ type: 'deploy', name: 'crawler', script: "print('hi')", filename: 'crawler.py' });
    kernel.refuse.add('twice');
    const refused = await rest('POST', '/v1/agents', { name: 'twice', script: 'x', machines: ['laptop-1', 'nowhere'] });
    expect(refused.body.results).toEqual([
      { machine_id: 'laptop-1', ok: false, code: 'CONFLICT', error: 'an agent named "twice" is running' },
      expect.objectContaining({ machine_id: 'nowhere', ok: false, code: 'MACHINE_OFFLINE' }),
    ]);

    const agentToken = await rest('POST', '/v1/tokens', { kind: 'agent', machines: ['laptop-1'], expires_in_s: 3600 });
    const agent = await connectAgentPeer(relay.url, 'laptop-1', agentToken.body.token as string, 'planner');
    peers.push(agent);
    const agents = await rest('GET', '/v1/agents?machine=laptop-1');
    expect(agents.body.agents).toEqual([
      expect.objectContaining({ kind: 'session', machine_id: 'laptop-1', name: 'planner', session: agent.session }),
      expect.objectContaining({ kind: 'deployed', machine_id: 'laptop-1', name: 'crawler', agent_id: 5000 }),
    ]);

    const stopped = await rest('DELETE', '/v1/agents/crawler');
    expect(stopped.body).toEqual({ results: [{ machine_id: 'laptop-1', ok: true }] });
    expect(kernel.received.at(-1)).toMatchObject({ type: 'stop', name: 'crawler' });

    const revoked = await rest('DELETE', `/v1/tokens/${agentToken.body.id}`);
    expect(revoked.body).toEqual({ id: agentToken.body.id, revoked: true, sessions_closed: 1 });
    await agent.closed;
    expect((await rest('DELETE', `/v1/tokens/${agentToken.body.id}`)).status).toBe(409);

    const status = await rest('GET', '/v1/status');
    expect(status.body).toMatchObject({ machines_online: 1, machines_known: 1, sessions: 0 });
    const tokens = (await rest('GET', '/v1/tokens')).body.tokens as { id: string; revoked_at: number | null }[];
    expect(tokens.map((t) => [t.id, t.revoked_at !== null])).toEqual([
      [machineToken.body.id, false],
      [agentToken.body.id, true],
    ]);
  });
});
