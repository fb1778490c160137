/**
 * Ways to make HTTP (and DOWNLOAD) reach what allowed_domains does not cover, each
 * through a real kernel to a real server on loopback that must never see the request:
 * parser confusion (userinfo, `?`, `#`, `\`), spelling (case, trailing dots, Unicode
 * lookalikes, every IPv4 notation, IPv4-mapped IPv6), internal addresses (loopback,
 * private, link-local metadata), names that resolve inside the network, redirects, DNS
 * rebinding, and other schemes. Every refusal is PERMISSION_DENIED, a SYSCALL_BLOCKED
 * event and an audit entry.
 *
 * Names resolve through the kernel's test-only `network.hosts` table (there is no DNS
 * here): `ok.test`, `evil.test` and `public.example` all answer 127.0.0.1, where the
 * server listens.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import type { AgentOSError } from '../../src/sdk/errors.js';
import { failure, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';
import { Denials, networkAgent, startNetworkKernel, startServer, type TestServer } from '../network/support.js';

let kernel: TestKernel;
let server: TestServer;
let denials: Denials;
/** allowed_domains: ok.test and the loopback address it resolves to. */
let named: AgentOSClient;
/** allowed_domains: names only; their loopback or private answers are not named. */
let namesOnly: AgentOSClient;
/** allowed_domains: `*`, every public host. */
let star: AgentOSClient;
let port: number;

beforeAll(async () => {
  server = await startServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') {
      response.writeHead(Number(url.searchParams.get('code')), { location: url.searchParams.get('to') ?? '/' });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(`reached ${request.headers.host}`);
  });
  port = server.port;
  kernel = await startNetworkKernel({
    hosts: {
      'ok.test': ['127.0.0.1'],
      'evil.test': ['127.0.0.1'],
      'public.example': ['127.0.0.1'],
      'mapped.example': ['::ffff:127.0.0.1'],
      'six.example': ['::1'],
      'private.example': ['10.0.0.1'],
      'metadata.example': ['169.254.169.254'],
      // One public answer and one inside: refused, whichever would be used.
      'mixed.example': ['93.184.216.34', '127.0.0.1'],
      'zero.example': ['0.0.0.0'],
    },
  });
  denials = new Denials(kernel);
  named = await networkAgent(kernel, { allowed_domains: ['ok.test', '127.0.0.1'] }, 'named');
  namesOnly = await networkAgent(
    kernel,
    {
      allowed_domains: [
        'ok.test',
        'public.example',
        'mapped.example',
        'six.example',
        'private.example',
        'metadata.example',
        'mixed.example',
        'zero.example',
      ],
    },
    'names-only',
  );
  star = await networkAgent(kernel, { allowed_domains: ['*'] }, 'star');
});

afterAll(async () => {
  denials?.stop();
  await Promise.all([named, namesOnly, star].map((client) => client?.close()));
  await kernel?.cleanup();
  await server?.close();
});

/**
 * `request` is refused with PERMISSION_DENIED, reported as SYSCALL_BLOCKED and in the
 * audit log, and the server saw nothing.
 */
async function refused(client: AgentOSClient, request: Record<string, unknown>, op: 'HTTP' | 'DOWNLOAD' = 'HTTP'): Promise<AgentOSError> {
  const agentId = client.agentId as number;
  const seen = server.seen.length;
  const events = denials.of(agentId).length;
  const audited = kernel.audit.query({ category: 'denial', agent_id: agentId, limit: 1000 }).count;
  const error = await failure(client.call(op, request), 'PERMISSION_DENIED');
  const what = JSON.stringify(request.url);
  expect(error.message, what).toMatch(new RegExp(`^${op} denied`));
  const event = await until(() => denials.of(agentId)[events], `SYSCALL_BLOCKED for ${what}`);
  expect(event.data, what).toMatchObject({ agent_id: agentId, op });
  const page = kernel.audit.query({ category: 'denial', agent_id: agentId, limit: 1000 });
  expect(page.count, `audit entry for ${what}`).toBe(audited + 1);
  expect(page.entries.at(-1), what).toMatchObject({ op, agent_id: agentId });
  expect(server.seen.length, `the server must not see ${what}`).toBe(seen);
  return error;
}

async function reached(client: AgentOSClient, url: string): Promise<string> {
  const reply = (await client.call('HTTP', { url })) as { status_code: number; body: string };
  expect(reply.status_code).toBe(200);
  return reply.body;
}

describe('parser confusion', () => {
  it('userinfo, ?, #, \\ and a look-alike prefix cannot change the host', async () => {
    for (const url of [
      'http://evil.test?.ok.test',
      `http://evil.test:${port}?.ok.test`,
      'http://ok.test@evil.test',
      `http://ok.test:${port}@evil.test:${port}/`,
      'http://ok.test.evil.test',
      `http://ok.test.evil.test:${port}/`,
      'http://evil.test#@ok.test',
      `http://evil.test:${port}\\@ok.test/`,
      `http://evil.test:${port}/@ok.test`,
    ]) {
      await refused(named, { url });
    }
  });

  it('a fragment after the allowed host reaches that host and nothing else', async () => {
    expect(await reached(named, `http://ok.test:${port}#@evil.test`)).toBe(`reached ok.test:${port}`);
    expect(await reached(named, `http://ok.test:${port}/?@evil.test`)).toBe(`reached ok.test:${port}`);
  });

  it('case and a trailing dot are the same host, still checked after resolution', async () => {
    // The same host as ok.test: its loopback answer is not named for this agent.
    const error = await refused(namesOnly, { url: 'HTTP://OK.TEST.' });
    expect(error.message).toContain('127.0.0.1');
    await refused(namesOnly, { url: `HTTP://OK.TEST.:${port}/` });
    expect(await reached(named, `HTTP://OK.TEST.:${port}/`)).toBe(`reached ok.test.:${port}`);
  });

  it('Unicode and punycode look-alikes are other hosts', async () => {
    for (const url of [
      `http://οk.test:${port}/`, // Greek omicron
      `http://оk.test:${port}/`, // Cyrillic o
      `http://xn--k-rmb.test:${port}/`,
      `http://ok.tеst:${port}/`, // Cyrillic e
    ]) {
      await refused(named, { url });
    }
  });
});

describe('internal addresses', () => {
  it('every spelling of loopback, private, link-local and unspecified is refused to *', async () => {
    for (const url of [
      'http://127.0.0.1',
      `http://127.0.0.1:${port}/`,
      'http://[::1]',
      `http://[::1]:${port}/`,
      'http://0x7f.1',
      'http://2130706433',
      'http://0177.0.0.1',
      'http://127.1',
      'http://0x7f000001',
      'http://[::ffff:127.0.0.1]',
      'http://[0:0:0:0:0:ffff:7f00:1]',
      'http://localhost',
      `http://localhost:${port}/`,
      'http://LOCALHOST.',
      'http://api.localhost',
      'http://10.0.0.1',
      'http://172.16.0.1',
      'http://192.168.1.1',
      'http://100.64.0.1',
      'http://169.254.169.254',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]',
      'http://[fd00::1]',
      'http://[64:ff9b::7f00:1]',
      'http://0.0.0.0',
      'http://0',
      'http://[::]',
      'http://224.0.0.1',
      'http://8.8.8.8',
    ]) {
      await refused(star, { url });
    }
  });

  it('a named loopback address is reached only in the spelling that names it… and its equivalents by URL parsing', async () => {
    expect(await reached(named, `http://127.0.0.1:${port}/`)).toBe(`reached 127.0.0.1:${port}`);
    expect(await reached(named, `http://0x7f.1:${port}/`)).toBe(`reached 127.0.0.1:${port}`);
    await refused(named, { url: `http://[::ffff:127.0.0.1]:${port}/` });
    await refused(named, { url: `http://127.0.0.2:${port}/` });
    await refused(named, { url: `http://localhost:${port}/` });
  });

  it('a public-looking name that resolves inside the network is refused after resolution', async () => {
    for (const host of [
      'public.example',
      'mapped.example',
      'six.example',
      'private.example',
      'metadata.example',
      'mixed.example',
      'zero.example',
    ]) {
      const error = await refused(namesOnly, { url: `http://${host}:${port}/` });
      expect(error.message).toContain('resolves to');
    }
    for (const host of ['public.example', 'metadata.example']) await refused(star, { url: `http://${host}:${port}/` });
  });
});

describe('redirects', () => {
  it('every hop is checked: 301, 302 and 307, absolute and relative, to a host or address outside the list', async () => {
    const targets = [
      `http://evil.test:${port}/`,
      `//evil.test:${port}/`,
      `http://localhost:${port}/`,
      `http://[::1]:${port}/`,
      `http://127.0.0.2:${port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
      'ftp://ok.test/',
    ];
    for (const code of [301, 302, 307]) {
      for (const to of targets) {
        const url = `http://ok.test:${port}/redirect?code=${code}&to=${encodeURIComponent(to)}`;
        const seen = server.seen.length;
        const error = await failure(named.call('HTTP', { url }), 'PERMISSION_DENIED');
        expect(error.message, `${code} to ${to}`).toContain('redirect 1');
        // The first hop reached the server (it answered the redirect); the second never did.
        expect(server.seen.length, `${code} to ${to}`).toBe(seen + 1);
        expect(denials.of(named.agentId as number).at(-1)?.data).toMatchObject({ op: 'HTTP' });
      }
    }
    // A redirect that stays inside the list is followed.
    const inside = `http://ok.test:${port}/redirect?code=302&to=${encodeURIComponent(`http://127.0.0.1:${port}/`)}`;
    expect(await reached(named, inside)).toBe(`reached 127.0.0.1:${port}`);
  });

  it('a redirect to a name that resolves to loopback is refused too', async () => {
    const onward = `http://public.example:${port}/`;
    const url = `http://ok.test:${port}/redirect?code=302&to=${encodeURIComponent(onward)}`;
    const admitted = await networkAgent(kernel, { allowed_domains: ['ok.test', 'public.example', '127.0.0.1'] }, 'via');
    try {
      // With 127.0.0.1 named, the redirect lands; the same redirect for an agent without it does not.
      expect(await reached(admitted, url)).toBe(`reached public.example:${port}`);
    } finally {
      await admitted.close();
    }
    const error = await failure(namesOnly.call('HTTP', { url }), 'PERMISSION_DENIED');
    expect(error.message).toContain('127.0.0.1');
  });
});

describe('schemes', () => {
  it('only http and https', async () => {
    for (const url of [
      'file:///etc/passwd',
      'ftp://ok.test/',
      'data:text/plain,hi',
      'javascript:alert(1)',
      'ws://ok.test/',
      'gopher://ok.test/',
    ]) {
      await refused(star, { url });
      await refused(named, { url });
    }
  });
});

describe('DOWNLOAD', () => {
  it('is held to the same rules, and writes nothing when refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentos-url-attacks-'));
    const writer = await networkAgent(kernel, { allowed_domains: ['ok.test'], allowed_write_paths: [`${dir}/**`] }, 'writer');
    try {
      for (const url of ['http://evil.test/', 'http://127.0.0.1/', `http://ok.test:${port}/`, 'file:///etc/passwd']) {
        await refused(writer, { url, path: join(dir, 'out.bin') }, 'DOWNLOAD');
      }
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await writer.close();
    }
  });
});

describe('DNS rebinding', () => {
  it('connects to the address that was checked, not to a second answer for the name', async () => {
    // The kernel's table answers a public address for localhost; the system resolver would
    // answer 127.0.0.1, where the server is. A connection made by name would reach it.
    const rebinding = await startNetworkKernel({ hosts: { localhost: ['192.88.98.1'] } });
    try {
      const client = await networkAgent(rebinding, { allowed_domains: ['localhost'] }, 'rebind');
      const seen = server.seen.length;
      const error = await client.call('HTTP', { url: `http://localhost:${port}/`, timeout: 2 }).then(
        () => undefined,
        (reason: AgentOSError) => reason,
      );
      expect(error?.code).toMatch(/^(TIMEOUT|UNAVAILABLE)$/);
      expect(server.seen.length).toBe(seen);
      await client.close();
    } finally {
      await rebinding.cleanup();
    }
  });
});
