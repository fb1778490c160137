/**
 * The path policy against attacks, through a real kernel on its real socket, on real
 * files and symlinks in a temp directory. The attacker is a direct connection that
 * narrowed itself with SET_PERMS to read and write one directory (`allowed`); next to it,
 * `outside` holds what it must never reach. Every denial must be PERMISSION_DENIED,
 * emit SYSCALL_BLOCKED and be in the audit log; and nothing outside may change.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import type { AgentOSError } from '../../src/sdk/errors.js';
import { adminToken, EventLog, failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const SECRET = 'outside-secret-4f1d';
let kernel: TestKernel;
let events: EventLog;
let root: string;
let allowed: string;
let outside: string;
let attacker: AgentOSClient;
let attackerId: number;
let auditCursor = 0;
const clients: AgentOSClient[] = [];

async function client(options: { token?: string | null; level?: 'unrestricted' | 'standard' } = {}): Promise<AgentOSClient> {
  const c = options.level
    ? await AgentOSClient.connect({ connection: kernel.connect({ level: options.level }), token: null })
    : await AgentOSClient.connect({ socketPath: kernel.socketPath, token: options.token ?? null });
  clients.push(c);
  return c;
}

/** Narrows `c` to read and write `dir` only (SET_PERMS on itself). */
async function confine(c: AgentOSClient, dir: string): Promise<void> {
  await c.call('SET_PERMS', { permissions: { allowed_read_paths: [`${dir}/**`], allowed_write_paths: [`${dir}/**`] } });
}

/**
 * `op` with `payload` by `c` is PERMISSION_DENIED, with a SYSCALL_BLOCKED event and an
 * audit entry carrying the same reason; the reason contains each of `mentions`.
 */
async function denied(op: string, payload: Record<string, unknown>, mentions: string[] = [], c = attacker): Promise<AgentOSError> {
  const id = c.agentId as number;
  const before = events.of('SYSCALL_BLOCKED', id).length;
  const error = await failure(c.call(op, payload), 'PERMISSION_DENIED');
  for (const mention of mentions) expect(error.message).toContain(mention);
  const blocked = events.of('SYSCALL_BLOCKED', id);
  expect(blocked).toHaveLength(before + 1);
  expect(blocked.at(-1)?.data).toMatchObject({ agent_id: id, op, reason: error.message });
  const page = kernel.audit.query({ category: 'denial', agent_id: id, since_id: auditCursor, limit: 1000 });
  auditCursor = page.next_since_id;
  expect(page.entries.at(-1)).toMatchObject({ category: 'denial', agent_id: id, op, detail: { reason: error.message } });
  return error;
}

const read = async (path: string, c = attacker) => ((await c.call('READ', { path })) as { content: string }).content;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
  root = realpathSync(kernel.dir);
  allowed = join(root, 'allowed');
  outside = join(root, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  writeFileSync(join(outside, 'treasure.txt'), SECRET);
  writeFileSync(join(allowed, 'inside.txt'), 'inside');
  symlinkSync(join(outside, 'treasure.txt'), join(allowed, 'link-out'));
  symlinkSync('inside.txt', join(allowed, 'link-in'));
  symlinkSync('../outside', join(allowed, 'linkdir'));
  symlinkSync(join(outside, 'created-through-dangling.txt'), join(allowed, 'dangling-out'));
  symlinkSync('loop-b', join(allowed, 'loop-a'));
  symlinkSync('loop-a', join(allowed, 'loop-b'));
  for (const secret of ['a/b/c/.env', 'x/.ssh/id_rsa', 'deploy/aws_credentials.json', 'certs/server.pem', '.ENV']) {
    const path = join(allowed, secret);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, SECRET);
  }
  symlinkSync('a/b/c/.env', join(allowed, 'innocent.txt'));

  attacker = await client();
  attackerId = attacker.agentId as number;
  await confine(attacker, allowed);
});

afterAll(async () => {
  events?.stop();
  await Promise.all(clients.map((c) => c.close()));
  await kernel?.cleanup();
});

describe('what the confined agent may do', () => {
  it('reads and writes inside its directory, through symlinks that stay inside, creating parents there', async () => {
    expect(await read(join(allowed, 'inside.txt'))).toBe('inside');
    expect(await read(join(allowed, 'link-in'))).toBe('inside');
    await attacker.call('WRITE', { path: join(allowed, 'link-in'), content: 'rewritten through a link' });
    expect(readFileSync(join(allowed, 'inside.txt'), 'utf8')).toBe('rewritten through a link');
    await attacker.call('WRITE', { path: join(allowed, 'new', 'deep', 'file.txt'), content: 'deep', mkdir: true });
    expect(readFileSync(join(allowed, 'new', 'deep', 'file.txt'), 'utf8')).toBe('deep');
    // Reached through /proc/self/root, the real path is still inside: allowed.
    expect(await read(`/proc/self/root${join(allowed, 'new', 'deep', 'file.txt')}`)).toBe('deep');
  });

  it('a missing file inside is NOT_FOUND, not a denial', async () => {
    await failure(attacker.call('READ', { path: join(allowed, 'missing.txt') }), 'NOT_FOUND');
    await failure(attacker.call('WRITE', { path: join(allowed, 'missing-dir', 'x.txt'), content: 'x' }), 'NOT_FOUND');
  });
});

describe('escapes from the allowed directory', () => {
  it('"../" traversal out of it', async () => {
    await denied('READ', { path: `${allowed}/../outside/treasure.txt` }, [join(outside, 'treasure.txt'), 'allowed_read_paths']);
    await denied('READ', { path: `${allowed}/a/b/../../../outside/treasure.txt` }, ['allowed_read_paths']);
    await denied('WRITE', { path: `${allowed}/../outside/treasure.txt`, content: 'pwned' }, ['allowed_write_paths']);
    expect(readFileSync(join(outside, 'treasure.txt'), 'utf8')).toBe(SECRET);
  });

  it('absolute paths outside it', async () => {
    await denied('READ', { path: join(outside, 'treasure.txt') }, ['allowed_read_paths']);
    await denied('READ', { path: '/etc/hostname' }, ['allowed_read_paths']);
    await denied('WRITE', { path: join(outside, 'new.txt'), content: 'x' }, ['allowed_write_paths']);
    await denied('WRITE', { path: join(outside, 'sub', 'new.txt'), content: 'x', mkdir: true }, ['allowed_write_paths']);
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'sub'))).toBe(false);
  });

  it('a symlink inside pointing outside, to read and to write', async () => {
    const error = await denied('READ', { path: join(allowed, 'link-out') }, ['resolves to', join(outside, 'treasure.txt')]);
    expect(error.message).not.toContain(SECRET);
    await denied('WRITE', { path: join(allowed, 'link-out'), content: 'pwned' }, [join(outside, 'treasure.txt')]);
    await denied('WRITE', { path: join(allowed, 'link-out'), content: 'pwned', mode: 'append' }, [join(outside, 'treasure.txt')]);
    expect(readFileSync(join(outside, 'treasure.txt'), 'utf8')).toBe(SECRET);
  });

  it('a symlinked parent directory', async () => {
    await denied('READ', { path: join(allowed, 'linkdir', 'treasure.txt') }, [join(outside, 'treasure.txt')]);
    await denied('WRITE', { path: join(allowed, 'linkdir', 'planted.txt'), content: 'x' }, [join(outside, 'planted.txt')]);
    await denied('WRITE', { path: join(allowed, 'linkdir', 'made', 'planted.txt'), content: 'x', mkdir: true }, [outside]);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(existsSync(join(outside, 'made'))).toBe(false);
  });

  it('a dangling symlink whose target is outside: writing through it creates nothing; reading it says nothing', async () => {
    await denied('WRITE', { path: join(allowed, 'dangling-out'), content: 'x' }, [join(outside, 'created-through-dangling.txt')]);
    expect(existsSync(join(outside, 'created-through-dangling.txt'))).toBe(false);
    // Denied rather than NOT_FOUND: the answer does not reveal what exists outside.
    await denied('READ', { path: join(allowed, 'dangling-out') }, ['allowed_read_paths']);
    await denied('READ', { path: join(outside, 'no-such-file') }, ['allowed_read_paths']);
  });

  it('a symlink loop cannot be resolved, so it is denied', async () => {
    await denied('READ', { path: join(allowed, 'loop-a') }, ['cannot be resolved', 'symlink loop']);
    await denied('WRITE', { path: join(allowed, 'loop-b'), content: 'x' }, ['cannot be resolved']);
    await denied('READ', { path: join(allowed, 'loop-a', 'below') }, ['cannot be resolved']);
  });

  it('/proc/self/root and /proc/self/cwd are resolved like any symlink', async () => {
    await denied('READ', { path: `/proc/self/root${join(outside, 'treasure.txt')}` }, ['resolves to', join(outside, 'treasure.txt')]);
    await denied('WRITE', { path: `/proc/self/root${join(outside, 'x.txt')}`, content: 'x' }, [join(outside, 'x.txt')]);
    await denied('READ', { path: '/proc/self/cwd/package.json' }, ['resolves to', join(process.cwd(), 'package.json')]);
    await denied('READ', { path: '/proc/self/root/etc/passwd' }, ['"/etc/passwd"']);
  });

  it('NUL bytes are never passed on: the path cannot be resolved, so it is denied', async () => {
    await denied('READ', { path: `${join(allowed, 'inside.txt')}\0/../../outside/treasure.txt` }, ['NUL']);
    await denied('WRITE', { path: `${join(allowed, 'x.txt')}\0.sh`, content: 'x' }, ['NUL']);
    expect(existsSync(join(allowed, 'x.txt'))).toBe(false);
  });

  it('very long paths: climbing out by length is still outside; too long to resolve is denied', async () => {
    await denied('READ', { path: `${allowed}/${'../'.repeat(2000)}etc/passwd` }, ['"/etc/passwd"']);
    const deep = `${allowed}/${'d/'.repeat(3000)}x`;
    const error = await denied('READ', { path: deep }, ['cannot be resolved']);
    expect(error.message.length).toBeLessThan(1000);
    await denied('WRITE', { path: `${allowed}/${'n'.repeat(300)}`, content: 'x' }, ['cannot be resolved']);
  });

  it('encodings are not decoded: %2e%2e is a name, not a way up', async () => {
    await failure(attacker.call('READ', { path: `${allowed}/%2e%2e/outside/treasure.txt` }), 'NOT_FOUND');
    await failure(attacker.call('READ', { path: `${allowed}/..%2f..%2foutside%2ftreasure.txt` }), 'NOT_FOUND');
  });
});

describe('secrets inside the allowed directory', () => {
  it('are found at any depth, under innocent names too, naming the blocked pattern', async () => {
    const cases: [string, string][] = [
      ['a/b/c/.env', '**/.env'],
      ['x/.ssh/id_rsa', '**/id_rsa*'],
      ['deploy/aws_credentials.json', '**/*credentials*'],
      ['certs/server.pem', '**/*.pem'],
    ];
    for (const [name, pattern] of cases) {
      await denied('READ', { path: join(allowed, name) }, [`blocked_paths pattern "${pattern}"`]);
      await denied('WRITE', { path: join(allowed, name), content: 'overwritten' }, [`"${pattern}"`]);
      expect(readFileSync(join(allowed, name), 'utf8')).toBe(SECRET);
    }
    await denied('READ', { path: join(allowed, 'innocent.txt') }, ['resolves to', join(allowed, 'a/b/c/.env'), '"**/.env"']);
    await denied('WRITE', { path: join(allowed, 'x', '.ssh', 'authorized_keys'), content: 'ssh-ed25519 AAAA' }, ['"**/.ssh/**"']);
    expect(existsSync(join(allowed, 'x', '.ssh', 'authorized_keys'))).toBe(false);
  });

  it('case: Linux names are case-sensitive, but blocked patterns ignore case (a casefold mount opens .env for .ENV)', async () => {
    await denied('READ', { path: join(allowed, '.ENV') }, ['"**/.env"']);
    await denied('WRITE', { path: join(allowed, 'Certs.PEM'), content: 'x' }, ['"**/*.pem"']);
  });
});

describe('the kernel’s own files', () => {
  it('its data directory is out of reach for every agent but an admin, whatever its level', async () => {
    const token = join(kernel.options.dataDir, 'admin.token');
    const wide = await client({ level: 'unrestricted' });
    await denied('READ', { path: token }, ["kernel's data directory"], wide);
    await denied('WRITE', { path: join(kernel.options.dataDir, 'state.db'), content: 'x' }, ["kernel's data directory"], wide);
    const standard = await client();
    await denied('READ', { path: token }, ["kernel's data directory"], standard);
    const admin = await client({ token: adminToken(kernel) });
    expect((await read(token, admin)).trim()).toBe(adminToken(kernel));
  });

  it('its /proc entry (environment, memory, descriptors) too, reached by any name', async () => {
    const wide = await client({ level: 'unrestricted' });
    await denied('READ', { path: '/proc/self/environ' }, ["kernel's own process entry"], wide);
    await denied('READ', { path: '/proc/thread-self/environ' }, ["kernel's own process entry"], wide);
    await denied('READ', { path: `/proc/${process.pid}/task/${process.pid}/environ` }, ["kernel's own process entry"], wide);
    await denied('READ', { path: '/proc/self/cmdline' }, ["kernel's own process entry"], wide);
    // Each thread of the kernel (its workers among them) has a /proc/<tid> directory of its own: the same process.
    const threads = readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid));
    expect(threads.length).toBeGreaterThan(0);
    for (const tid of threads) {
      await denied('READ', { path: `/proc/${tid}/task/${tid}/environ` }, [`/proc/${process.pid}/task/${tid}/environ`], wide);
      await denied('READ', { path: `/proc/${tid}/environ` }, ["kernel's own process entry"], wide);
    }
  });
});

describe('check and open are one step (TOCTOU)', () => {
  it('a directory swapped for a symlink to outside while the agent reads and writes never leaks or changes outside', async () => {
    const race = join(allowed, 'race');
    const target = join(outside, 'race');
    await mkdir(join(race, 'd'), { recursive: true });
    await mkdir(target, { recursive: true });
    await writeFile(join(race, 'd', 'f.txt'), 'inside');
    await writeFile(join(target, 'f.txt'), SECRET);
    await writeFile(join(target, 'g.txt'), SECRET);
    // A real process swaps race/d between the real directory and a symlink to outside, as fast as it can.
    const swapper: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const [d, kept, link, target] = process.argv.slice(1);
         try { fs.symlinkSync(target, link); } catch {}
         for (;;) { try { fs.renameSync(d, kept); fs.renameSync(link, d); fs.renameSync(d, link); fs.renameSync(kept, d); } catch {} }`,
        join(race, 'd'),
        join(race, 'kept'),
        join(race, 'link'),
        target,
      ],
      { stdio: 'ignore' },
    );
    const outcomes = new Map<string, number>();
    try {
      for (let round = 0; round < 150; round++) {
        const [readResult, writeResult] = await Promise.allSettled([
          read(join(race, 'd', 'f.txt')),
          attacker.call('WRITE', { path: join(race, 'd', 'g.txt'), content: 'inside' }),
        ]);
        for (const result of [readResult, writeResult]) {
          const outcome = result.status === 'fulfilled' ? 'ok' : (result.reason as AgentOSError).code;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          expect(['ok', 'PERMISSION_DENIED', 'NOT_FOUND', 'CONFLICT']).toContain(outcome);
        }
        if (readResult.status === 'fulfilled') expect(readResult.value).toBe('inside');
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(readFileSync(join(target, 'f.txt'), 'utf8')).toBe(SECRET);
    expect(readFileSync(join(target, 'g.txt'), 'utf8')).toBe(SECRET);
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(300);
  });
});

describe('FILE_CHANGED', () => {
  const poll = async (c: AgentOSClient, wait_ms = 0) =>
    ((await c.call('POLL_EVENTS', { wait_ms, max: 1000 })) as { events: KernelEvent[] }).events;

  it('the watched directory must be readable, by its real path', async () => {
    const watcher = await client();
    await confine(watcher, allowed);
    await denied('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(outside, '**') } }, ['allowed_read_paths'], watcher);
    await denied('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(allowed, 'linkdir', '*.txt') } }, [outside], watcher);
    await denied(
      'SUBSCRIBE',
      { event_types: ['FILE_CHANGED'], filter: { path: join(allowed, 'x', '.ssh', '*') } },
      ['"**/.ssh/**"'],
      watcher,
    );
    expect(kernel.subscriptions.watchers).toBe(0);
  });

  it('each event must pass the subscriber’s read check at delivery, with the rules of the moment', async () => {
    const dir = join(allowed, 'watched');
    await mkdir(join(dir, 'private'), { recursive: true });
    await mkdir(join(dir, 'conf'), { recursive: true });
    const confined = await client();
    await confine(confined, allowed);
    await confined.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(dir, '**') } });
    // A witness sees everything in the directory: once it has an event, every subscriber's fate for it is decided.
    const witness = await client({ level: 'unrestricted' });
    await witness.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(dir, '**') } });
    const seen: KernelEvent[] = [];
    const witnessed = (path: string) =>
      until(async () => {
        seen.push(...(await poll(witness, 1000)));
        return seen.some((e) => e.data.path === path);
      }, `the witness to see ${path}`);

    await writeFile(join(dir, 'conf', '.env'), SECRET);
    await writeFile(join(dir, 'conf', 'settings.json'), '{}');
    await witnessed(join(dir, 'conf', '.env'));
    await witnessed(join(dir, 'conf', 'settings.json'));
    let got = (await poll(confined)).map((e) => e.data.path);
    expect(got).toContain(join(dir, 'conf', 'settings.json'));
    expect(got).not.toContain(join(dir, 'conf', '.env'));

    // Narrowed after subscribing: the next events are judged by the new rules.
    await confined.call('SET_PERMS', { permissions: { blocked_paths: [...(await blockedOf(confined)), `${dir}/private/**`] } });
    await writeFile(join(dir, 'private', 'diary.txt'), 'x');
    await writeFile(join(dir, 'public.txt'), 'x');
    await witnessed(join(dir, 'private', 'diary.txt'));
    await witnessed(join(dir, 'public.txt'));
    got = (await poll(confined)).map((e) => e.data.path);
    expect(got).toContain(join(dir, 'public.txt'));
    expect(got).not.toContain(join(dir, 'private', 'diary.txt'));
    await rm(dir, { recursive: true, force: true });
  });
});

async function blockedOf(c: AgentOSClient): Promise<string[]> {
  return ((await c.call('GET_PERMS', {})) as { permissions: { blocked_paths: string[] } }).permissions.blocked_paths;
}

describe('SPAWN', () => {
  it('the spawner must be able to read the script and the cwd, by their real paths', async () => {
    const spawner = await client({ level: 'unrestricted' });
    await confine(spawner, allowed);
    writeFileSync(join(outside, 'agent.js'), 'setTimeout(() => {}, 60000);\n');
    symlinkSync(join(outside, 'agent.js'), join(allowed, 'agent-link.js'));
    writeFileSync(join(allowed, 'agent.js'), 'setTimeout(() => {}, 60000);\n');
    await denied('SPAWN', { name: 'outside-script', script: join(outside, 'agent.js') }, ['allowed_read_paths'], spawner);
    await denied('SPAWN', { name: 'linked-script', script: join(allowed, 'agent-link.js') }, ['resolves to', outside], spawner);
    await denied('SPAWN', { name: 'outside-cwd', script: join(allowed, 'agent.js'), cwd: outside }, ['allowed_read_paths'], spawner);
    await denied('SPAWN', { name: 'missing-outside', script: join(outside, 'nope.js') }, ['allowed_read_paths'], spawner);
    expect(kernel.agents().filter((a) => a.kind === 'process')).toHaveLength(0);
    expect(attackerId).toBeGreaterThan(0);
  });
});
