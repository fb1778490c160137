/**
 * Fleet commands over the tunnel: `deploy` writes the script under the kernel's data
 * directory and spawns it as a sandboxed process agent, child of the tunnel's own agent
 * `relay`; `stop` kills only what the relay deployed. The test plays the relay.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REMOTE_ID_BASE } from '../../src/agents/registry.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { FakeRelay } from './fake-relay.js';

let kernel: TestKernel;
let fake: FakeRelay;
let os: AgentOSClient;
let requestId = 1;

beforeAll(async () => {
  // Sandboxed agents need bubblewrap; where it is missing they run with degraded isolation instead of being refused.
  kernel = await startTestKernel({ allowDegradedIsolation: true, tunnel: { remoteLevel: 'sandboxed' } });
  fake = await FakeRelay.start();
  os = await connect(kernel, adminToken(kernel));
  await os.call('TUNNEL_CONNECT', { relay_url: fake.url, machine_id: 'laptop-1', token: 'aos_machine_x_y' });
});

afterAll(async () => {
  await os?.close().catch(() => {});
  await kernel?.cleanup();
  await fake?.close();
});

const SCRIPT = "setInterval(() => {}, 1000); process.stdout.write('deployed and running\\n');\n";

function deploy(name: string, extra: Record<string, unknown> = {}) {
  const request_id = requestId++;
  fake.send({ type: 'deploy', request_id, name, script: SCRIPT, filename: `${name}.js`, ...extra });
  return fake.next('deploy_result', (m) => m.request_id === request_id, 20_000);
}

function stop(name: string) {
  const request_id = requestId++;
  fake.send({ type: 'stop', request_id, name });
  return fake.next('stop_result', (m) => m.request_id === request_id, 20_000);
}

async function listed(): Promise<{ id: number; kind: string; name: string | null; parent_id: number | null }[]> {
  return (await os.call('LIST', {})) as { id: number; kind: string; name: string | null; parent_id: number | null }[];
}

describe('deploy and stop', () => {
  it('deploys a small .js script: deploy_result ok with its agent id, in LIST by name under the relay agent', async () => {
    const result = await deploy('crawler', { args: ['--fast'], env: { MODE: 'test' }, ceiling: { can_network: false } });
    expect(result, JSON.stringify(result)).toMatchObject({ ok: true, name: 'crawler' });
    if (!result.ok) throw new Error(result.error);
    const agents = await listed();
    const agent = agents.find((a) => a.id === result.agent_id);
    expect(agent).toMatchObject({ kind: 'process', name: 'crawler' });
    const relayAgent = agents.find((a) => a.id === agent?.parent_id);
    expect(relayAgent).toMatchObject({ kind: 'remote', name: 'relay' });
    expect(relayAgent?.id).toBeGreaterThanOrEqual(REMOTE_ID_BASE);
    // Beside the data directory: a sandbox covers the data directory, so the agent could not read its script there.
    const script = await readFile(join(dirname(kernel.options.dataDir), 'deployed', 'crawler', 'crawler.js'), 'utf8');
    expect(script).toBe(SCRIPT);
    const perms = (await os.call('GET_PERMS', { agent_id: result.agent_id })) as { level: string; permissions: Record<string, unknown> };
    expect(perms).toMatchObject({ level: 'sandboxed', permissions: { sandboxed: true, can_network: false, can_spawn: false } });
    const logs = await until(async () => {
      const got = (await os.call('LOGS', { id: result.agent_id })) as { lines: { text: string }[] };
      return got.lines.some((line) => line.text.includes('deployed and running')) && got;
    }, 'the script ran');
    expect(logs).toBeTruthy();
  });

  it('a name in use is CONFLICT, and the running script is left alone', async () => {
    const result = await deploy('crawler');
    expect(result).toMatchObject({ ok: false, code: 'CONFLICT' });
    const busy = await deploy('relay');
    expect(busy).toMatchObject({ ok: false, code: 'CONFLICT' });
  });

  it('a SPAWN refusal comes back with the kernel message', async () => {
    // Refused by SPAWN itself. (A missing absolute interpreter is not: bwrap starts, and the
    // agent fails later, as a crash its restart policy handles.)
    const result = await deploy('broken', { interpreter: 'cobol' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('INTERNAL');
    expect(result.error).toContain('unknown interpreter "cobol"');
    expect(result.error.length).toBeGreaterThan(10);
    expect((await listed()).some((a) => a.name === 'broken')).toBe(false);
  });

  it('stop kills a deployed agent: stop_result ok and it is gone', async () => {
    const id = (await listed()).find((a) => a.name === 'crawler')?.id;
    expect(await stop('crawler')).toEqual({ type: 'stop_result', request_id: requestId - 1, ok: true, name: 'crawler' });
    await until(async () => !(await listed()).some((a) => a.id === id), 'crawler gone');
  });

  it('stop of an unknown name, or of an agent the relay did not deploy, is NOT_FOUND', async () => {
    expect(await stop('nobody')).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // A local agent with a name: the relay may not stop it.
    const local = await connect(kernel);
    await local.call('REGISTER', { name: 'local-agent' });
    expect(await stop('local-agent')).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect((await listed()).some((a) => a.name === 'local-agent')).toBe(true);
    await local.close();
    expect(await stop('relay')).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('a stopped agent is answered by stop_result alone; one that ends by itself is reported as deployment_ended', async () => {
    // crawler was stopped above: no deployment_ended for it.
    expect(fake.all('deployment_ended').some((m) => m.name === 'crawler')).toBe(false);
    const result = await deploy('one-shot', { script: "process.stdout.write('done\\n');\n" });
    if (!result.ok) throw new Error(result.error);
    const ended = await fake.next('deployment_ended', (m) => m.name === 'one-shot', 20_000);
    expect(ended).toEqual({ type: 'deployment_ended', name: 'one-shot', agent_id: result.agent_id });
  });

  it('reports the deployed agents it runs on every authentication', async () => {
    const result = await deploy('keeper');
    if (!result.ok) throw new Error(result.error);
    // The first report came with TUNNEL_CONNECT, before anything was deployed.
    expect(fake.all('deployments')[0]).toEqual({ type: 'deployments', agents: [] });
    fake.received.length = 0;
    fake.drop();
    const report = await fake.next('deployments', () => true, 20_000);
    expect(report.agents).toEqual([{ name: 'keeper', agent_id: result.agent_id }]);
    expect(await stop('keeper')).toMatchObject({ ok: true });
  });
});
