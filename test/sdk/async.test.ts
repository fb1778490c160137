/**
 * The SDK's background calls against a real kernel: startAsync for EXEC, HTTP, THINK and
 * DOWNLOAD, asyncResult (several callers at once, timeouts that lose nothing, failures
 * rejected as the call would), asyncPoll and the asyncResults() iterator sharing one
 * ASYNC_POLL, the replies' exact shapes, and the errors each rejects with.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { AsyncPollReply, AsyncResult } from '../../src/protocol/schemas/async.js';
import { DownloadReply, HttpReply } from '../../src/protocol/schemas/network.js';
import { ExecReply } from '../../src/protocol/schemas/process.js';
import { ThinkReply } from '../../src/protocol/schemas/think.js';
import type { AsyncRequestId, Reply } from '../../src/sdk/index.js';
import { failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { OpenAIServer } from '../llm/openai-server.js';
import { startServer, type TestServer } from '../network/support.js';
import { closeAll, connect, connectAdmin, expectShape, type Transport } from './support.js';

const SLOTS = 4;
const FILE = Buffer.from('downloaded in the background\n');

let kernel: TestKernel;
let llm: OpenAIServer;
let server: TestServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join('/tmp', 'agentos-sdk-async-'));
  llm = await OpenAIServer.start();
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(FILE);
  });
  kernel = await startTestKernel({ asyncSlots: SLOTS, llm: { baseUrl: llm.baseUrl, model: 'async-model' } });
});

afterEach(async () => {
  await closeAll();
  await until(() => kernel.agents().length === 0, 'every client of the test to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
  await llm?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startAsync and asyncResult', () => {
  it.each<Transport>(['socket', 'websocket', 'in-process'])(
    'EXEC: the request id at once, then the reply the call would have given (%s)',
    async (transport) => {
      const os = await connect(kernel, transport);
      const id = await os.startAsync('EXEC', { command: 'sleep 0.2; echo done' });
      expect(typeof id).toBe('number');
      // The id remembers its op: the result is typed as EXEC's reply.
      expectTypeOf(id).toEqualTypeOf<AsyncRequestId<'EXEC'>>();
      expectTypeOf(os.asyncResult(id)).resolves.toEqualTypeOf<Reply<typeof ExecReply>>();
      const reply = await os.asyncResult(id, { timeoutMs: 10_000 });
      expectShape(ExecReply, reply);
      expect(reply).toMatchObject({ success: true, stdout: 'done\n', exit_code: 0, timed_out: false });
      // Taken: nothing of that id runs or waits any more.
      await failure(os.asyncResult(id), 'NOT_FOUND');
    },
  );

  it('HTTP, THINK and DOWNLOAD each resolve to their own reply', async () => {
    const os = await connect(kernel);
    const admin = await connectAdmin(kernel);
    await admin.setPerms({ agent_id: os.agentId, permissions: { can_network: true, allowed_domains: ['127.0.0.1'] } });
    const path = join(dir, 'bg.txt');
    const http = await os.startAsync('HTTP', { url: `${server.origin}/x` });
    const think = await os.startAsync('THINK', { prompt: 'in the background' });
    const download = await os.startAsync('DOWNLOAD', { url: `${server.origin}/file`, path });
    expect(new Set([http, think, download]).size).toBe(3);

    const [fetched, answered, saved] = await Promise.all([os.asyncResult(http), os.asyncResult(think), os.asyncResult(download)]);
    expectShape(HttpReply, fetched);
    expect(fetched).toMatchObject({ status_code: 200, body: FILE.toString() });
    expectShape(ThinkReply, answered);
    expect(answered).toMatchObject({ content: 'echo: in the background', model: 'async-model' });
    expectShape(DownloadReply, saved);
    expect(saved).toMatchObject({ path, bytes: FILE.length, sha256: createHash('sha256').update(FILE).digest('hex') });
    expect(readFileSync(path).equals(FILE)).toBe(true);
  });

  it('rejects as the call would have when the background call fails', async () => {
    const os = await connect(kernel);
    const admin = await connectAdmin(kernel);
    await admin.setPerms({ agent_id: os.agentId, permissions: { can_network: true, allowed_domains: ['127.0.0.1'] } });
    // A host outside allowed_domains: refused by the handler, in the background.
    const denied = await os.startAsync('HTTP', { url: `http://localhost:${server.port}/x` });
    const error = await failure(os.asyncResult(denied), 'PERMISSION_DENIED');
    expect(error.reply).toMatchObject({ success: false, code: 'PERMISSION_DENIED' });
    const nowhere = await os.startAsync('EXEC', { command: 'true', cwd: join(dir, 'no-such-dir') });
    await failure(os.asyncResult(nowhere), 'NOT_FOUND');
  });

  it('refuses at once what cannot start: a bad request, a missing permission, an op that does not run in the background, a full agent', async () => {
    const os = await connect(kernel);
    expect((await failure(os.startAsync('EXEC', { command: '' }), 'INVALID_REQUEST')).reply?.field).toBe('command');
    // Not one of EXEC, HTTP, THINK, DOWNLOAD (as a caller without types could ask): nothing is sent.
    const read = 'READ' as unknown as 'EXEC';
    expect((await failure(os.startAsync(read, { command: '/etc/hostname' }), 'INVALID_REQUEST')).message).toMatch(/background/);
    const minimal = await connect(kernel, 'in-process');
    await minimal.setPerms({ level: 'minimal' });
    await failure(minimal.startAsync('EXEC', { command: 'true' }), 'PERMISSION_DENIED');

    const ids = [];
    for (let n = 0; n < SLOTS; n++) ids.push(await os.startAsync('EXEC', { command: 'sleep 0.2' }));
    expect((await failure(os.startAsync('EXEC', { command: 'true' }), 'QUOTA_EXCEEDED')).message).toMatch(/poll before starting more/);
    for (const id of ids) await os.asyncResult(id);
    await os.asyncResult(await os.startAsync('EXEC', { command: 'true' }));
  });

  it('TIMEOUT after timeoutMs loses nothing: the result is still there for a later asyncResult', async () => {
    const os = await connect(kernel);
    const id = await os.startAsync('EXEC', { command: 'sleep 0.5; echo late' });
    const error = await failure(os.asyncResult(id, { timeoutMs: 100 }), 'TIMEOUT');
    expect(error.message).toMatch(String(id));
    expect((await os.asyncResult(id)).stdout).toBe('late\n');
  });

  it('NOT_FOUND for an id that never ran', async () => {
    const os = await connect(kernel);
    await failure(os.asyncResult(123_456), 'NOT_FOUND');
    // With calls running, too: the wait ends once they are done.
    const other = await os.startAsync('EXEC', { command: 'sleep 0.1' });
    const missing = os.asyncResult(654_321);
    await os.asyncResult(other);
    await failure(missing, 'NOT_FOUND');
  });

  it('several callers waiting at once each get their own result, whatever order they finish in', async () => {
    const os = await connect(kernel);
    const ids: AsyncRequestId<'EXEC'>[] = [];
    for (const [n, delay] of [0.3, 0.1, 0.2].entries()) ids.push(await os.startAsync('EXEC', { command: `sleep ${delay}; echo ${n}` }));
    // Two callers on one id, one on each of the others.
    const replies = await Promise.all([...ids, ids[0] as AsyncRequestId<'EXEC'>].map((id) => os.asyncResult(id)));
    expect(replies.map((reply) => reply.stdout)).toEqual(['0\n', '1\n', '2\n', '0\n']);
  });
});

describe('asyncPoll and asyncResults()', () => {
  it('asyncPoll: the results nobody waits for, in completion order; at once when nothing runs', async () => {
    const os = await connect(kernel);
    const idle = await os.asyncPoll({ waitMs: 60_000 });
    expectShape(AsyncPollReply, idle);
    expect(idle).toEqual({ success: true, results: [], count: 0, pending: 0 });

    const awaited = await os.startAsync('EXEC', { command: 'echo awaited' });
    const polled = await os.startAsync('EXEC', { command: 'sleep 0.1; echo polled' });
    const [reply, poll] = await Promise.all([os.asyncResult(awaited), os.asyncPoll({ waitMs: 10_000 })]);
    expect(reply.stdout).toBe('awaited\n');
    expectShape(AsyncPollReply, poll);
    expect(poll).toMatchObject({ count: 1, pending: 0 });
    const [result] = poll.results;
    expectShape(AsyncResult, result);
    expect(result).toMatchObject({ request_id: polled, opcode: 0x02, opcode_name: 'EXEC', payload: { success: true, stdout: 'polled\n' } });
    expect(result?.finished_at).toBeGreaterThanOrEqual(result?.started_at as number);
  });

  it('asyncPoll takes max at a time, returns at once without waitMs, and checks its options', async () => {
    const os = await connect(kernel);
    const ids = [await os.startAsync('EXEC', { command: 'echo a' }), await os.startAsync('EXEC', { command: 'echo b' })];
    const first = await os.asyncPoll({ max: 1, waitMs: 10_000 });
    expect(first.count).toBe(1);
    await until(async () => {
      const next = await os.asyncPoll();
      return next.count === 1 ? next : undefined;
    }, 'the second result');
    await failure(os.asyncResult(ids[0] as number), 'NOT_FOUND');
    expect((await failure(os.asyncPoll({ max: 0 }), 'INVALID_REQUEST')).reply?.field).toBe('max');
    expect((await failure(os.asyncPoll({ waitMs: 60_001 }), 'INVALID_REQUEST')).reply?.field).toBe('wait_ms');
  });

  it('asyncResults() yields every result as it arrives, failures as payloads, and ends once nothing runs', async () => {
    const os = await connect(kernel, 'websocket');
    const slow = await os.startAsync('EXEC', { command: 'sleep 0.3; echo slow' });
    const fast = await os.startAsync('EXEC', { command: 'echo fast' });
    const failed = await os.startAsync('EXEC', { command: 'true', cwd: join(dir, 'missing') });
    const seen: AsyncResult[] = [];
    for await (const result of os.asyncResults()) {
      expectShape(AsyncResult, result);
      seen.push(result);
    }
    expect(seen.map((result) => result.request_id).sort()).toEqual([slow, fast, failed].sort());
    expect(seen.at(-1)).toMatchObject({ request_id: slow, payload: { stdout: 'slow\n' } });
    expect(seen.find((result) => result.request_id === failed)?.payload).toMatchObject({ success: false, code: 'NOT_FOUND' });
    // Nothing left: a new iteration ends at once.
    for await (const result of os.asyncResults()) throw new Error(`unexpected ${JSON.stringify(result)}`);
  });

  it('asyncResults() ends when its signal aborts or the client closes; a result in flight is kept', async () => {
    const os = await connect(kernel);
    const id = await os.startAsync('EXEC', { command: 'sleep 0.3; echo kept' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    for await (const result of os.asyncResults({ signal: controller.signal })) throw new Error(`unexpected ${JSON.stringify(result)}`);
    expect((await os.asyncResult(id)).stdout).toBe('kept\n');

    await os.startAsync('EXEC', { command: 'sleep 5' });
    const iteration = (async () => {
      for await (const result of os.asyncResults()) throw new Error(`unexpected ${JSON.stringify(result)}`);
    })();
    setTimeout(() => void os.close(), 50);
    await iteration;
  });
});
