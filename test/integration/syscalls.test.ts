/**
 * Every syscall this kernel serves, success and error paths, over the real Unix socket
 * (the SDK, and RawClient where the frame header matters), with real child processes
 * and real files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrameBuffer } from '../../src/protocol/frame.js';
import { Op } from '../../src/protocol/opcodes.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { SYSCALLS } from '../../src/syscalls/index.js';
import { rejection } from '../agents/support.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { agentIdOf, eventually, expectFailure, liveGroupMembers, session } from './support.js';

const SECRET = 'agentos-test-secret-value-7c1f';
const MAX_READ = 64 * 1024;
const MAX_TIMEOUT_S = 60;

let kernel: TestKernel;
let work: string;
let client: AgentOSClient;
const raws: RawClient[] = [];

async function raw(): Promise<RawClient> {
  const connection = await RawClient.connect(kernel.socketPath);
  raws.push(connection);
  return connection;
}

beforeAll(async () => {
  // Set before the kernel starts: a command must not see the kernel's own environment.
  process.env.AGENTOS_TEST_SECRET = SECRET;
  kernel = await startTestKernel({ files: { maxReadBytes: MAX_READ }, exec: { maxTimeoutS: MAX_TIMEOUT_S } });
  work = join(kernel.dir, 'work');
  mkdirSync(work);
  client = await AgentOSClient.connect({ socketPath: kernel.socketPath, name: 'syscalls-test' });
});

afterEach(() => {
  for (const connection of raws.splice(0)) connection.close();
});

afterAll(async () => {
  await client?.close();
  await kernel?.cleanup();
  delete process.env.AGENTOS_TEST_SECRET;
});

describe('NOOP', () => {
  it('echoes its bytes with opcode 0 and the caller agent id in the header', async () => {
    const c = await raw();
    c.send(Op.NOOP, 'hello kernel');
    const frame = await c.frame();
    expect(frame?.opcode).toBe(Op.NOOP);
    expect(frame?.payload.toString('utf8')).toBe('hello kernel');
    expect(session(kernel, frame?.agentId ?? -1)?.transport).toBe('unix');
  });

  it('echoes an empty payload as an empty payload', async () => {
    const c = await raw();
    c.send(Op.NOOP, Buffer.alloc(0));
    const frame = await c.frame();
    expect(frame?.opcode).toBe(Op.NOOP);
    expect(frame?.payload.length).toBe(0);
  });

  it('echoes arbitrary binary bytes unchanged (not JSON, not UTF-8)', async () => {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    const c = await raw();
    c.send(Op.NOOP, bytes);
    const frame = await c.frame();
    expect(frame?.payload.equals(bytes)).toBe(true);
    // Through the SDK too.
    expect((await client.noop(bytes)).equals(bytes)).toBe(true);
  });
});

describe('HELLO', () => {
  it('reports the agent id of the reply header, the served features and the limits, and sets the name', async () => {
    const c = await raw();
    c.send(Op.HELLO, { name: 'hello-agent', client: 'raw-test', protocol_version: 1 });
    const frame = await c.frame();
    expect(frame?.opcode).toBe(Op.HELLO);
    const reply = JSON.parse(frame?.payload.toString('utf8') ?? '');
    expect(reply.success).toBe(true);
    expect(reply.agent_id).toBe(frame?.agentId);
    expect(reply.protocol_version).toBe(1);
    expect(reply.kernel_version).toBe(kernel.version);
    expect(reply.name).toBe('hello-agent');
    expect(reply.level).toBe('standard');
    expect(reply.admin).toBe(false);
    // Every syscall the router serves, and only those (the list grows with the kernel).
    expect([...reply.features].sort()).toEqual(SYSCALLS.map((syscall) => syscall.name).sort());
    expect(reply.features).toEqual(expect.arrayContaining(['NOOP', 'HELLO', 'EXIT', 'EXEC', 'READ', 'WRITE', 'GET_PERMS', 'SET_PERMS']));
    expect(reply.limits).toEqual({
      max_payload: kernel.options.maxPayload,
      max_pipeline: kernel.options.maxPipeline,
      exec_max_timeout_s: MAX_TIMEOUT_S,
      exec_max_output_bytes: kernel.options.exec.maxOutputBytes,
      read_max_bytes: MAX_READ,
    });
    expect(session(kernel, reply.agent_id)?.name).toBe('hello-agent');
  });

  it('gives the same id before and after HELLO, and the SDK learns it', async () => {
    const c = await raw();
    const before = await agentIdOf(c);
    const reply = await c.call(Op.HELLO, {});
    expect(reply.agent_id).toBe(before);
    expect(client.agentId).toBe(client.helloReply?.agent_id);
    expect(session(kernel, client.agentId ?? -1)?.name).toBe('syscalls-test');
  });

  it('gives every connection its own id', async () => {
    const ids = await Promise.all([raw(), raw(), raw()].map(async (c) => agentIdOf(await c)));
    expect(new Set(ids).size).toBe(3);
  });

  it('refuses a token the kernel did not issue with PERMISSION_DENIED; the connection stays usable', async () => {
    const c = await raw();
    const reply = await c.call(Op.HELLO, { name: 'forger', token: 'not-a-real-token' });
    const failure = expectFailure(reply, 'PERMISSION_DENIED');
    expect(failure.error).toMatch(/token/);
    c.send(Op.NOOP, 'still');
    expect((await c.frame())?.payload.toString()).toBe('still');
  });

  it('refuses a protocol_version newer than the kernel speaks', async () => {
    const c = await raw();
    const reply = (await c.call(Op.HELLO, { protocol_version: 99 })) as { success: boolean; code: string; error: string };
    expect(reply.success).toBe(false);
    expect(reply.error).toMatch(/protocol_version 99/);
    expect(['UNSUPPORTED_OPCODE', 'INVALID_REQUEST']).toContain(reply.code);
  });

  it('rejects a malformed HELLO naming the field', async () => {
    const c = await raw();
    expect(expectFailure(await c.call(Op.HELLO, { name: 42 }), 'INVALID_REQUEST').field).toBe('name');
    expect(expectFailure(await c.call(Op.HELLO, { protocol_version: 'one' }), 'INVALID_REQUEST').field).toBe('protocol_version');
  });
});

describe('EXIT', () => {
  it('replies goodbye, then the kernel closes; frames sent after EXIT get no reply', async () => {
    const c = await raw();
    const id = await agentIdOf(c);
    // EXIT and two more requests in a single write.
    c.socket.write(
      Buffer.concat([
        encodeFrameBuffer(0, Op.EXIT, '{}'),
        encodeFrameBuffer(0, Op.NOOP, 'after exit'),
        encodeFrameBuffer(0, Op.HELLO, '{}'),
      ]),
    );
    const frame = await c.frame();
    expect(frame?.opcode).toBe(Op.EXIT);
    expect(frame?.agentId).toBe(id);
    expect(JSON.parse(frame?.payload.toString() ?? '')).toEqual({ success: true, goodbye: true, agent_id: id });
    expect(await c.frame()).toBeUndefined();
    expect(await c.waitClosed()).toBe(true);
    await eventually(() => session(kernel, id) === undefined, 'the session to be forgotten');
  });

  it('through the SDK: goodbye, and later calls fail with UNAVAILABLE', async () => {
    const sdk = await AgentOSClient.connect({ socketPath: kernel.socketPath, name: 'leaver' });
    const reply = await sdk.exit({ reason: 'done' });
    expect(reply).toEqual({ success: true, goodbye: true, agent_id: sdk.agentId });
    expect((await rejection(sdk.noop('x'))).code).toBe('UNAVAILABLE');
  });
});

describe('EXEC', () => {
  it('keeps stdout and stderr apart and reports the exit code', async () => {
    const reply = await client.exec('echo out; echo err >&2; printf more; exit 7');
    expect(reply).toMatchObject({
      success: true,
      stdout: 'out\nmore',
      stderr: 'err\n',
      exit_code: 7,
      signal: null,
      timed_out: false,
      truncated: false,
    });
    expect(reply.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('reports a command ended by a signal as 128 + signal number', async () => {
    const reply = await client.exec('kill -9 $$');
    expect(reply.exit_code).toBe(137);
    expect(reply.signal).toBe('SIGKILL');
  });

  it('runs in an absolute cwd, a relative cwd, and by default the agent working directory', async () => {
    const expected = realpathSync(work);
    expect((await client.exec({ command: 'pwd -P', cwd: work })).stdout.trim()).toBe(expected);
    const rel = relative(process.cwd(), work);
    expect(rel.startsWith('/')).toBe(false);
    expect((await client.exec({ command: 'pwd -P', cwd: rel })).stdout.trim()).toBe(expected);
    expect((await client.exec('pwd -P')).stdout.trim()).toBe(realpathSync(process.cwd()));
  });

  it('passes env and does not inherit the kernel environment beyond PATH and HOME', async () => {
    expect(process.env.AGENTOS_TEST_SECRET).toBe(SECRET);
    const reply = await client.exec({ command: 'env', env: { GREETING: 'hi there', EMPTY: '' } });
    const lines = reply.stdout.split('\n');
    expect(lines).toContain('GREETING=hi there');
    expect(lines).toContain('EMPTY=');
    expect(lines.some((line) => line.startsWith('PATH='))).toBe(true);
    expect(lines).toContain(`HOME=${process.env.HOME}`);
    expect(reply.stdout).not.toContain('AGENTOS_TEST_SECRET');
    expect(reply.stdout).not.toContain(SECRET);
    // A request may pass a value explicitly.
    const passed = await client.exec({ command: 'echo "$AGENTOS_TEST_SECRET"', env: { AGENTOS_TEST_SECRET: 'given' } });
    expect(passed.stdout).toBe('given\n');
  });

  it('a timeout kills the whole process group', async () => {
    const started = Date.now();
    const reply = await client.exec({ command: 'echo $$; sleep 30 & sleep 30; wait', timeout: 0.5 });
    const elapsed = Date.now() - started;
    expect(reply.timed_out).toBe(true);
    expect(elapsed).toBeLessThan(2500);
    expect(reply.exit_code).not.toBe(0);
    const pgid = Number(reply.stdout.trim());
    expect(pgid).toBeGreaterThan(1);
    // The shell led its own group; nothing of it is left running (background sleep included).
    await eventually(() => liveGroupMembers(pgid).length === 0, `process group ${pgid} to be gone`, 3000);
  });

  it('caps output at max_output and says it truncated', async () => {
    const reply = await client.exec({
      command: "head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' b >&2",
      max_output: 1000,
    });
    expect(reply.truncated).toBe(true);
    expect(reply.stdout).toBe('a'.repeat(1000));
    expect(reply.stderr).toBe('b'.repeat(1000));
    expect(reply.exit_code).toBe(0);
    const small = await client.exec({ command: 'printf 12345', max_output: 5 });
    expect(small.truncated).toBe(false);
    expect(small.stdout).toBe('12345');
  });

  it('answers NOT_FOUND for a missing cwd and INVALID_REQUEST for a cwd that is a file', async () => {
    const missing = await rejection(client.exec({ command: 'true', cwd: join(work, 'no-such-dir') }));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('no-such-dir');
    const file = join(work, 'plain-file');
    writeFileSync(file, 'x');
    expect((await rejection(client.exec({ command: 'true', cwd: file }))).code).toBe('INVALID_REQUEST');
  });

  it('refuses a timeout over the kernel maximum, naming "timeout"', async () => {
    const error = await rejection(client.exec({ command: 'true', timeout: MAX_TIMEOUT_S + 1 }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('timeout');
    expect(error.reply?.field).toBe('timeout');
    const negative = await rejection(client.exec({ command: 'true', timeout: -1 }));
    expect(negative.code).toBe('INVALID_REQUEST');
    expect(negative.reply?.field).toBe('timeout');
  });

  it('with async true answers a request id at once (ASYNC_POLL has the reply: test/async)', async () => {
    const started = (await client.exec({ command: 'true', async: true })) as unknown as { async: boolean; request_id: number };
    expect(started).toMatchObject({ async: true, request_id: expect.any(Number) });
  });

  it('rejects requests that fail the schema, naming the field', async () => {
    const c = await raw();
    expect(expectFailure(await c.call(Op.EXEC, {}), 'INVALID_REQUEST').field).toBe('command');
    expect(expectFailure(await c.call(Op.EXEC, { command: '' }), 'INVALID_REQUEST').field).toBe('command');
    expect(expectFailure(await c.call(Op.EXEC, { command: 'true', env: { A: 1 } }), 'INVALID_REQUEST').field).toBe('env.A');
    expect(expectFailure(await c.call(Op.EXEC, { command: 'true', max_output: 0 }), 'INVALID_REQUEST').field).toBe('max_output');
  });
});

describe('READ', () => {
  const text = 'héllo wörld\nline two\n';

  it('reads UTF-8 text with its byte size', async () => {
    const path = join(work, 'text.txt');
    writeFileSync(path, text);
    const reply = await client.read(path);
    expect(reply).toMatchObject({
      success: true,
      path,
      content: text,
      encoding: 'utf8',
      size: Buffer.byteLength(text),
      offset: 0,
      bytes_read: Buffer.byteLength(text),
      eof: true,
    });
  });

  it('reads binary bytes as base64', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
    const path = join(work, 'binary.bin');
    writeFileSync(path, bytes);
    const reply = await client.read({ path, encoding: 'base64' });
    expect(reply.encoding).toBe('base64');
    expect(reply.size).toBe(256);
    expect(Buffer.from(reply.content, 'base64').equals(bytes)).toBe(true);
  });

  it('reads a part with offset and length, and nothing past the end', async () => {
    const path = join(work, 'alphabet.txt');
    writeFileSync(path, 'abcdefghij');
    expect(await client.read({ path, offset: 2, length: 3 })).toMatchObject({
      content: 'cde',
      size: 10,
      offset: 2,
      bytes_read: 3,
      eof: false,
    });
    expect(await client.read({ path, offset: 7, length: 100 })).toMatchObject({ content: 'hij', bytes_read: 3, eof: true });
    expect(await client.read({ path, offset: 100 })).toMatchObject({ content: '', size: 10, bytes_read: 0, eof: true });
    expect(await client.read({ path, offset: 4 })).toMatchObject({ content: 'efghij', bytes_read: 6, eof: true });
  });

  it('reads a path relative to the agent working directory', async () => {
    const path = join(work, 'relative.txt');
    writeFileSync(path, 'relative content');
    const rel = relative(process.cwd(), path);
    expect(rel.startsWith('/')).toBe(false);
    const reply = await client.read(rel);
    expect(reply.content).toBe('relative content');
    expect(reply.path).toBe(path);
  });

  it('answers NOT_FOUND for a missing file, naming it', async () => {
    const error = await rejection(client.read(join(work, 'missing.txt')));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('missing.txt');
  });

  it('refuses a directory', async () => {
    const error = await rejection(client.read(work));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('not a regular file');
  });

  it('refuses a FIFO at once instead of hanging', async () => {
    const fifo = join(work, 'pipe.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const error = await rejection(client.read(fifo));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(Date.now() - started).toBeLessThan(2000);
    // The worker thread is not stuck: the next read works.
    writeFileSync(join(work, 'after-fifo.txt'), 'ok');
    expect((await client.read(join(work, 'after-fifo.txt'))).content).toBe('ok');
  });

  it('answers QUOTA_EXCEEDED over files.maxReadBytes; the file can be read in parts', async () => {
    const path = join(work, 'big.bin');
    const big = Buffer.alloc(MAX_READ + 1, 0x61);
    writeFileSync(path, big);
    const error = await rejection(client.read(path));
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.message).toContain(String(MAX_READ));
    const first = await client.read({ path, length: MAX_READ });
    const rest = await client.read({ path, offset: MAX_READ });
    expect(first.bytes_read + rest.bytes_read).toBe(MAX_READ + 1);
    expect(rest.eof).toBe(true);
  });

  it('rejects requests that fail the schema, naming the field', async () => {
    const c = await raw();
    expect(expectFailure(await c.call(Op.READ, { path: 5 }), 'INVALID_REQUEST').field).toBe('path');
    expect(expectFailure(await c.call(Op.READ, {}), 'INVALID_REQUEST').field).toBe('path');
    expect(expectFailure(await c.call(Op.READ, { path: '' }), 'INVALID_REQUEST').field).toBe('path');
    expect(expectFailure(await c.call(Op.READ, { path: '/x', encoding: 'hex' }), 'INVALID_REQUEST').field).toBe('encoding');
    expect(expectFailure(await c.call(Op.READ, { path: '/x', offset: -1 }), 'INVALID_REQUEST').field).toBe('offset');
    const failure = expectFailure(await c.call(Op.READ, { path: 5 }), 'INVALID_REQUEST');
    expect(failure.error).toContain('path');
  });
});

describe('WRITE', () => {
  it('writes a file, replacing what was there', async () => {
    const path = join(work, 'written.txt');
    writeFileSync(path, 'a much longer previous content');
    const reply = await client.write({ path, content: 'new ünïcode' });
    expect(reply).toMatchObject({
      success: true,
      path,
      bytes_written: Buffer.byteLength('new ünïcode'),
      size: Buffer.byteLength('new ünïcode'),
    });
    expect(readFileSync(path, 'utf8')).toBe('new ünïcode');
  });

  it('appends', async () => {
    const path = join(work, 'appended.txt');
    await client.write({ path, content: 'one\n' });
    const reply = await client.write({ path, content: 'two\n', mode: 'append' });
    expect(reply).toMatchObject({ bytes_written: 4, size: 8 });
    expect(readFileSync(path, 'utf8')).toBe('one\ntwo\n');
  });

  it('writes base64 content as its bytes', async () => {
    const path = join(work, 'decoded.bin');
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 10, 13]);
    const reply = await client.write({ path, content: bytes.toString('base64'), encoding: 'base64' });
    expect(reply.bytes_written).toBe(bytes.length);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('creates missing parents with mkdir true', async () => {
    const path = join(work, 'deep', 'er', 'still', 'file.txt');
    await client.write({ path, content: 'deep', mkdir: true });
    expect(readFileSync(path, 'utf8')).toBe('deep');
  });

  it('answers NOT_FOUND for a missing parent without mkdir, creating nothing', async () => {
    const path = join(work, 'absent-parent', 'file.txt');
    const error = await rejection(client.write({ path, content: 'x' }));
    expect(error.code).toBe('NOT_FOUND');
    expect(existsSync(join(work, 'absent-parent'))).toBe(false);
  });

  it('refuses invalid base64 with INVALID_REQUEST and writes nothing', async () => {
    const path = join(work, 'bad64.bin');
    const error = await rejection(client.write({ path, content: 'not base64!!', encoding: 'base64' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('base64');
    expect(existsSync(path)).toBe(false);
  });

  it('writes a path relative to the agent working directory', async () => {
    const path = join(work, 'rel-written.txt');
    const reply = await client.write({ path: relative(process.cwd(), path), content: 'rel' });
    expect(reply.path).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe('rel');
  });

  it('fails on a directory path', async () => {
    const error = await rejection(client.write({ path: work, content: 'x' }));
    expect(error.code).not.toBe('INTERNAL');
  });

  it('rejects requests that fail the schema, naming the field', async () => {
    const c = await raw();
    expect(expectFailure(await c.call(Op.WRITE, { path: join(work, 'x') }), 'INVALID_REQUEST').field).toBe('content');
    expect(expectFailure(await c.call(Op.WRITE, { path: join(work, 'x'), content: 'x', mode: 'prepend' }), 'INVALID_REQUEST').field).toBe(
      'mode',
    );
    expect(expectFailure(await c.call(Op.WRITE, { path: join(work, 'x'), content: 'x', mkdir: 'yes' }), 'INVALID_REQUEST').field).toBe(
      'mkdir',
    );
    expect(existsSync(join(work, 'x'))).toBe(false);
  });
});

describe('errors common to every opcode', () => {
  it('answers invalid JSON with INVALID_REQUEST and keeps the connection', async () => {
    const c = await raw();
    c.send(Op.READ, '{"path": ');
    const frame = await c.frame();
    expect(frame?.opcode).toBe(Op.READ);
    expect(expectFailure(JSON.parse(frame?.payload.toString() ?? ''), 'INVALID_REQUEST').error).toMatch(/JSON/);
    expectFailure(await c.call(Op.EXEC, '[1, 2]'), 'INVALID_REQUEST');
    c.send(Op.NOOP, 'alive');
    expect((await c.frame())?.payload.toString()).toBe('alive');
  });

  it('answers an unknown opcode with UNSUPPORTED_OPCODE under the same opcode; the connection stays usable', async () => {
    const c = await raw();
    for (const code of [0x42, 0x05, 0xee]) {
      c.send(code, '{}');
      const frame = await c.frame();
      expect(frame?.opcode).toBe(code);
      const failure = expectFailure(JSON.parse(frame?.payload.toString() ?? ''), 'UNSUPPORTED_OPCODE');
      expect(failure.opcode).toBe(code);
    }
    expect((await c.call(Op.HELLO, {})).success).toBe(true);
  });

  it('answers a number the opcode table does not hold with UNSUPPORTED_OPCODE naming it (every listed opcode is served)', async () => {
    const c = await raw();
    for (const [code, name] of [
      [0x05, '0x05'],
      [0x7f, '0x7F'],
      [0xb5, '0xB5'],
    ] as const) {
      c.send(code, { url: 'http://127.0.0.1/', prompt: 'z', key: 'k', value: 1 });
      const frame = await c.frame();
      expect(frame?.opcode).toBe(code);
      expect(expectFailure(JSON.parse(frame?.payload.toString() ?? ''), 'UNSUPPORTED_OPCODE').error).toContain(name);
    }
    c.send(Op.NOOP, 'ok');
    expect((await c.frame())?.payload.toString()).toBe('ok');
  });

  it('replies to an alias opcode under the alias number', async () => {
    const c = await raw();
    // METRICS (0xC1) is served; METRICS_ALL (0xC2) and TUNNEL_CONNECT (0xB0) need the admin token.
    c.send(0xc1, '{}');
    const served = await c.frame();
    expect(served?.opcode).toBe(0xc1);
    expect(JSON.parse(served?.payload.toString() ?? '')).toMatchObject({ success: true, metrics: { syscall_count: 1 } });
    for (const [alias, name, code] of [
      [0xc2, 'METRICS_ALL', 'PERMISSION_DENIED'],
      [0xb0, 'TUNNEL_CONNECT', 'PERMISSION_DENIED'],
    ] as const) {
      c.send(alias, '{}');
      const frame = await c.frame();
      expect(frame?.opcode).toBe(alias);
      expect(expectFailure(JSON.parse(frame?.payload.toString() ?? ''), code).error).toContain(name);
    }
  });

  it('ignores the agent id a client puts in the header', async () => {
    const c = await raw();
    const id = await agentIdOf(c);
    c.socket.write(encodeFrameBuffer(id + 1000, Op.HELLO, '{}'));
    const frame = await c.frame();
    expect(frame?.agentId).toBe(id);
    expect(JSON.parse(frame?.payload.toString() ?? '').agent_id).toBe(id);
  });
});

describe('syscall counters', () => {
  it('counts total, failed and per-opcode calls for each agent', async () => {
    const c = await raw();
    const id = (await c.call(Op.HELLO, { name: 'counted' })).agent_id as number;
    await agentIdOf(c);
    await agentIdOf(c);
    expectFailure(await c.call(Op.READ, { path: join(work, 'nope') }), 'NOT_FOUND');
    expectFailure(await c.call(Op.READ, { path: 5 }), 'INVALID_REQUEST');
    expectFailure(await c.call(0x42, {}), 'UNSUPPORTED_OPCODE');
    const counters = session(kernel, id)?.counters;
    expect(counters?.total).toBe(6);
    expect(counters?.failed).toBe(3);
    expect(counters?.denied).toBe(0);
    expect(counters?.byOp.get(Op.HELLO)).toBe(1);
    expect(counters?.byOp.get(Op.NOOP)).toBe(2);
    expect(counters?.byOp.get(Op.READ)).toBe(2);
    expect(counters?.byOp.get(Op.EXEC)).toBeUndefined();
  });

  it('keeps counters per agent', async () => {
    const a = await raw();
    const b = await raw();
    const idA = await agentIdOf(a);
    const idB = await agentIdOf(b);
    await agentIdOf(a);
    await agentIdOf(a);
    expect(session(kernel, idA)?.counters.total).toBe(3);
    expect(session(kernel, idB)?.counters.total).toBe(1);
  });
});

describe('permission levels', () => {
  let readonly: TestKernel | undefined;
  let minimal: TestKernel | undefined;

  afterAll(async () => {
    await readonly?.cleanup();
    await minimal?.cleanup();
  });

  it("'readonly' denies EXEC and WRITE with PERMISSION_DENIED but allows READ, and counts the denials", async () => {
    readonly = await startTestKernel({ defaultLevel: 'readonly', httpPort: null });
    const file = join(readonly.dir, 'readable.txt');
    writeFileSync(file, 'readable');
    const c = await RawClient.connect(readonly.socketPath);
    raws.push(c);
    const hello = await c.call(Op.HELLO, {});
    expect(hello.level).toBe('readonly');

    const exec = expectFailure(await c.call(Op.EXEC, { command: `touch ${join(readonly.dir, 'exec-ran')}` }), 'PERMISSION_DENIED');
    expect(exec.error).toContain('EXEC');
    expect(exec.error).toContain('readonly');
    const target = join(readonly.dir, 'denied.txt');
    expectFailure(await c.call(Op.WRITE, { path: target, content: 'x' }), 'PERMISSION_DENIED');
    const read = await c.call(Op.READ, { path: file });
    expect(read).toMatchObject({ success: true, content: 'readable' });
    expect((await c.call(Op.HELLO, { name: 'ro' })).success).toBe(true);

    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(readonly.dir, 'exec-ran'))).toBe(false);
    const counters = session(readonly, hello.agent_id as number)?.counters;
    expect(counters?.denied).toBe(2);
    expect(counters?.total).toBe(5);
    expect(counters?.byOp.get(Op.EXEC)).toBe(1);
    expect(counters?.byOp.get(Op.WRITE)).toBe(1);
  });

  it("'minimal' denies READ, EXEC and WRITE; NOOP and HELLO still work", async () => {
    minimal = await startTestKernel({ defaultLevel: 'minimal', httpPort: null });
    const file = join(minimal.dir, 'secret.txt');
    writeFileSync(file, 'secret');
    const sdk = await AgentOSClient.connect({ socketPath: minimal.socketPath });
    try {
      expect(sdk.helloReply?.level).toBe('minimal');
      expect((await rejection(sdk.read(file))).code).toBe('PERMISSION_DENIED');
      expect((await rejection(sdk.exec('true'))).code).toBe('PERMISSION_DENIED');
      expect((await rejection(sdk.write({ path: file, content: 'overwritten' }))).code).toBe('PERMISSION_DENIED');
      expect((await sdk.noop('still here')).toString()).toBe('still here');
      expect(readFileSync(file, 'utf8')).toBe('secret');
    } finally {
      await sdk.close();
    }
  });
});
