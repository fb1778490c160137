/**
 * The relay over TLS, end to end: a relay serving wss and https with a self-signed
 * certificate made by openssl for the test, a kernel whose tunnel trusts it
 * (`tunnel.caFile`, the `--relay-ca` flag), and a RemoteAgentClient with `ca`. Without the
 * certificate the agent is refused by TLS, never by a fallback to plain ws.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayServer, startRelay } from '../../src/relay/server/relay.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { RemoteAgentClient } from '../../src/sdk/remote-client.js';
import { adminToken, connect, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { selfSignedCert } from './tls-cert.js';

const MACHINE = 'tls-box';

let dir: string;
let cert: string;
let relay: RelayServer;
let kernel: TestKernel;
let agentToken: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-relay-tls-'));
  const { certFile, keyFile, cert: pem } = await selfSignedCert(dir);
  cert = pem;
  relay = await startRelay(
    { dataDir: join(dir, 'relay'), port: 0, tls: { certFile, keyFile } },
    { logger: pino({ level: process.env.AGENTOS_TEST_LOG ?? 'silent' }) },
  );
  const machineToken = relay.hub.tokens.create({ kind: 'machine', machine_id: MACHINE }).token;
  agentToken = relay.hub.tokens.create({ kind: 'agent', machines: [MACHINE] }).token;
  kernel = await startTestKernel({ tunnel: { relayUrl: relay.url, machineId: MACHINE, token: machineToken, caFile: certFile } });
}, 60_000);

afterAll(async () => {
  await kernel?.cleanup();
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the relay over TLS', () => {
  it('serves wss and https; the kernel trusting its certificate links at start', async () => {
    expect(relay.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(relay.httpUrl).toMatch(/^https:\/\//);
    const admin = await connect(kernel, adminToken(kernel));
    const status = await until(async () => {
      const reply = (await admin.call('TUNNEL_STATUS')) as { connected: boolean; relay_url: string };
      return reply.connected ? reply : undefined;
    }, 'the tunnel connected over wss');
    expect(status.relay_url).toBe(relay.url);
    await admin.close();

    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get(`${relay.httpUrl}/v1/health`, { ca: cert }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
  });

  it('carries a remote agent that trusts the certificate; one that does not is refused by TLS', async () => {
    const agent = await RemoteAgentClient.connect({ relayUrl: relay.url, token: agentToken, machineId: MACHINE, ca: cert });
    try {
      expect((await agent.noop('over tls')).toString()).toBe('over tls');
      await agent.store('k', { v: 1 });
      expect(await agent.fetch('k')).toMatchObject({ exists: true, value: { v: 1 } });
    } finally {
      await agent.close();
    }

    const refused = await RemoteAgentClient.connect({
      relayUrl: relay.url,
      token: agentToken,
      machineId: MACHINE,
      connectTimeoutMs: 5000,
    }).then(
      (client) => client.close().then(() => undefined),
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AgentOSError);
    expect((refused as AgentOSError).code).toBe('UNAVAILABLE');
    expect((refused as AgentOSError).message).toMatch(/certificate/i);
  });

  it('a kernel without the certificate cannot link: TUNNEL_CONNECT is UNAVAILABLE, naming the certificate', async () => {
    const other = await startTestKernel();
    try {
      const admin = await connect(other, adminToken(other));
      const machineToken = relay.hub.tokens.create({ kind: 'machine', machine_id: 'untrusting' }).token;
      const refused = await admin.call('TUNNEL_CONNECT', { relay_url: relay.url, machine_id: 'untrusting', token: machineToken }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(AgentOSError);
      expect((refused as AgentOSError).code).toBe('UNAVAILABLE');
      expect((refused as AgentOSError).message).toMatch(/certificate/i);
      await admin.call('TUNNEL_DISCONNECT');
      await admin.close();
    } finally {
      await other.cleanup();
    }
  });
});
