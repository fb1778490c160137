/**
 * Worker-thread agents (kernel.spawnWorker): a module's default export gets the syscall
 * client through comlink; returning ends the agent normally, throwing is a crash handled
 * by its restart type. A TypeScript module and a plain .mjs module, written at run time.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, NO_BACKOFF, until } from './support.js';

let kernel: TestKernel;
let events: EventLog;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
});
afterAll(async () => {
  events.close();
  await kernel.cleanup();
});

const alive = (id: number) => kernel.agents().some((agent) => agent.id === id);

/**
 * The agent: counts its runs in `<out>.runs` through os.exec, writes what a command
 * printed to `out` through os.write, and throws while its run number is at most `crashes`.
 * TypeScript flavour (types in the signature) or plain JavaScript.
 */
function agentSource(typed: boolean): string {
  const signature = typed
    ? 'export default async function agent(os: { exec(c: string): Promise<{ stdout: string }>; write(r: { path: string; content: string }): Promise<unknown> }, input: { out: string; crashes: number }): Promise<void>'
    : 'export default async function agent(os, input)';
  return [
    `${signature} {`,
    '  const { stdout } = await os.exec("echo run >> \'" + input.out + ".runs\' && wc -l < \'" + input.out + ".runs\'");',
    '  const run = Number(stdout.trim());',
    "  const hello = await os.exec('echo hello from worker run ' + run);",
    '  await os.write({ path: input.out, content: hello.stdout });',
    "  if (run <= input.crashes) throw new Error('worker run ' + run + ' crashed');",
    '}',
    '',
  ].join('\n');
}

async function moduleFile(name: string, typed: boolean): Promise<string> {
  const path = join(kernel.dir, name);
  await writeFile(path, agentSource(typed));
  return path;
}

describe('worker agents', () => {
  it('a TypeScript module uses os.exec and os.write, and returning ends it normally (transient: not restarted)', async () => {
    const out = join(kernel.dir, 'ts-normal.txt');
    const handle = await kernel.spawnWorker(await moduleFile('agent.ts', true), {
      name: 'ts-worker',
      restart: 'transient',
      input: { out, crashes: 0 },
    });
    await until(() => !alive(handle.id), 'worker ended');
    expect(await readFile(out, 'utf8')).toBe('hello from worker run 1\n');
    expect(events.of('AGENT_SPAWNED', handle.id)[0]?.data).toMatchObject({ name: 'ts-worker', kind: 'worker' });
    expect(events.of('AGENT_EXITED', handle.id).map((e) => e.data.reason)).toEqual(['normal']);
    expect(events.of('AGENT_RESTARTING', handle.id)).toEqual([]);
  });

  it('an .mjs module that throws is a crash: transient restarts it (same id and name) until it returns', async () => {
    const out = join(kernel.dir, 'mjs-crash.txt');
    const handle = await kernel.spawnWorker(await moduleFile('agent.mjs', false), {
      name: 'mjs-worker',
      restart: 'transient',
      backoff: NO_BACKOFF,
      input: { out, crashes: 2 },
    });
    await until(() => !alive(handle.id), 'worker ended', 10_000);
    expect(await readFile(out, 'utf8')).toBe('hello from worker run 3\n');
    const exits = events.of('AGENT_EXITED', handle.id);
    expect(exits.map((e) => e.data.reason)).toEqual(['crash', 'crash', 'normal']);
    expect(exits[0]?.data.error).toMatch(/worker run 1 crashed/);
    expect(events.of('AGENT_SPAWNED', handle.id).map((e) => [e.data.agent_id, e.data.name, e.data.restarts])).toEqual([
      [handle.id, 'mjs-worker', 0],
      [handle.id, 'mjs-worker', 1],
      [handle.id, 'mjs-worker', 2],
    ]);
  });

  it('temporary: a crash is not restarted; permanent: even a normal return is', async () => {
    const temporaryOut = join(kernel.dir, 'temporary.txt');
    const temporary = await kernel.spawnWorker(await moduleFile('temporary.mjs', false), {
      name: 'temporary-worker',
      restart: 'temporary',
      input: { out: temporaryOut, crashes: 5 },
    });
    const permanentOut = join(kernel.dir, 'permanent.txt');
    const permanent = await kernel.spawnWorker(await moduleFile('permanent.ts', true), {
      name: 'permanent-worker',
      restart: 'permanent',
      backoff: NO_BACKOFF,
      input: { out: permanentOut, crashes: 0 },
    });
    await until(() => !alive(temporary.id), 'temporary worker ended');
    expect(events.of('AGENT_EXITED', temporary.id).map((e) => e.data.reason)).toEqual(['crash']);
    expect(events.of('AGENT_RESTARTING', temporary.id)).toEqual([]);
    expect(await readFile(temporaryOut, 'utf8')).toBe('hello from worker run 1\n');

    await events.wait('AGENT_SPAWNED', permanent.id, 2, 10_000);
    expect(events.of('AGENT_EXITED', permanent.id)[0]?.data.reason).toBe('normal');
    await permanent.stop();
    expect(alive(permanent.id)).toBe(false);
  });

  it('appears in LIST as a worker and stops when asked (a shutdown, not restarted)', async () => {
    const path = join(kernel.dir, 'idle.mjs');
    const ready = join(kernel.dir, 'idle.ready');
    await writeFile(
      path,
      `export default async (os, input) => { await os.write({ path: input.ready, content: 'up' }); await new Promise(() => setInterval(() => {}, 1000)); };\n`,
    );
    const handle = await kernel.spawnWorker(path, { name: 'idle-worker', input: { ready } });
    await until(() => existsSync(ready), 'worker up');
    const client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'lister' }) });
    const rows = (await client.call('LIST')) as AgentInfo[];
    expect(rows.find((row) => row.id === handle.id)).toMatchObject({ name: 'idle-worker', kind: 'worker', state: 'running', restarts: 0 });
    await client.close();
    await handle.stop();
    expect(events.of('AGENT_EXITED', handle.id).map((e) => e.data.reason)).toEqual(['shutdown']);
    expect(events.of('AGENT_RESTARTING', handle.id)).toEqual([]);
    expect(alive(handle.id)).toBe(false);
  });

  it('a worker child in a subtree restarts with its siblings under one_for_all', async () => {
    const out = join(kernel.dir, 'sub-worker.txt');
    const handle = await kernel.supervise({
      name: 'wsub',
      strategy: 'one_for_all',
      intensity: 3,
      backoff: NO_BACKOFF,
      children: [
        { id: 'w', restart: 'transient', worker: await moduleFile('sub.mjs', false), input: { out, crashes: 1 } },
        { id: 'idle', worker: join(kernel.dir, 'idle.mjs'), input: { ready: join(kernel.dir, 'idle2.ready') } },
      ],
    });
    const idle = kernel.agents().find((agent) => agent.name === 'wsub.idle')!.id;
    // w may crash before idle's thread is even online, so wait for idle's restart, not its second start.
    await events.waitFor(
      (e) => e.type === 'AGENT_SPAWNED' && e.source_agent_id === idle && e.data.restarts === 1,
      'idle restarted',
      1,
      10_000,
    );
    await until(() => existsSync(out) && kernel.agents().every((agent) => agent.name !== 'wsub.w'), 'w returned');
    expect(await readFile(out, 'utf8')).toBe('hello from worker run 2\n');
    expect(events.of('AGENT_EXITED', idle).map((e) => e.data.reason)).toEqual(['shutdown']);
    await handle.stop();
  });
});
