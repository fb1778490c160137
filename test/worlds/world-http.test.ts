/**
 * HTTP of a world's member against a real kernel: a mock answers with its status and body
 * after its latency; a mock with fail_rate 1 fails as a network would; a host neither
 * mocked nor allowed is PERMISSION_DENIED naming the world; an allowed host passes through
 * to a real server on loopback; a partition cuts calls off until heal; after WORLD_LEAVE
 * the same URL takes the real path again; DOWNLOAD goes through the world as well.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../../src/protocol/schemas/network.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';
import { Denials, networkAgent, startNetworkKernel, startServer, type TestServer } from '../network/support.js';

let kernel: TestKernel;
let agent: AgentOSClient;
let server: TestServer;
let worldId: string;

const MOCK_LATENCY = 120;

beforeAll(async () => {
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('real answer');
  });
  kernel = await startNetworkKernel({}, { defaultLevel: 'unrestricted' });
  agent = await networkAgent(kernel, { allowed_domains: ['127.0.0.1'] }, 'world-http');
  const created = (await agent.call('WORLD_CREATE', {
    config: {
      name: 'http-world',
      network: {
        allowed_hosts: ['127.0.0.1'],
        base_latency_ms: 5,
        mocks: [
          { pattern: 'GET api.test/users', status: 201, response: { users: ['ada'] }, latency_ms: MOCK_LATENCY },
          { pattern: 'GET api.test/text', response: 'hello from the mock' },
          { pattern: '* flaky.test', fail_rate: 1, latency_ms: 10 },
        ],
      },
    },
  })) as { world_id: string };
  worldId = created.world_id;
});

afterAll(async () => {
  await agent?.close();
  await kernel?.cleanup();
  await server?.close();
});

const http = (request: Record<string, unknown>) => agent.call('HTTP', request) as Promise<HttpResult & { success: true }>;

describe('HTTP inside a world', () => {
  it('routes through the world while a member, and takes the real path again after WORLD_LEAVE', async () => {
    await agent.call('WORLD_JOIN', { world_id: worldId });

    // A mock: its status, its body as JSON, the shape of a real reply, after its latency.
    const mocked = await http({ url: 'http://api.test/users' });
    expect(mocked).toMatchObject({
      success: true,
      status_code: 201,
      status_text: 'Created',
      headers: { 'content-type': 'application/json' },
      body_encoding: 'utf8',
      truncated: false,
      url: 'http://api.test/users',
      redirects: 0,
    });
    expect(JSON.parse(mocked.body)).toEqual({ users: ['ada'] });
    expect(mocked.duration_ms).toBeGreaterThanOrEqual(MOCK_LATENCY - 1);

    // max_body cuts a mock's body as it would a real one.
    const cut = await http({ url: 'http://api.test/text', max_body: 5 });
    expect(cut).toMatchObject({ body: 'hello', truncated: true });

    // A failing mock: UNAVAILABLE, naming the world.
    const flaky = await failure(http({ url: 'http://flaky.test/anything', method: 'POST', body: 'x' }), 'UNAVAILABLE');
    expect(flaky.message).toContain('http-world');

    // Neither mocked nor allowed: PERMISSION_DENIED naming the world and the host, audited as a block.
    const denials = new Denials(kernel);
    const denied = await failure(http({ url: 'http://elsewhere.test/' }), 'PERMISSION_DENIED');
    expect(denied.message).toContain('world "http-world"');
    expect(denied.message).toContain('elsewhere.test');
    expect(denials.of(agent.agentId as number)).toHaveLength(1);
    denials.stop();

    // An allowed host passes through to the real server (the agent's allowed_domains apply).
    const before = server.seen.length;
    const real = await http({ url: `${server.origin}/through` });
    expect(real).toMatchObject({ status_code: 200, body: 'real answer' });
    expect(server.seen.length).toBe(before + 1);

    // A malformed URL is INVALID_REQUEST as it is outside a world.
    await failure(http({ url: 'not a url' }), 'INVALID_REQUEST');

    // DOWNLOAD goes through the world too (world-download.test.ts): this world has no mounts, so its path does not exist.
    const download = await failure(agent.call('DOWNLOAD', { url: 'http://api.test/users', path: 'users.json' }), 'PERMISSION_DENIED');
    expect(download.message).toContain('outside every mount');

    const state = (await agent.call('WORLD_STATE', { world_id: worldId })) as { state: { network: { counters: Record<string, number> } } };
    expect(state.state.network.counters).toMatchObject({ mocked: 3, passed_through: 1, blocked: 1, failed: 1 });

    // After leaving, the same URL is the real network's: api.test is not in the agent's allowed_domains.
    await agent.call('WORLD_LEAVE', {});
    const outside = await failure(http({ url: 'http://api.test/users' }), 'PERMISSION_DENIED');
    expect(outside.message).not.toContain('http-world');
    expect(await http({ url: `${server.origin}/outside` })).toMatchObject({ status_code: 200, body: 'real answer' });
  });

  it('a network partition cuts calls off; heal restores them', async () => {
    await agent.call('WORLD_JOIN', { world_id: worldId });
    try {
      await agent.call('WORLD_EVENT', { world_id: worldId, event_type: 'network_partition' });
      const cut = await failure(http({ url: 'http://api.test/text' }), 'UNAVAILABLE');
      expect(cut.message).toContain('http-world');
      expect(cut.message).toContain('partition');
      const seen = server.seen.length;
      await failure(http({ url: `${server.origin}/cut` }), 'UNAVAILABLE');
      expect(server.seen.length).toBe(seen);

      await agent.call('WORLD_EVENT', { world_id: worldId, event_type: 'heal' });
      expect(await http({ url: 'http://api.test/text' })).toMatchObject({ status_code: 200, body: 'hello from the mock' });
    } finally {
      await agent.call('WORLD_LEAVE', {});
    }
  });

  it('a simulated latency over the request timeout is TIMEOUT, and does not block the event loop', async () => {
    await agent.call('WORLD_JOIN', { world_id: worldId });
    try {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const slow = await failure(http({ url: 'http://api.test/users', timeout: 0.05 }), 'TIMEOUT');
      clearInterval(ticker);
      expect(slow.message).toContain('http-world');
      expect(ticks).toBeGreaterThan(0);
    } finally {
      await agent.call('WORLD_LEAVE', {});
    }
  });
});
