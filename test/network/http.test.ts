/**
 * HTTP (0x50) through a real kernel to real servers on loopback: methods, headers, text
 * and binary bodies both ways, the real status and headers, redirects followed by hand,
 * a body limit that truncates, timeouts, cancellation, and bad input answered clearly.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import type { AsyncResult } from '../../src/protocol/schemas/async.js';
import type { HttpResult } from '../../src/protocol/schemas/network.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure, until } from '../agents/support.js';
import { RawClient, type TestKernel } from '../helpers/kernel.js';
import { grant, networkAgent, startNetworkKernel, startServer, type TestServer } from './support.js';

const MAX_BODY = 256 * 1024;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x00]);

let kernel: TestKernel;
let server: TestServer;
let other: TestServer;
let agent: AgentOSClient;
/** Bytes the endless route wrote before the client went away. */
let endlessWritten = -1;

/** Writes 16 KiB chunks for as long as the client reads (flow-controlled), forever. */
function endless(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  let written = 0;
  const pump = () => {
    while (!response.destroyed) {
      written += chunk.length;
      if (!response.write(chunk)) return;
    }
  };
  response.on('drain', pump);
  response.on('close', () => {
    endlessWritten = written;
  });
  pump();
}

beforeAll(async () => {
  other = await startServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ authorization: request.headers.authorization ?? null, cookie: request.headers.cookie ?? null }));
  });
  server = await startServer((request, response, body) => {
    const url = new URL(request.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/text':
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('hello, wörld');
        return;
      case '/echo':
        response.writeHead(201, { 'content-type': 'application/json', 'x-echo': 'yes' });
        response.end(JSON.stringify({ method: request.method, headers: request.headers, body: body.toString('base64') }));
        return;
      case '/raw':
        response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/octet-stream' });
        response.end(body);
        return;
      case '/png':
        response.writeHead(200, { 'content-type': 'image/png' });
        response.end(PNG);
        return;
      case '/latin1':
        response.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' });
        response.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
        return;
      case '/not-utf8':
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(Buffer.from([0x61, 0xff, 0x62]));
        return;
      case '/untyped':
        response.end(url.searchParams.get('nul') ? Buffer.from([0x61, 0x00]) : 'plain words');
        return;
      case '/cookies':
        response.writeHead(200, { 'set-cookie': ['a=1; Path=/', 'b=2'], 'x-multi': ['one', 'two'] });
        response.end();
        return;
      case '/status':
        response.writeHead(Number(url.searchParams.get('code')), { 'content-type': 'text/plain' });
        response.end('status body');
        return;
      case '/redirect':
        response.writeHead(Number(url.searchParams.get('code')), { location: url.searchParams.get('to') ?? '/text' });
        response.end('moving');
        return;
      case '/loop':
        response.writeHead(302, { location: '/loop' });
        response.end();
        return;
      case '/big':
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('é'.repeat(Number(url.searchParams.get('chars'))));
        return;
      case '/endless':
        endless(response);
        return;
      case '/never':
        return;
      case '/stall':
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.write('a beginning');
        return;
      case '/huge-headers':
        response.writeHead(200, { 'x-huge': 'h'.repeat(64 * 1024) });
        response.end('unreachable');
        return;
      default:
        response.writeHead(404);
        response.end();
    }
  });
  kernel = await startNetworkKernel({
    hosts: { 'ok.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] },
    maxBodyBytes: MAX_BODY,
    maxTimeoutS: 60,
    maxRedirects: 3,
  });
  agent = await networkAgent(kernel, { allowed_domains: ['ok.test', 'other.test', '127.0.0.1'] });
});

afterAll(async () => {
  await agent?.close();
  await kernel?.cleanup();
  await server?.close();
  await other?.close();
});

const http = (request: Record<string, unknown>) => agent.call('HTTP', request) as Promise<HttpResult & { success: true }>;
const at = (path: string) => `http://ok.test:${server.port}${path}`;

describe('requests and replies', () => {
  it('GET: the real status, headers and a UTF-8 body as text, with the time it took', async () => {
    const reply = await http({ url: at('/text') });
    expect(reply).toMatchObject({
      success: true,
      status_code: 200,
      status_text: 'OK',
      body: 'hello, wörld',
      body_encoding: 'utf8',
      truncated: false,
      url: at('/text'),
      redirects: 0,
    });
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.duration_ms).toBeGreaterThan(0);
    expect(server.seen.at(-1)?.headers.host).toBe(`ok.test:${server.port}`);
  });

  it('sends every method with its headers and a text body', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'post']) {
      const reply = await http({
        url: at('/echo'),
        method,
        headers: { 'X-Trace': 'abc', 'Content-Type': 'text/plain' },
        body: `to ${method}`,
      });
      expect(reply.status_code).toBe(201);
      const echoed = JSON.parse(reply.body);
      expect(echoed.method).toBe(method.toUpperCase());
      expect(echoed.headers['x-trace']).toBe('abc');
      expect(Buffer.from(echoed.body, 'base64').toString()).toBe(`to ${method}`);
    }
  });

  it('sends a binary body given as base64, and answers binary bodies in base64', async () => {
    const bytes = randomBytes(4096);
    const reply = await http({
      url: at('/raw'),
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes.toString('base64'),
      body_encoding: 'base64',
    });
    expect(reply.body_encoding).toBe('base64');
    expect(Buffer.from(reply.body, 'base64').equals(bytes)).toBe(true);
    expect(server.seen.at(-1)?.body.equals(bytes)).toBe(true);

    const png = await http({ url: at('/png') });
    expect(png).toMatchObject({ body_encoding: 'base64', body: PNG.toString('base64') });
  });

  it('gives text only when it is UTF-8 text: another charset, invalid bytes or NULs go as base64', async () => {
    expect(await http({ url: at('/latin1') })).toMatchObject({
      body_encoding: 'base64',
      body: Buffer.from('caf\xe9', 'latin1').toString('base64'),
    });
    expect(await http({ url: at('/not-utf8') })).toMatchObject({ body_encoding: 'base64' });
    expect(await http({ url: at('/untyped') })).toMatchObject({ body_encoding: 'utf8', body: 'plain words' });
    expect(await http({ url: at('/untyped?nul=1') })).toMatchObject({ body_encoding: 'base64' });
    const json = await http({ url: at('/echo'), method: 'POST', body: '{}' });
    expect(json.body_encoding).toBe('utf8');
  });

  it('reports repeated headers joined, and each set-cookie on its own line', async () => {
    const reply = await http({ url: at('/cookies') });
    expect(reply.headers['set-cookie']).toBe('a=1; Path=/\nb=2');
    expect(reply.headers['x-multi']).toBe('one, two');
  });

  it('answers error statuses as they are, with their body; HEAD has no body', async () => {
    for (const code of [404, 500, 503, 418]) {
      const reply = await http({ url: at(`/status?code=${code}`) });
      expect(reply).toMatchObject({ success: true, status_code: code, body: 'status body' });
    }
    expect(await http({ url: at('/text'), method: 'HEAD' })).toMatchObject({ status_code: 200, body: '' });
  });

  it('runs in the background with async: true, its reply collected by ASYNC_POLL', async () => {
    const started = (await agent.call('HTTP', { url: at('/text'), async: true })) as { request_id: number };
    const polled = (await agent.call('ASYNC_POLL', { wait_ms: 10_000 })) as { results: AsyncResult[] };
    expect(polled.results[0]).toMatchObject({ request_id: started.request_id, opcode_name: 'HTTP' });
    expect(polled.results[0]?.payload).toMatchObject({ success: true, status_code: 200, body: 'hello, wörld' });
  });
});

describe('redirects', () => {
  it('follows 301, 302, 303, 307 and 308, relative and absolute, and reports where it ended', async () => {
    for (const code of [301, 302, 303, 307, 308]) {
      for (const to of ['/text', at('/text'), `//ok.test:${server.port}/text`]) {
        const reply = await http({ url: at(`/redirect?code=${code}&to=${encodeURIComponent(to)}`) });
        expect(reply, `${code} to ${to}`).toMatchObject({ status_code: 200, body: 'hello, wörld', redirects: 1, url: at('/text') });
      }
    }
  });

  it('keeps the method and body through 307 and 308; 303 (and 301/302 after POST) become GET without a body', async () => {
    for (const [code, method] of [
      [307, 'POST'],
      [308, 'PUT'],
      [303, 'GET'],
      [302, 'GET'],
      [301, 'GET'],
    ] as const) {
      const sent = method === 'PUT' ? 'PUT' : 'POST';
      const reply = await http({
        url: at(`/redirect?code=${code}&to=/echo`),
        method: sent,
        headers: { 'content-type': 'text/plain' },
        body: 'payload',
      });
      const echoed = JSON.parse(reply.body);
      expect(echoed.method, `${code}`).toBe(method);
      expect(Buffer.from(echoed.body, 'base64').toString(), `${code}`).toBe(method === 'GET' ? '' : 'payload');
      if (method === 'GET') expect(echoed.headers['content-type']).toBeUndefined();
    }
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    const elsewhere = `http://other.test:${other.port}/`;
    const reply = await http({
      url: at(`/redirect?code=302&to=${encodeURIComponent(elsewhere)}`),
      headers: { authorization: 'Bearer secret', cookie: 'session=1', 'x-keep': 'kept' },
    });
    expect(JSON.parse(reply.body)).toEqual({ authorization: null, cookie: null });
    expect(reply.url).toBe(elsewhere);
    const same = await http({ url: at('/redirect?code=302&to=/echo'), headers: { authorization: 'Bearer secret' } });
    expect(JSON.parse(same.body).headers.authorization).toBe('Bearer secret');
  });

  it('returns the redirect itself with follow_redirects: false', async () => {
    const reply = await http({ url: at('/redirect?code=302&to=/text'), follow_redirects: false });
    expect(reply).toMatchObject({ status_code: 302, redirects: 0, body: 'moving' });
    expect(reply.headers.location).toBe('/text');
  });

  it('stops at the kernel’s network.maxRedirects', async () => {
    const error = await failure(http({ url: at('/loop') }), 'UNAVAILABLE');
    expect(error.message).toContain('3 redirects');
  });
});

describe('limits', () => {
  it('keeps max_body bytes of a larger body and says it was truncated (a cut character is left out)', async () => {
    const reply = await http({ url: at('/big?chars=1000'), max_body: 101 });
    expect(reply.truncated).toBe(true);
    expect(reply.body).toBe('é'.repeat(50));
    const whole = await http({ url: at('/big?chars=1000'), max_body: 2000 });
    expect(whole).toMatchObject({ truncated: false, body: 'é'.repeat(1000) });
  });

  it('reads an endless body only up to the limit, then closes the connection', async () => {
    endlessWritten = -1;
    const reply = await http({ url: at('/endless'), max_body: 100_000 });
    expect(reply).toMatchObject({ truncated: true, body_encoding: 'base64' });
    expect(Buffer.from(reply.body, 'base64').length).toBe(100_000);
    const written = await until(() => (endlessWritten >= 0 ? endlessWritten : undefined), 'the endless response to be closed');
    // Flow control stopped the server long before it could send a real flood.
    expect(written).toBeLessThan(64 * 1024 * 1024);

    const byDefault = await http({ url: at('/endless') });
    expect(Buffer.from(byDefault.body, 'base64').length).toBe(MAX_BODY);
  });

  it('answers TIMEOUT when the server never answers, or stops sending the body', async () => {
    const silent = await failure(http({ url: at('/never'), timeout: 0.3 }), 'TIMEOUT');
    expect(silent.message).toContain('0.3 s');
    await failure(http({ url: at('/stall'), timeout: 0.3 }), 'TIMEOUT');
  });

  it('refuses a response whose headers are over the limit', async () => {
    const error = await failure(http({ url: at('/huge-headers') }), 'UNAVAILABLE');
    expect(error.message).toContain('headers');
  });

  it('abandons the request when the agent’s connection closes', async () => {
    const raw = await RawClient.connect(kernel.socketPath);
    const hello = await raw.call<{ agent_id: number }>(Op.HELLO, { name: 'leaver' });
    await grant(kernel, hello.agent_id, { allowed_domains: ['ok.test', '127.0.0.1'] });
    const before = server.abandoned.length;
    raw.send(Op.HTTP, { url: at('/never?leaver'), timeout: 60 });
    await until(() => server.seen.some((seen) => seen.url === '/never?leaver'), 'the request to reach the server');
    raw.close();
    await until(() => server.abandoned.length > before && server.abandoned.includes('/never?leaver'), 'the kernel to close the request');
  });

  it('is not failed by a kept-alive connection that the server closed while the worker sat idle', async () => {
    let closed = 0;
    const brief = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('fresh');
    });
    brief.keepAliveTimeout = 50;
    brief.on('connection', (socket) => socket.on('close', () => closed++));
    await new Promise<void>((resolve) => brief.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(brief.address() as AddressInfo).port}/`;
      for (let i = 0; i < 3; i++) {
        const before = closed;
        expect((await http({ url })).body).toBe('fresh');
        await until(() => closed > before, 'the server to close the idle connection');
      }
    } finally {
      brief.closeAllConnections();
      await new Promise((resolve) => brief.close(resolve));
    }
  });

  it('answers unreachable and unknown hosts clearly', async () => {
    const closed = await startServer(() => {});
    const port = closed.port;
    await closed.close();
    const refused = await failure(http({ url: `http://127.0.0.1:${port}/` }), 'UNAVAILABLE');
    expect(refused.message).toContain('refused');
    const lost = await networkAgent(kernel, { allowed_domains: ['no-such-host.invalid'] });
    await failure(lost.call('HTTP', { url: 'http://no-such-host.invalid/', timeout: 10 }), 'NOT_FOUND');
    await lost.close();
  });
});

describe('counting', () => {
  it('adds the body bytes to the agent’s network_bytes; a spent network_bytes quota refuses the next call', async () => {
    const counted = await networkAgent(kernel, { allowed_domains: ['ok.test', '127.0.0.1'] }, 'counted');
    try {
      const id = counted.agentId as number;
      await counted.call('HTTP', { url: at('/big?chars=500') });
      expect(kernel.metrics.usage(id).network_bytes).toBe(1000);
      await counted.call('HTTP', { url: at('/raw'), method: 'POST', body: 'x'.repeat(100) });
      expect(kernel.metrics.usage(id).network_bytes).toBe(1200);
      kernel.quotas.set(id, { network_bytes: { limit: 500, window_s: 3600, on_exceed: 'refuse' } });
      await counted.call('HTTP', { url: at('/big?chars=500') });
      await failure(counted.call('HTTP', { url: at('/text') }), 'QUOTA_EXCEEDED');
    } finally {
      await counted.close();
    }
  });
});

describe('bad input', () => {
  it('names the field of every malformed request', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'url'],
      [{ url: 42 }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'ok.test/path' }, 'url'],
      [{ url: 'http://u:p@ok.test/' }, 'url'],
      [{ url: `http://ok.test/${'a'.repeat(9000)}` }, 'url'],
      [{ url: at('/text'), method: 'TRACE' }, 'method'],
      [{ url: at('/text'), method: 'CONNECT' }, 'method'],
      [{ url: at('/text'), timeout: 0 }, 'timeout'],
      [{ url: at('/text'), timeout: -1 }, 'timeout'],
      [{ url: at('/text'), timeout: 1e9 }, 'timeout'],
      [{ url: at('/text'), timeout: 61 }, 'timeout'],
      [{ url: at('/text'), timeout: '30' }, 'timeout'],
      [{ url: at('/text'), max_body: MAX_BODY + 1 }, 'max_body'],
      [{ url: at('/text'), max_body: 0 }, 'max_body'],
      [{ url: at('/text'), headers: { 'X-Bad': 'a\r\nInjected: 1' } }, 'headers.X-Bad'],
      [{ url: at('/text'), headers: { 'X-Nul': 'a\u0000b' } }, 'headers.X-Nul'],
      [{ url: at('/text'), headers: { 'Bad Name': 'x' } }, 'headers.Bad Name'],
      [{ url: at('/text'), headers: { Host: 'evil.test' } }, 'headers.Host'],
      [{ url: at('/text'), headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding'],
      [{ url: at('/text'), headers: { 'Proxy-Authorization': 'x' } }, 'headers.Proxy-Authorization'],
      [{ url: at('/text'), headers: { 'X-Big': 'v'.repeat(9000) } }, 'headers.X-Big'],
      [{ url: at('/text'), headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-${i}`, 'v'])) }, 'headers'],
      [{ url: at('/text'), headers: Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`x-${i}`, 'v'.repeat(8000)])) }, 'headers'],
      [{ url: at('/text'), headers: { 'X-N': 5 } }, 'headers.X-N'],
      [{ url: at('/text'), body: 'x' }, 'body'],
      [{ url: at('/text'), method: 'HEAD', body: 'x' }, 'body'],
      [{ url: at('/echo'), method: 'POST', body: 'not base64!', body_encoding: 'base64' }, 'body'],
      [{ url: at('/echo'), method: 'POST', body: 'x', body_encoding: 'hex' }, 'body_encoding'],
      [{ url: at('/text'), follow_redirects: 'yes' }, 'follow_redirects'],
    ];
    for (const [request, field] of cases) {
      const error = await failure(http(request), 'INVALID_REQUEST');
      expect(error.reply?.field, JSON.stringify(request).slice(0, 200)).toBe(field);
    }
  });
});
