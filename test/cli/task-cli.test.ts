/**
 * `agentos task list|show|cancel` against a real kernel on a temp socket, run from the
 * TypeScript sources: the list table and --status/--json, one task's tree, cancel with a
 * reason, an unknown id, and `show --watch` following a task that completes while watched
 * (not a terminal, so every version is printed after the last).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdminToken } from '../../src/kernel/admin-token.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { tasks } from '../../src/sdk/tasks/index.js';
import { until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { type CliRun, runCli } from './run-cli.js';

let kernel: TestKernel;
let admin: AgentOSClient;
let doer: AgentOSClient;

/** `agentos task ...args` against the test kernel; `onStdout` sees the output so far as it grows. */
function agentos(args: string[], onStdout?: (text: string) => void): Promise<CliRun> {
  return runCli(['task', ...args, '--socket', kernel.socketPath, '--data-dir', kernel.options.dataDir], {
    ...(onStdout ? { onStdout } : {}),
  });
}

beforeAll(async () => {
  kernel = await startTestKernel();
  admin = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: (await readAdminToken(kernel.options.dataDir)) ?? null });
  doer = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name: 'doer' });
});
afterAll(async () => {
  await doer?.close();
  await admin?.close();
  await kernel?.cleanup();
});

describe('agentos task', () => {
  it('lists, shows and cancels tasks, as tables and as JSON', async () => {
    const t = tasks(admin);
    const done = await t.create({ description: 'finished work' });
    await t.assign({ task_id: done.task_id, agent_id: doer.agentId as number });
    await tasks(doer).complete({ task_id: done.task_id, result: 7 });
    const open = await t.create({
      description: 'split work',
      subtasks: [{ key: 'left' }, { key: 'right' }, { key: 'join', depends_on: ['left', 'right'] }],
    });

    const list = await agentos(['list']);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+status\s+done\s+failed\s+age\s+description$/);
    // Newest first.
    expect(lines[1]).toMatch(new RegExp(`^${open.task_id}\\s+pending\\s+0/3\\s+0\\s+\\S+\\s+split work$`));
    expect(lines[2]).toMatch(new RegExp(`^${done.task_id}\\s+completed\\s+1/1\\s+0\\s+\\S+\\s+finished work$`));

    const completedOnly = await agentos(['list', '--status', 'completed', '--json']);
    const listed = JSON.parse(completedOnly.stdout) as { tasks: { task_id: string }[]; count: number };
    expect(listed.tasks.map((task) => task.task_id)).toEqual([done.task_id]);
    expect(listed.count).toBe(1);
    const badStatus = await agentos(['list', '--status', 'sleeping']);
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.stderr).toContain('expected one of pending, running, completed, failed, cancelled');

    const show = await agentos(['show', open.task_id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^${open.task_id}  pending  age \\S+  created by \\d+`));
    expect(show.stdout).toMatch(/├─ left\s+pending\s+-\s+0\s+-\s+-/);
    expect(show.stdout).toMatch(/└─ join\s+pending\s+-\s+0\s+-\s+left,right/);
    const shown = JSON.parse((await agentos(['show', done.task_id, '--json'])).stdout) as { status: string; result: unknown };
    expect(shown).toMatchObject({ status: 'completed', result: 7 });

    const cancel = await agentos(['cancel', open.task_id, '--reason', 'changed my mind']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout.trim()).toBe(`${open.task_id} cancelled (3 subtasks cancelled)`);
    expect((await t.status(open.task_id)).task.status).toBe('cancelled');

    const unknown = await agentos(['show', 'task-424242']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^agentos: .*task-424242/);
  }, 60_000);

  it('show --watch prints each change until the task completes', async () => {
    const t = tasks(admin);
    const created = await t.create({ description: 'watched', subtasks: [{ key: 'first' }, { key: 'second', depends_on: ['first'] }] });
    let seen = '';
    const watching = agentos(['show', created.task_id, '--watch'], (text) => {
      seen = text;
    });
    await until(() => seen.includes('└─ second'), 'the first drawing', 20_000);
    const doerTasks = tasks(doer);
    await t.assign({ task_id: created.task_id, subtask: 'first', agent_id: doer.agentId as number });
    await t.assign({ task_id: created.task_id, subtask: 'second', agent_id: doer.agentId as number });
    await doerTasks.complete({ task_id: created.task_id, subtask_id: `${created.task_id}/first`, result: 'a' });
    await doerTasks.complete({ task_id: created.task_id, subtask_id: `${created.task_id}/second`, result: 'b' });
    const run = await watching;
    expect(run.code, run.stderr).toBe(0);
    const drawings = run.stdout.trimEnd().split('\n\n');
    // The first drawing, a few changes in between, the completed one last.
    expect(drawings.length).toBeGreaterThanOrEqual(3);
    expect(drawings[0]).toMatch(/pending/);
    expect(drawings.at(-1)).toMatch(new RegExp(`^${created.task_id}  completed  took `));
    expect(drawings.at(-1)).toMatch(/└─ second\s+completed\s+\d+ \(doer\)\s+1\s+\S+\s+first/);
    expect(drawings.at(-1)).toContain('result: {"first":"a","second":"b"}');
    const versions = drawings.map((drawing) => Number(/version (\d+)/.exec(drawing)?.[1]));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  }, 40_000);
});
