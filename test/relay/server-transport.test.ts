/**
 * The relay's transport (docs/relay.md §1, §8, §10): wss with a self-signed certificate
 * made by openssl for the test, backpressure from a kernel that stops reading, and the
 * `agentos relay` command as a real child process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientOptions } from 'ws';
import { startRelay } from '../../src/relay/server/relay.js';
import { runCli } from '../cli/run-cli.js';
import { cleanup, connectKernel, type Message, startTestRelay, TestPeer } from './server-helpers.js';
import { selfSignedCert } from './tls-cert.js';

const dirs: string[] = [];

afterEach(async () => {
  await cleanup();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aos-relay-t-'));
  dirs.push(dir);
  return dir;
}

describe('relay server: wss', () => {
  it('serves wss and https with the given certificate', async () => {
    const dir = await tempDir();
    const { certFile, keyFile, cert: ca } = await selfSignedCert(dir);
    const relay = await startRelay(
      { port: 0, dataDir: join(dir, 'data'), tls: { certFile, keyFile } },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      expect(relay.url).toMatch(/^wss:\/\//);
      expect(relay.httpUrl).toMatch(/^https:\/\//);
      const token = relay.hub.tokens.create({ kind: 'machine', machine_id: 'laptop-1' }).token;
      // The certificate names localhost; the relay listens on 127.0.0.1 (ws passes servername on to tls).
      const trust: ClientOptions & { servername: string } = { ca, servername: 'localhost' };
      const kernel = await TestPeer.connect(`${relay.url}/kernel`, trust);
      kernel.send({ type: 'kernel_auth', machine_id: 'laptop-1', token, kernel_version: '0.1.0' });
      expect(await kernel.next('auth_ok')).toMatchObject({ machine_id: 'laptop-1' });

      const health = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        get(`${relay.httpUrl}/v1/health`, { ca, servername: 'localhost' }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode, body }));
        }).on('error', reject);
      });
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });

      // Without the CA the handshake fails: no token is sent to an unverified relay.
      await expect(TestPeer.connect(`${relay.url}/kernel`)).rejects.toThrow();
    } finally {
      await relay.close();
    }
  });
});

describe('relay server: backpressure', () => {
  it('stops reading an agent while its kernel does not read, and loses nothing', async () => {
    const count = 400;
    const size = 60_000;
    const { relay, machineToken, agentToken } = await startTestRelay({
      max_message_bytes: 65_536,
      max_buffered_bytes: 1024 * 1024,
      agent_calls_per_second: 100_000,
      agent_burst: 100_000,
      agent_max_in_flight: 10_000,
    });
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const agent = await TestPeer.connect(`${relay.url}/agent`);
    agent.send({ type: 'agent_auth', token: agentToken('*').token, machine_id: 'laptop-1' });
    await agent.next('auth_ok');
    await kernel.next('session_open');

    kernel.ws.pause();
    const filler = 'x'.repeat(size);
    for (let i = 0; i < count; i++) agent.send({ type: 'call', id: i, op: 'WRITE', payload: { filler } });
    // Give the relay the chance to read everything; backpressure must keep it from doing so.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(relay.hub.status().calls_forwarded).toBeLessThan(count);

    const ids = new Set<number>();
    const all = new Promise<void>((resolve) => {
      kernel.ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Message;
        if (message.type === 'call') ids.add(message.id as number);
        if (ids.size === count) resolve();
      });
    });
    kernel.ws.resume();
    await all;
    expect(relay.hub.status().calls_forwarded).toBe(count);
    expect(relay.hub.sessions()[0]?.in_flight).toBe(count);
  });
});

describe('relay server: an agent that does not read', () => {
  it('is dropped (its kernel told agent_closed) instead of stalling the link', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay({
      max_message_bytes: 65_536,
      max_buffered_bytes: 256 * 1024,
      agent_calls_per_second: 100_000,
      agent_burst: 100_000,
      agent_max_in_flight: 10_000,
    });
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const slow = await TestPeer.connect(`${relay.url}/agent`);
    slow.send({ type: 'agent_auth', token: agentToken('*').token, machine_id: 'laptop-1' });
    const { session } = await slow.next('auth_ok');
    const count = 400;
    const calls: Message[] = [];
    const forwarded = new Promise<void>((resolve) => {
      kernel.ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Message;
        if (message.type === 'call') calls.push(message);
        if (calls.length === count) resolve();
      });
    });
    for (let i = 0; i < count; i++) slow.send({ type: 'call', id: i, op: 'READ' });
    await forwarded;
    slow.ws.pause();
    const content = 'y'.repeat(60_000);
    for (const call of calls) kernel.send({ type: 'reply', id: call.id, result: { success: true, content } });
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session, reason: 'agent_closed' });
    expect(relay.hub.sessions()).toEqual([]);
    expect(relay.hub.onlineMachines()).toEqual(['laptop-1']);
  });
});

describe('agentos relay', () => {
  it('prints one JSON line, serves the fleet API, and exits 0 on SIGTERM', async () => {
    const dir = await tempDir();
    let ready: { url: string; http_url: string; admin_token_file: string } | undefined;
    let health: unknown;
    let asked = false;
    const result = await runCli(['relay', '--port', '0', '--data-dir', join(dir, 'relay'), '--json', '--log-level', 'warn'], {
      onStdout: (text, child) => {
        if (asked || !text.includes('\n')) return;
        asked = true;
        ready = JSON.parse(text.split('\n')[0] as string);
        fetch(`${ready?.http_url}/v1/health`)
          .then((res) => res.json())
          .then(
            (body) => {
              health = body;
            },
            (error: unknown) => {
              health = { error: String(error) };
            },
          )
          .finally(() => child.kill('SIGTERM'));
      },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(ready).toEqual({
      url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/),
      http_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      admin_token_file: join(dir, 'relay', 'admin.token'),
    });
    expect(health).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('refuses a plain ws non-loopback host without --insecure, naming the way out', async () => {
    const dir = await tempDir();
    const result = await runCli(['relay', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refusing to serve plain ws on 0\.0\.0\.0.*--insecure/);
  });
});
