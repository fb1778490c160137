/**
 * The provider's API key reaches the provider and nothing else: not a reply (even when
 * the provider echoes it back in an error, an answer or garbage), not an event, not a
 * log line, not a child process, not the kernel's options. The logs are the kernel's
 * own (its pino logger and redact configuration, writing to a file), and the CLI's
 * stderr when the key comes from an environment variable named by a flag.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kernel, startKernel } from '../../src/kernel/index.js';
import { parseKernelOptions } from '../../src/kernel/options.js';
import { Op } from '../../src/protocol/opcodes.js';
import { RawClient } from '../helpers/kernel.js';
import { eventually, expectFailure } from '../integration/support.js';
import { type Behaviour, type ChatCall, completion, json, OpenAIServer } from './openai-server.js';

const KEY = 'sk-live-7f3a9c1e5b2d4f6a8c0e';
const ENV_NAME = 'AGENTOS_TEST_LLM_KEY';

/** Every way a provider might send the Authorization header back. */
const echoes: Behaviour[] = [
  (call, res) => json(res, 401, { error: { message: `Incorrect API key provided: ${auth(call)}` } }),
  (call, res) => json(res, 200, completion(call, { content: `your header was ${auth(call)}` })),
  (call, res) =>
    json(
      res,
      200,
      completion(call, { content: null, tool_calls: [{ id: 'c1', function: { name: 'leak', arguments: `{"k":"${auth(call)}"}` } }] }),
    ),
  (call, res) => text(res, 200, `<html>${auth(call)}</html>`),
  (call, res) => text(res, 500, `upstream said: ${auth(call)}`),
  (call, res) => json(res, 200, { error: { message: `bad key ${auth(call)}` } }),
  (call, res) => json(res, 429, { error: `slow down ${auth(call)}` }, { 'retry-after': '1' }),
];

function auth(call: ChatCall): string {
  return String(call.headers.authorization);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

describe('the API key, in-process kernel with its own logger', () => {
  let server: OpenAIServer;
  let kernel: Kernel;
  let dir: string;
  let logFile: string;

  beforeAll(async () => {
    server = await OpenAIServer.start();
    dir = await mkdtemp(join(tmpdir(), 'agentos-llm-secrets-'));
    logFile = join(dir, 'kernel.log');
    process.env[ENV_NAME] = KEY;
    kernel = await startKernel({
      socketPath: join(dir, 'agentos.sock'),
      dataDir: join(dir, 'data'),
      httpPort: null,
      logLevel: 'trace',
      logFile,
      llm: { baseUrl: server.baseUrl, model: 'test-model', apiKeyEnv: ENV_NAME },
    });
  });

  afterAll(async () => {
    delete process.env[ENV_NAME];
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is sent to the provider, and never appears in replies, events, child processes or the options', async () => {
    const c = await RawClient.connect(kernel.socketPath);
    await c.call(Op.SUBSCRIBE, { event_types: ['*'] });
    const seen: string[] = [];
    for (const behaviour of echoes) {
      server.behaviour = behaviour;
      seen.push(JSON.stringify(await c.call(Op.THINK, { prompt: 'what is my key?' })));
    }
    expect(server.calls.every((call) => call.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(seen.join('\n')).toContain('[redacted]');

    // The kernel's environment holds the key; a command's does not.
    const env = await c.call<{ stdout: string }>(Op.EXEC, { command: 'env; cat /proc/self/environ' });
    seen.push(env.stdout);
    seen.push(JSON.stringify(await c.call(Op.POLL_EVENTS, { max: 1000 })));
    seen.push(JSON.stringify(await c.call(Op.HELLO, {})));
    seen.push(JSON.stringify(await c.call(Op.GET_PERMS, {})));
    seen.push(JSON.stringify(kernel.options), inspect(kernel.options, { depth: 10 }), `${kernel.options.llm.apiKey}`);
    for (const item of seen) expect(item).not.toContain(KEY);
    // The failures were real ones (a key could only hide in them if they were).
    expectFailure(JSON.parse(seen[0] as string), 'UNAVAILABLE');
    c.close();
  });

  it('never appears in the kernel log, which did record the failures', async () => {
    await kernel.stop();
    let log = '';
    await eventually(async () => {
      log = await readFile(logFile, 'utf8');
      return log.includes('kernel stopped');
    }, 'the log to be flushed');
    expect(log).toContain('LLM provider configured');
    expect(log).toContain('LLM call failed');
    expect(log).not.toContain(KEY);
  });
});

describe('key options', () => {
  it('refuses a key in both forms, credentials in the URL, and a missing variable', async () => {
    const base = { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' };
    expect(() => parseKernelOptions({ llm: { ...base, apiKey: 'a', apiKeyEnv: 'B' } })).toThrow('not both');
    expect(() => parseKernelOptions({ llm: { ...base, baseUrl: 'http://user:pw@127.0.0.1/v1' } })).toThrow('user:password');
    expect(() => parseKernelOptions({ llm: { ...base, baseUrl: 'ftp://127.0.0.1/v1' } })).toThrow('http or https');
    expect(() => parseKernelOptions({ llm: { baseUrl: base.baseUrl } })).toThrow('llm.model');
    const dir = await mkdtemp(join(tmpdir(), 'agentos-llm-key-'));
    try {
      await expect(
        startKernel({
          socketPath: join(dir, 's.sock'),
          dataDir: join(dir, 'data'),
          httpPort: null,
          llm: { ...base, apiKeyEnv: 'AGENTOS_TEST_UNSET_KEY' },
        }),
      ).rejects.toThrow('AGENTOS_TEST_UNSET_KEY');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the API key, through the CLI (agentos kernel --llm-api-key-env)', () => {
  const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

  it('reaches the provider, and neither the replies nor stderr at log level trace', async () => {
    const server = await OpenAIServer.start();
    const dir = await mkdtemp(join(tmpdir(), 'agentos-llm-cli-'));
    const socket = join(dir, 'k.sock');
    // From the sources (dist/ may be older than them): main(argv) as bin/agentos calls it.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./src/cli/main.ts').then((cli) => cli.main(process.argv))",
        'agentos',
        'kernel',
        '--socket',
        socket,
        '--data-dir',
        join(dir, 'data'),
        '--http-port',
        'off',
        '--log-level',
        'trace',
        '--llm-base-url',
        server.baseUrl,
        '--llm-model',
        'cli-model',
        '--llm-api-key-env',
        'MY_LLM_KEY',
        '--llm-max-concurrency',
        '2',
      ],
      { cwd: ROOT, env: { ...process.env, MY_LLM_KEY: KEY } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await eventually(() => stdout.includes('agentos kernel ready'), `the ready line (stderr: ${stderr})`, 15_000);
      const c = await RawClient.connect(socket);
      const replies: string[] = [];
      for (const behaviour of echoes.slice(0, 2)) {
        server.behaviour = behaviour;
        replies.push(JSON.stringify(await c.call(Op.THINK, { prompt: 'key?' })));
      }
      c.close();
      expect(server.calls.map((call) => [call.headers.authorization, call.body.model])).toEqual([
        [`Bearer ${KEY}`, 'cli-model'],
        [`Bearer ${KEY}`, 'cli-model'],
      ]);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('LLM provider configured');
      expect(stderr).toContain('"max_concurrency":2');
      for (const text of [...replies, stdout, stderr]) expect(text).not.toContain(KEY);
    } finally {
      child.kill('SIGKILL');
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
