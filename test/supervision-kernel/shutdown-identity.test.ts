/**
 * Stopping with a budget, and identity across restarts, with real processes and actors:
 * a process child that ignores SIGTERM is killed after its `shutdown` budget, one that
 * obeys ends at once; a restarted agent keeps its id and name (and a process agent gets
 * a new pid and a new token that binds its connection to the same record).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import type { AgentInfo } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, idOf, NO_BACKOFF, Puppets, sleep, until } from './support.js';

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

/** A node script that writes `<ready>` once its SIGTERM handling is set up, then idles. */
async function script(name: string, ignoreTerm: boolean): Promise<string> {
  const path = join(kernel.dir, `${name}.mjs`);
  await writeFile(
    path,
    [
      "import { writeFileSync } from 'node:fs';",
      ignoreTerm ? "process.on('SIGTERM', () => {});" : '',
      'writeFileSync(process.argv[3], String(process.pid));',
      'setInterval(() => {}, 1000);',
      '',
    ].join('\n'),
  );
  return path;
}

describe('shutdown budget', () => {
  it('a process child that ignores SIGTERM is killed after its shutdown (300 ms); an obedient one stops at once', async () => {
    const stubbornReady = join(kernel.dir, 'stubborn.ready');
    const politeReady = join(kernel.dir, 'polite.ready');
    const handle = await kernel.supervise({
      name: 'budget',
      children: [
        { id: 'polite', shutdown: 300, process: { script: await script('polite', false), args: [politeReady] } },
        { id: 'stubborn', shutdown: 300, process: { script: await script('stubborn', true), args: [stubbornReady] } },
      ],
    });
    await until(() => existsSync(stubbornReady) && existsSync(politeReady), 'both processes ready');
    const polite = idOf(kernel, 'budget.polite');
    const stubborn = idOf(kernel, 'budget.stubborn');

    const asked = Date.now();
    await handle.stop();
    // Reverse order: stubborn first (SIGTERM ignored, SIGKILL after 300 ms), then polite (SIGTERM).
    const [stubbornExit] = events.of('AGENT_EXITED', stubborn);
    const [politeExit] = events.of('AGENT_EXITED', polite);
    expect(stubbornExit?.data).toMatchObject({ signal: 'SIGKILL', reason: 'shutdown' });
    expect(politeExit?.data).toMatchObject({ signal: 'SIGTERM', reason: 'shutdown' });
    const stubbornTook = stubbornExit!.timestamp - asked;
    expect(stubbornTook).toBeGreaterThanOrEqual(295);
    expect(stubbornTook).toBeLessThan(2000);
    expect(politeExit!.timestamp).toBeGreaterThanOrEqual(stubbornExit!.timestamp);
    // polite needed none of its budget: SIGTERM ended it (a kill would read SIGKILL).
    expect(politeExit!.timestamp - stubbornExit!.timestamp).toBeLessThan(1000);
    expect(kernel.agents().some((agent) => agent.name?.startsWith('budget'))).toBe(false);
  });

  it('brutal_kill does not wait: a process ignoring SIGTERM is killed at once', async () => {
    const ready = join(kernel.dir, 'brutal.ready');
    const handle = await kernel.supervise({
      name: 'brutal',
      children: [{ id: 'p', shutdown: 'brutal_kill', process: { script: await script('brutal', true), args: [ready] } }],
    });
    await until(() => existsSync(ready), 'process ready');
    const id = idOf(kernel, 'brutal.p');
    const asked = Date.now();
    await handle.stop();
    const [exit] = events.of('AGENT_EXITED', id);
    expect(exit?.data).toMatchObject({ signal: 'SIGKILL', reason: 'shutdown' });
    // Far below the 5000 ms a default budget would wait.
    expect(exit!.timestamp - asked).toBeLessThan(1000);
  });
});

describe('identity across restarts', () => {
  it('an actor agent keeps its id and name; its logic sees the same agentId and its os client works again', async () => {
    const seen: number[] = [];
    let runs = 0;
    const logic = fromPromise<void, { agentId: number; os: AgentOSClient }>(async ({ input }) => {
      seen.push(input.agentId);
      const { stdout } = await input.os.exec(`echo run-${++runs}`);
      if (stdout.trim() === 'run-1') throw new Error('first run crashes');
      await new Promise(() => {});
    });
    const handle = await kernel.spawn(logic, { name: 'same-actor', backoff: NO_BACKOFF });
    await events.wait('AGENT_SPAWNED', handle.id, 2);
    await until(() => seen.length === 2, 'second run');
    expect(seen).toEqual([handle.id, handle.id]);
    const spawned = events
      .of('AGENT_SPAWNED', handle.id)
      .map((e) => ({ id: e.data.agent_id, name: e.data.name, restarts: e.data.restarts }));
    expect(spawned).toEqual([
      { id: handle.id, name: 'same-actor', restarts: 0 },
      { id: handle.id, name: 'same-actor', restarts: 1 },
    ]);
    expect(
      kernel
        .agents()
        .filter((agent) => agent.name === 'same-actor')
        .map((agent) => agent.id),
    ).toEqual([handle.id]);
    await handle.stop();
  });

  it('a process child keeps its id and name, gets a new pid, and its token binds the new connection to the same record', async () => {
    // Connects back with its token, reports who it is, then crashes the first time only.
    // .mts: outside a "type": "module" package, a .ts file would be CommonJS (no top-level await).
    const path = join(kernel.dir, 'whoami.mts');
    const sdk = join(import.meta.dirname, '..', '..', 'src', 'sdk', 'index.ts');
    const marker = join(kernel.dir, 'whoami.ran');
    await writeFile(
      path,
      [
        "import { existsSync, writeFileSync, appendFileSync } from 'node:fs';",
        `import { AgentOSClient } from ${JSON.stringify(sdk)};`,
        'const os = await AgentOSClient.connect();',
        `appendFileSync(${JSON.stringify(`${marker}.log`)}, JSON.stringify({ id: os.agentId, env: process.env.AGENTOS_AGENT_ID, name: os.helloReply?.name, pid: process.pid }) + '\\n');`,
        `if (!existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, 'x'); process.exit(3); }`,
        'setInterval(() => {}, 1000);',
        '',
      ].join('\n'),
    );
    const puppets = new Puppets();
    const handle = await kernel.supervise({
      name: 'ident',
      strategy: 'one_for_one',
      backoff: NO_BACKOFF,
      children: [
        { id: 'proc', shutdown: 1000, process: { script: path } },
        { id: 'other', actor: puppets.actor('other') },
      ],
    });
    const id = idOf(kernel, 'ident.proc');
    const reportsOf = async () =>
      existsSync(`${marker}.log`)
        ? (await readFile(`${marker}.log`, 'utf8'))
            .split('\n')
            .filter((line) => line.endsWith('}'))
            .map((line) => JSON.parse(line) as { id: number; env: string; name: string; pid: number })
        : [];
    let reports = await reportsOf();
    for (const deadline = Date.now() + 10_000; reports.length < 2 && Date.now() < deadline; reports = await reportsOf()) await sleep(20);
    expect(reports.map((r) => [r.id, r.env, r.name])).toEqual([
      [id, String(id), 'ident.proc'],
      [id, String(id), 'ident.proc'],
    ]);
    expect(reports[0]!.pid).not.toBe(reports[1]!.pid);
    const [first, second] = events.of('AGENT_SPAWNED', id);
    expect(first!.data.pid).toBe(reports[0]!.pid);
    expect(second!.data).toMatchObject({ agent_id: id, name: 'ident.proc', restarts: 1, pid: reports[1]!.pid });
    expect(events.of('AGENT_EXITED', id)[0]?.data).toMatchObject({ exit_code: 3, reason: 'crash' });

    // LIST shows one row for it, with its restart count.
    const client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'lister' }) });
    const rows = (await client.call('LIST')) as AgentInfo[];
    expect(rows.filter((row) => row.name === 'ident.proc')).toEqual([
      expect.objectContaining({ id, kind: 'process', state: 'running', restarts: 1, pid: reports[1]!.pid, parent_id: handle.id }),
    ]);
    await client.close();
    await handle.stop();
  });
});
