/**
 * An LLM endpoint that is down, never answers, stalls, answers garbage, HTML, half a
 * body, an endless body, or any HTTP error: THINK answers a clear error with the
 * provider's own explanation and the right code, reads a bounded number of bytes, and
 * nothing hangs (the queue is empty afterwards and the kernel still answers).
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { eventually, expectFailure } from '../integration/support.js';
import { type Behaviour, echo, json, OpenAIServer } from './openai-server.js';

const MAX_RESPONSE_BYTES = 64 * 1024;

let server: OpenAIServer;
let kernel: TestKernel;
let client: RawClient;

beforeAll(async () => {
  server = await OpenAIServer.start();
  kernel = await startTestKernel({
    llm: { baseUrl: server.baseUrl, model: 'test-model', timeoutMs: 500, maxResponseBytes: MAX_RESPONSE_BYTES },
  });
  client = await RawClient.connect(kernel.socketPath);
});

afterEach(() => {
  server.behaviour = echo;
});

afterAll(async () => {
  client?.close();
  await kernel?.cleanup();
  await server?.close();
});

async function think(behaviour: Behaviour, request: object = { prompt: 'hello' }) {
  server.behaviour = behaviour;
  return client.call(Op.THINK, request);
}

const text =
  (status: number, body: string, type = 'text/plain') =>
  (_call: unknown, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };

describe('an endpoint that answers badly', () => {
  it('never answers: TIMEOUT naming llm.timeoutMs', async () => {
    const failure = expectFailure(await think(() => {}), 'TIMEOUT');
    expect(failure.error).toContain('llm.timeoutMs');
  });

  it('sends headers and part of the body, then stalls: TIMEOUT', async () => {
    const failure = expectFailure(
      await think((_call, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"choices":[');
      }),
      'TIMEOUT',
    );
    expect(failure.error).toContain('500 ms');
  });

  it('answers an HTML page with 200: UNAVAILABLE quoting its text', async () => {
    const failure = expectFailure(
      await think(text(200, '<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>', 'text/html')),
      'UNAVAILABLE',
    );
    expect(failure.error).toContain('not JSON');
    expect(failure.error).toContain('Welcome to nginx!');
  });

  it('answers binary garbage: UNAVAILABLE, and the reply stays one clean line of JSON', async () => {
    const failure = expectFailure(
      await think((_call, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from([0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x0a, 0x0d]));
      }),
      'UNAVAILABLE',
    );
    expect(failure.error).not.toMatch(/\p{Cc}/u);
  });

  it('cuts the connection in the middle of the JSON: UNAVAILABLE', async () => {
    const failure = expectFailure(
      await think((_call, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"choices":[{"mess', () => res.socket?.destroy());
      }),
      'UNAVAILABLE',
    );
    expect(failure.error).toContain(server.baseUrl);
  });

  it('answers JSON that is not a chat completion: UNAVAILABLE saying what is missing', async () => {
    const failure = expectFailure(await think((_call, res) => json(res, 200, { hello: 'world' })), 'UNAVAILABLE');
    expect(failure.error).toContain('not a chat completion');
    expect(failure.error).toContain('choices');
    expectFailure(await think((_call, res) => json(res, 200, { choices: [] })), 'UNAVAILABLE');
    expectFailure(await think((_call, res) => json(res, 200, { choices: [{ message: { content: 42 } }] })), 'UNAVAILABLE');
  });

  it('answers an error object with 200: UNAVAILABLE with its message', async () => {
    const failure = expectFailure(
      await think((_call, res) => json(res, 200, { error: { message: 'model is overloaded' } })),
      'UNAVAILABLE',
    );
    expect(failure.error).toContain('model is overloaded');
  });

  it('sends an endless body: UNAVAILABLE at llm.maxResponseBytes, and the kernel stops reading', async () => {
    let closed = false;
    const failure = expectFailure(
      await think((_call, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.on('close', () => {
          closed = true;
        });
        const chunk = Buffer.alloc(16 * 1024, 'a');
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.write('{"choices":[{"message":{"content":"');
        pump();
      }),
      'UNAVAILABLE',
    );
    expect(failure.error).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    await eventually(() => closed, 'the kernel closed the endless answer');
  });

  it('declares a body over the cap: UNAVAILABLE before reading it', async () => {
    const failure = expectFailure(
      await think((_call, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) });
        res.write('{');
      }),
      'UNAVAILABLE',
    );
    expect(failure.error).toContain('llm.maxResponseBytes');
  });

  it('redirects: UNAVAILABLE (the key is never sent elsewhere)', async () => {
    const before = server.calls.length;
    expectFailure(
      await think((_call, res) => {
        res.writeHead(307, { location: `http://127.0.0.1:${server.port}/v1/chat/completions` });
        res.end();
      }),
      'UNAVAILABLE',
    );
    expect(server.calls.length).toBe(before + 1);
  });
});

describe('HTTP errors of the provider', () => {
  it('maps each status to a code with the provider explanation', async () => {
    const cases: [Behaviour, string, string, Record<string, unknown>][] = [
      [
        (_c, res) =>
          json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }),
        'UNAVAILABLE',
        'Incorrect API key provided',
        { upstream_status: 401 },
      ],
      [
        (_c, res) => json(res, 429, { error: { message: 'Rate limit reached for requests' } }, { 'retry-after': '7' }),
        'UNAVAILABLE',
        'Rate limit reached',
        { upstream_status: 429, retry_after_ms: 7000 },
      ],
      [
        (_c, res) => json(res, 404, { error: { message: 'model "nope" not found, try pulling it first', type: 'api_error' } }),
        'INVALID_REQUEST',
        'not found, try pulling it first',
        { upstream_status: 404, field: 'model' },
      ],
      [text(404, '404 page not found'), 'UNAVAILABLE', 'llm.baseUrl', { upstream_status: 404 }],
      [
        (_c, res) => json(res, 400, { error: { message: "Invalid value for 'temperature'", param: 'temperature' } }),
        'INVALID_REQUEST',
        "Invalid value for 'temperature'",
        { upstream_status: 400, field: 'temperature' },
      ],
      [
        (_c, res) => json(res, 400, { object: 'error', message: "This model's maximum context length is 4096 tokens", code: 400 }),
        'INVALID_REQUEST',
        'maximum context length is 4096 tokens',
        { upstream_status: 400 },
      ],
      [(_c, res) => json(res, 422, { detail: 'messages: field required' }), 'INVALID_REQUEST', 'messages: field required', {}],
      [
        text(500, '<html><head><title>500 Internal Server Error</title></head><body>boom</body></html>', 'text/html'),
        'UNAVAILABLE',
        '500 Internal Server Error boom',
        { upstream_status: 500 },
      ],
      [text(502, ''), 'UNAVAILABLE', 'no explanation', { upstream_status: 502 }],
      [(_c, res) => json(res, 503, { error: 'llama runner process has terminated' }), 'UNAVAILABLE', 'llama runner', {}],
      [text(504, 'upstream request timeout'), 'TIMEOUT', 'upstream request timeout', { upstream_status: 504 }],
    ];
    for (const [behaviour, code, words, details] of cases) {
      const failure = expectFailure(await think(behaviour), code);
      expect(failure.error).toContain(words);
      expect(failure).toMatchObject(details);
      expect(failure.error.length).toBeLessThan(600);
    }
  });
});

describe('after all that', () => {
  it('has nothing running or queued, and THINK works again', async () => {
    await eventually(() => kernel.llm.stats().running === 0, 'no call left running');
    expect(kernel.llm.stats()).toEqual({ running: 0, queued: 0 });
    expect(await client.call(Op.THINK, { prompt: 'still there?' })).toMatchObject({ success: true, content: 'echo: still there?' });
  });
});

describe('an endpoint that is down', () => {
  it('answers UNAVAILABLE naming the endpoint and the cause', async () => {
    const port = await closedPort();
    const down = await startTestKernel({ llm: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' } });
    try {
      const c = await RawClient.connect(down.socketPath);
      const failure = expectFailure(await c.call(Op.THINK, { prompt: 'anyone?' }), 'UNAVAILABLE');
      expect(failure.error).toContain(`127.0.0.1:${port}`);
      expect(failure.error).toContain('ECONNREFUSED');
      c.close();
    } finally {
      await down.cleanup();
    }
  });
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
