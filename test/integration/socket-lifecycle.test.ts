/**
 * The socket file's life (protocol.md §1): private mode, no takeover of a live kernel,
 * stale sockets cleared, other files left alone, removal on stop, idempotent stop.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Kernel, startKernel } from '../../src/kernel/index.js';
import { Op } from '../../src/protocol/opcodes.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { RawClient, startTestKernel } from '../helpers/kernel.js';

const silent = pino({ level: 'silent' });
let dir: string;
const kernels: Kernel[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-lifecycle-'));
});

afterEach(async () => {
  for (const kernel of kernels.splice(0)) await kernel.stop();
  await rm(dir, { recursive: true, force: true });
});

async function start(socketPath: string, extra: Parameters<typeof startKernel>[0] = {}): Promise<Kernel> {
  const kernel = await startKernel({ socketPath, dataDir: join(dir, 'data'), httpPort: null, ...extra }, { log: silent });
  kernels.push(kernel);
  return kernel;
}

/** Rejection message of a kernel start that must fail. */
async function startFailure(socketPath: string, extra: Parameters<typeof startKernel>[0] = {}): Promise<string> {
  try {
    kernels.push(await startKernel({ socketPath, dataDir: join(dir, 'data2'), httpPort: null, ...extra }, { log: silent }));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the kernel start to fail');
}

async function noopWorks(socketPath: string): Promise<boolean> {
  const client = await RawClient.connect(socketPath);
  try {
    client.send(Op.NOOP, 'alive?');
    return (await client.frame())?.payload.toString() === 'alive?';
  } finally {
    client.close();
  }
}

describe('socket file', () => {
  it('is a socket with mode 0600', async () => {
    const path = join(dir, 'k.sock');
    await start(path);
    const info = lstatSync(path);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('takes the configured socketMode', async () => {
    const path = join(dir, 'shared.sock');
    await start(path, { socketMode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });

  it('refuses to start over a live kernel, naming the path, and leaves that kernel working', async () => {
    const path = join(dir, 'live.sock');
    const first = await start(path);
    const inode = statSync(path).ino;
    const message = await startFailure(path);
    expect(message).toContain(path);
    expect(message).toMatch(/already listening/);
    expect(statSync(path).ino).toBe(inode);
    expect(await noopWorks(first.socketPath)).toBe(true);
  });

  it('refuses to start over any live listener, not only a kernel', async () => {
    const path = join(dir, 'other.sock');
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      expect(await startFailure(path)).toContain(path);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('removes a stale socket left by a dead process and starts', async () => {
    const path = join(dir, 'stale.sock');
    // A child listens on the path and is killed: the socket file stays, nobody answers.
    const child = spawn(process.execPath, [
      '-e',
      `process.umask(0o022); require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('listening\\n'))`,
    ]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the listener exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).not.toBe(0o600); // 0755 from the child's umask
    // (Inode numbers are no proof of a new file: the filesystem may reuse the freed one.)
    const kernel = await start(path);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(await noopWorks(kernel.socketPath)).toBe(true);
  });

  it('refuses to replace a regular file at the socket path', async () => {
    const path = join(dir, 'precious.txt');
    writeFileSync(path, 'do not delete me');
    const message = await startFailure(path);
    expect(message).toContain(path);
    expect(message).toMatch(/not a socket/);
    expect(readFileSync(path, 'utf8')).toBe('do not delete me');
  });

  it('leaves no socket behind when the start fails later (HTTP port taken)', async () => {
    const blocker = await startTestKernel({ httpPort: 0 });
    try {
      const port = Number(new URL(blocker.httpUrl as string).port);
      const path = join(dir, 'half-started.sock');
      const message = await startFailure(path, { httpPort: port });
      expect(message).toContain(String(port));
      expect(existsSync(path)).toBe(false);
    } finally {
      await blocker.cleanup();
    }
  });
});

describe('stop', () => {
  it('removes the socket; a new kernel can then take the path', async () => {
    const path = join(dir, 'stop.sock');
    const kernel = await start(path);
    await kernel.stop();
    expect(existsSync(path)).toBe(false);
    await expect(RawClient.connect(path)).rejects.toThrow();
    const again = await start(path);
    expect(await noopWorks(again.socketPath)).toBe(true);
  });

  it('is idempotent: concurrent and repeated calls all resolve', async () => {
    const kernel = await start(join(dir, 'twice.sock'));
    const client = await AgentOSClient.connect({ socketPath: kernel.socketPath });
    await Promise.all([kernel.stop(), kernel.stop()]);
    await kernel.stop();
    expect(existsSync(kernel.socketPath)).toBe(false);
    expect(kernel.root.getSnapshot().status).toBe('done');
    // The connected client was told: its next call fails.
    await expect(client.noop('x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('finishes a reply in flight before closing the connection', async () => {
    const kernel = await start(join(dir, 'drain.sock'));
    const client = await RawClient.connect(kernel.socketPath);
    client.send(Op.EXEC, { command: 'sleep 0.3; echo drained' });
    await new Promise((r) => setTimeout(r, 100));
    const stopping = kernel.stop();
    const reply = await client.reply(10_000);
    expect(reply.stdout).toBe('drained\n');
    expect(await client.waitClosed()).toBe(true);
    await stopping;
  });

  it('leaves a socket that another kernel took over alone', async () => {
    const path = join(dir, 'taken.sock');
    const kernel = await start(path);
    // Someone removes the file and a second kernel starts on the path.
    await rm(path);
    const second = await start(path);
    await kernel.stop();
    expect(existsSync(path)).toBe(true);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(existsSync(`${path}.${process.pid}.aside`)).toBe(false);
    expect(await noopWorks(second.socketPath)).toBe(true);
  });
});
