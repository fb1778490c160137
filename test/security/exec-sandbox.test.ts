/**
 * EXEC at the sandboxed level runs inside bubblewrap, for real: its own pid namespace
 * (/proc/1 is bwrap's), the system read-only, only the agent's write paths writable, a
 * private /tmp, no network without can_network, and the kernel's data directory and the
 * agent's blocked paths out of sight even where a bind would show them. A timeout ends
 * the whole sandbox. The command rules still apply first.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_PATHS } from '../../src/protocol/schemas/permissions.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { connect, failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

interface ExecReply {
  stdout: string;
  stderr: string;
  exit_code: number;
  timed_out: boolean;
}

let kernel: TestKernel;
let server: Server;
let port = 0;
/** Outside /tmp (the sandbox's /tmp is private, so a path there would prove nothing). */
let hostDir = '';
let work = '';
let readOnly = '';
const clients: AgentOSClient[] = [];

/** A connection narrowed to the sandboxed level, writing only under `work`, with `secret` blocked. */
async function sandboxedClient(extra: Record<string, unknown> = {}): Promise<AgentOSClient> {
  const client = await connect(kernel);
  clients.push(client);
  await client.call('SET_PERMS', {
    level: 'sandboxed',
    permissions: {
      allowed_read_paths: [`${hostDir}/**`],
      allowed_write_paths: [`${work}/**`, '/tmp/**'],
      blocked_paths: [...DEFAULT_BLOCKED_PATHS, `${work}/secret/**`],
      ...extra,
    },
  });
  return client;
}

const run = (client: AgentOSClient, command: string, fields: Record<string, unknown> = {}) =>
  client.call('EXEC', { command, cwd: work, ...fields }) as Promise<ExecReply>;

beforeAll(async () => {
  hostDir = await mkdtemp('/var/tmp/agentos-exec-sandbox-');
  work = join(hostDir, 'work');
  readOnly = join(hostDir, 'read-only');
  mkdirSync(join(work, 'secret'), { recursive: true });
  mkdirSync(readOnly);
  writeFileSync(join(work, 'secret', 'key.txt'), 'top secret');
  // The data directory sits under a writable path, so only the mask keeps the admin token out of sight.
  kernel = await startTestKernel({ defaultLevel: 'unrestricted', dataDir: join(work, 'kernel-data') });
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  server?.close();
  await kernel?.cleanup();
  await rm(hostDir, { recursive: true, force: true });
});

describe('EXEC at the sandboxed level', () => {
  it('runs in its own pid namespace: /proc/1 is bubblewrap, not the host’s init', async () => {
    const client = await sandboxedClient();
    const reply = await run(client, "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$");
    expect(reply.exit_code, reply.stderr).toBe(0);
    const [inside, shellPid] = reply.stdout.split('\n');
    expect(inside).toMatch(/bwrap/);
    expect(inside).not.toBe(readFileSync('/proc/1/cmdline', 'utf8').replaceAll('\0', ' '));
    expect(Number(shellPid)).toBeLessThan(10);
  });

  it('writes only where the agent may write; the system and other binds are read-only', async () => {
    const client = await sandboxedClient();
    const ok = await run(client, 'echo inside > written.txt && cat written.txt');
    expect(ok).toMatchObject({ stdout: 'inside\n', exit_code: 0 });
    expect(readFileSync(join(work, 'written.txt'), 'utf8')).toBe('inside\n');

    const system = await run(client, 'echo x > /etc/agentos-sandbox-test');
    expect(system.exit_code).not.toBe(0);
    expect(system.stderr).toMatch(/Read-only file system/);
    expect(existsSync('/etc/agentos-sandbox-test')).toBe(false);

    // The working directory is visible (read-only) when it is not a write path.
    const cwd = await run(client, 'ls >/dev/null && touch here.txt', { cwd: readOnly });
    expect(cwd.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(readOnly, 'here.txt'))).toBe(false);

    // Directories not bound do not exist at all.
    const unseen = await run(client, `ls ${hostDir}/read-only`);
    expect(unseen.exit_code).not.toBe(0);
  });

  it('has a private /tmp', async () => {
    const client = await sandboxedClient();
    const hostFile = `/tmp/agentos-host-${process.pid}-${Date.now()}`;
    writeFileSync(hostFile, 'host');
    try {
      const reply = await run(client, `test -e ${hostFile} && echo visible; echo private > ${hostFile}-inside && cat ${hostFile}-inside`);
      expect(reply).toMatchObject({ stdout: 'private\n', exit_code: 0 });
      expect(existsSync(`${hostFile}-inside`)).toBe(false);
    } finally {
      await rm(hostFile, { force: true });
    }
  });

  it('hides the kernel’s data directory and the blocked paths under a writable bind', async () => {
    expect(readdirSync(join(work, 'kernel-data'))).toContain('admin.token');
    const client = await sandboxedClient();
    const reply = await run(client, 'ls -A kernel-data secret; cat kernel-data/admin.token secret/key.txt; echo done');
    expect(reply.stdout).toBe('kernel-data:\n\nsecret:\ndone\n');
    expect(reply.stderr).toMatch(/admin\.token: No such file/);
    expect(reply.stderr).toMatch(/key\.txt: No such file/);
    // The host's files are untouched (the masks are mounts inside the sandbox only).
    expect(readFileSync(join(work, 'secret', 'key.txt'), 'utf8')).toBe('top secret');
  });

  it('has no network without can_network, and the network with it', async () => {
    const connectTo = `python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=2); print('connected')"`;
    const offline = await sandboxedClient();
    const refused = await run(offline, connectTo);
    expect(refused.exit_code).not.toBe(0);
    expect(refused.stdout).not.toMatch(/connected/);

    const online = await sandboxedClient({ can_network: true });
    const reply = await run(online, connectTo);
    expect(reply.stdout, reply.stderr).toBe('connected\n');
  });

  it('passes the environment, the exit code and separate streams through', async () => {
    const client = await sandboxedClient();
    const reply = await run(client, 'echo "$GREETING"; echo err >&2; exit 3', { env: { GREETING: 'hello' } });
    expect(reply).toMatchObject({ stdout: 'hello\n', stderr: 'err\n', exit_code: 3, timed_out: false });
  });

  it('a timeout ends the whole sandbox', async () => {
    const client = await sandboxedClient();
    const reply = await run(client, 'sleep 987 & sleep 986', { timeout: 0.5 });
    expect(reply.timed_out).toBe(true);
    const sleeping = () =>
      readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          try {
            return /^sleep\0(986|987)\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
          } catch {
            return false;
          }
        });
    await until(() => sleeping().length === 0, 'the sandboxed sleeps to be gone');
  });

  it('still applies the command rules first', async () => {
    const client = await sandboxedClient();
    const error = await failure(client.call('EXEC', { command: 'touch ran.txt; sudo id', cwd: work }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/blocked_commands rule "sudo"/);
    expect(existsSync(join(work, 'ran.txt'))).toBe(false);
  });
});
