/**
 * The task SDK against a real kernel on a real socket: a workflow mixing two worker roles
 * and a local step runs in DAG order and returns the aggregated result; worker() retries
 * a handler that throws once (the attempts show it); cancellation aborts the handler's
 * signal; other messages reach onMessage; waitFor resolves, rejects with the final view,
 * times out, and names an unknown task.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TASK_JSON_BYTES, type TaskView } from '../../src/protocol/schemas/tasks.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { TaskEndedError, type TaskWorker, tasks, worker, workflow } from '../../src/sdk/tasks/index.js';
import { failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
const clients: AgentOSClient[] = [];
const workers: TaskWorker[] = [];

async function connect(name: string): Promise<AgentOSClient> {
  const client = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  kernel = await startTestKernel();
});
afterAll(async () => {
  for (const running of workers) await running.stop();
  for (const client of clients) await client.close();
  await kernel?.cleanup();
});

describe('workflow', () => {
  it('runs role steps and a local step in DAG order and resolves with every step result', async () => {
    const order: string[] = [];
    const fetcher = await connect('fetcher-1');
    const parser = await connect('parser-1');
    workers.push(
      await worker(fetcher, {
        role: 'fetcher',
        handle: ({ key, input }) => {
          order.push(key);
          return { text: `words ${(input as { n: number }).n} times` };
        },
      }),
      await worker(parser, {
        role: 'parser',
        handle: async ({ key, inputs }) => {
          order.push(key);
          await new Promise((resolve) => setTimeout(resolve, 20));
          return (inputs.fetch as { text: string }).text.split(' ');
        },
      }),
    );
    const orchestrator = await connect('orchestrator');
    const seen: TaskView[] = [];
    const run = await workflow('count')
      .step('fetch', { role: 'fetcher', input: { n: 3 } })
      .step('parse', { role: 'parser', after: ['fetch'] })
      .step('count', {
        after: ['fetch', 'parse'],
        run: (inputs) => {
          order.push('count');
          return { words: (inputs.parse as string[]).length, from: (inputs.fetch as { text: string }).text };
        },
      })
      .start(orchestrator, { timeoutMs: 15_000, onUpdate: (view) => seen.push(view) });
    expect(run.task_id).toMatch(/^task-\d+$/);
    expect(await run.result).toEqual({
      fetch: { text: 'words 3 times' },
      parse: ['words', '3', 'times'],
      count: { words: 3, from: 'words 3 times' },
    });
    expect(order).toEqual(['fetch', 'parse', 'count']);
    const final = await run.task;
    expect(final.status).toBe('completed');
    expect(final.metadata).toMatchObject({ workflow: 'count' });
    const byKey = Object.fromEntries(final.subtasks.map((subtask) => [subtask.key, subtask]));
    // Each step started only after the ones it depends on ended.
    expect(byKey.parse?.started_at).toBeGreaterThanOrEqual(byKey.fetch?.ended_at ?? Number.POSITIVE_INFINITY);
    expect(byKey.count?.started_at).toBeGreaterThanOrEqual(byKey.parse?.ended_at ?? Number.POSITIVE_INFINITY);
    expect(byKey.fetch?.assigned_name).toBe('fetcher-1');
    expect(byKey.count?.role).toMatch(/^wf-[0-9a-f]{12}$/);
    // onUpdate saw versions in increasing order, ending with the completed view.
    const versions = seen.map((view) => view.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(seen.at(-1)?.status).toBe('completed');
  });

  it('refuses a bad graph before anything reaches the kernel', () => {
    const base = workflow('bad').step('a', { role: 'r' });
    expect(() => base.step('a', { role: 'r' })).toThrow(/step "a" is defined twice/);
    // @ts-expect-error: "nope" is not an earlier step
    expect(() => base.step('b', { role: 'r', after: ['nope'] })).toThrow(/runs after "nope", which is not an earlier step/);
    // @ts-expect-error: a step has a role or a run, not both
    expect(() => base.step('c', { role: 'r', run: () => 1 })).toThrow(/exactly one of role or run/);
    expect(() => workflow('empty').request('wf-x')).toThrow(/has no steps/);
  });

  it('rejects with TaskEndedError carrying the view when a local step fails', async () => {
    const client = await connect('wf-failing');
    const run = workflow('failing')
      .step('boom', {
        run: () => {
          throw new Error('no input file');
        },
      })
      .run(client, { timeoutMs: 10_000 });
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskEndedError);
    const ended = error as TaskEndedError;
    expect(ended.status).toBe('failed');
    expect(ended.task.subtasks[0]?.error).toContain('no input file');
  });
});

describe('worker', () => {
  it('a handler that throws once is retried by the kernel, and the attempts show it', async () => {
    const client = await connect('flaky-worker');
    let calls = 0;
    const attempts: number[] = [];
    workers.push(
      await worker(client, {
        role: 'flaky',
        handle: ({ attempt }) => {
          attempts.push(attempt);
          calls += 1;
          if (calls === 1) throw new Error('transient failure');
          return 'ok';
        },
      }),
    );
    const orchestrator = await connect('flaky-orchestrator');
    const t = tasks(orchestrator);
    const created = await t.create({
      description: 'flaky',
      subtasks: [{ key: 'only', role: 'flaky', retry: { max_retries: 2, backoff_ms: 10, max_backoff_ms: 50 } }],
    });
    const final = await t.waitFor(created.task_id, { timeoutMs: 10_000 });
    expect(final.result).toEqual({ only: 'ok' });
    expect(attempts).toEqual([1, 2]);
    const only = final.subtasks[0];
    expect(only?.attempts.map((a) => a.outcome)).toEqual(['failed', 'completed']);
    expect(only?.attempts[0]?.error).toBe('transient failure');
  });

  it('aborts the handler when its task is cancelled, and passes other messages to onMessage', async () => {
    const client = await connect('slow-worker');
    const other: unknown[] = [];
    let aborted: unknown;
    let started = false;
    const running = await worker(client, {
      role: 'slow',
      onMessage: (message) => other.push(message.message),
      handle: ({ signal }) =>
        new Promise((_, reject) => {
          started = true;
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            reject(signal.reason);
          });
        }),
    });
    workers.push(running);
    const orchestrator = await connect('slow-orchestrator');
    await orchestrator.send('slow-worker', { hello: 'not a task' });
    const created = await tasks(orchestrator).create({ description: 'slow', subtasks: [{ key: 'wait', role: 'slow' }] });
    await until(() => started, 'the slow handler to start');
    const waiting = tasks(orchestrator).waitFor(created.task_id, { timeoutMs: 10_000 });
    await tasks(orchestrator).cancel(created.task_id, 'enough');
    const error = (await waiting.catch((caught: unknown) => caught)) as TaskEndedError;
    expect(error).toBeInstanceOf(TaskEndedError);
    expect(error.task.status).toBe('cancelled');
    await until(() => aborted !== undefined, 'the handler to be aborted');
    expect(String(aborted)).toContain('enough');
    await until(() => other.length > 0, 'the plain message to reach onMessage');
    expect(other).toEqual([{ hello: 'not a task' }]);
    expect(running.stats).toMatchObject({ running: 0, completed: 0 });
  });

  it('a worker that exits holding a subtask: the kernel gives it to another worker of the role', async () => {
    const doomed = await connect('doomed-mapper');
    let taken = false;
    workers.push(
      await worker(doomed, {
        role: 'mapper',
        handle: () => {
          taken = true;
          return new Promise(() => undefined); // never answers: its agent exits first
        },
      }),
    );
    const orchestrator = await connect('mapper-orchestrator');
    const t = tasks(orchestrator);
    const created = await t.create({
      description: 'survive a crash',
      subtasks: [{ key: 'm', role: 'mapper', input: 21 }],
      retry: { max_retries: 1, backoff_ms: 10 },
    });
    await until(() => taken, 'the doomed worker to take the subtask');
    const survivor = await connect('survivor-mapper');
    workers.push(await worker(survivor, { role: 'mapper', handle: ({ input }) => (input as number) * 2 }));
    await doomed.close();
    const final = await t.waitFor(created.task_id, { timeoutMs: 10_000 });
    expect(final.result).toEqual({ m: 42 });
    expect(final.subtasks[0]?.attempts.map((a) => [a.agent_name, a.outcome])).toEqual([
      ['doomed-mapper', 'agent_exited'],
      ['survivor-mapper', 'completed'],
    ]);
  });

  it('a result too big for the kernel fails the attempt with the reason instead of leaving it to time out', async () => {
    const client = await connect('big-worker');
    workers.push(await worker(client, { role: 'big', handle: () => 'x'.repeat(MAX_TASK_JSON_BYTES + 10) }));
    const t = tasks(await connect('big-orchestrator'));
    const created = await t.create({ description: 'too big', subtasks: [{ key: 'huge', role: 'big' }] });
    const error = (await t.waitFor(created.task_id, { timeoutMs: 10_000 }).catch((caught: unknown) => caught)) as TaskEndedError;
    expect(error).toBeInstanceOf(TaskEndedError);
    expect(error.task.subtasks[0]?.error).toContain(
      `the result was refused: invalid TASK_COMPLETE request: field "result": expected at most ${MAX_TASK_JSON_BYTES} bytes of JSON`,
    );
  });

  it('refuses a bad concurrency', async () => {
    const client = await connect('bad-concurrency');
    await failure(worker(client, { role: 'x', concurrency: 0, handle: () => 1 }), 'INVALID_REQUEST');
  });
});

describe('waitFor', () => {
  it('resolves with the completed view, reporting each version to onUpdate', async () => {
    const creator = await connect('creator');
    const doer = await connect('doer');
    const t = tasks(creator);
    const created = await t.create({ description: 'one piece of work' });
    expect(created.subtasks).toEqual([{ subtask_id: `${created.task_id}/main`, key: 'main' }]);
    const versions: number[] = [];
    const waiting = t.waitFor(created.task_id, { timeoutMs: 10_000, onUpdate: (view) => versions.push(view.version) });
    await t.assign({ task_id: created.task_id, agent_id: doer.agentId as number });
    await tasks(doer).complete({ task_id: created.task_id, result: { answer: 42 } });
    const final = await waiting;
    expect(final.status).toBe('completed');
    expect(final.result).toEqual({ answer: 42 });
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions.at(-1)).toBe(final.version);
  });

  it('times out on a task that does not end, and names an unknown task', async () => {
    const client = await connect('impatient');
    const t = tasks(client);
    const created = await t.create({ description: 'never assigned' });
    const late = await t.waitFor(created.task_id, { timeoutMs: 150 }).catch((caught: unknown) => caught);
    expect(late).toBeInstanceOf(AgentOSError);
    expect((late as AgentOSError).code).toBe('TIMEOUT');
    expect((late as AgentOSError).message).toContain(created.task_id);
    await failure(t.waitFor('task-999999'), 'NOT_FOUND');
    await failure(t.create({ description: 'cyclic', subtasks: [{ key: 'a', depends_on: ['a'] }] }), 'INVALID_REQUEST');
    const abort = new AbortController();
    const aborted = t.waitFor(created.task_id, { signal: abort.signal }).catch((caught: unknown) => caught);
    abort.abort(new Error('stop waiting'));
    expect(String(await aborted)).toContain('stop waiting');
    await t.cancel(created.task_id);
  });
});
