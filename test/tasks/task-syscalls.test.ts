/**
 * The task syscalls against a real kernel on a real socket: a task delivered to its
 * assignee as a message from the kernel, completed, and published as TASK_UPDATED; a DAG
 * of role subtasks whose dependents get their dependencies' results; roles with no live
 * agent; TASK_STATUS long polls; cancellation reaching assignees; who may complete,
 * assign and cancel; every bad input of the issue (state unchanged after each); and a
 * spawned process agent that crashes holding a running subtask, retried on another agent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { MAX_TASK_JSON_BYTES } from '../../src/protocol/schemas/tasks.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import {
  AGNT_MJS,
  adminToken,
  connect,
  failure,
  readJsonWhenThere,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';
import { nextMessage, noMessage, statusOf, subtask, waitTask } from './task-syscalls-support.js';

let kernel: TestKernel;
let dir: string;
let boss: AgentOSClient;
const clients: AgentOSClient[] = [];

async function client(): Promise<AgentOSClient> {
  const c = await connect(kernel);
  clients.push(c);
  return c;
}

/** A client that took `role`. */
async function roleWorker(role: string): Promise<AgentOSClient> {
  const worker = await client();
  expect(await worker.register({ role })).toMatchObject({ success: true, agent_id: worker.agentId, role });
  return worker;
}

beforeAll(async () => {
  // Frames above the 1 MiB task JSON limit, so an enormous result meets the task limit's own error (at the
  // default frame limit, the same size is refused as BAD_FRAME before it is read).
  kernel = await startAgentsKernel({ maxPayload: 4 * 1024 * 1024 });
  dir = await mkdtemp(join(tmpdir(), 'agentos-tasks-'));
  boss = await client();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await kernel?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('one task, one assignee', () => {
  it('delivers the subtask from the kernel, completes it with its result, and publishes each change', async () => {
    const subscriber = await client();
    await subscriber.subscribe(['TASK_UPDATED']);
    const worker = await client();

    const created = await boss.taskCreate({ description: 'add two numbers', metadata: { origin: 'test' } });
    expect(created).toMatchObject({ success: true, status: 'pending', subtasks: [{ key: 'main', subtask_id: `${created.task_id}/main` }] });
    expect(created.task_id).toMatch(/^task-\d+$/);

    const assigned = await boss.taskAssign({ task_id: created.task_id, agent_id: worker.agentId as number });
    expect(assigned).toMatchObject({ task_id: created.task_id, subtask_id: `${created.task_id}/main`, assigned_to: worker.agentId });

    const message = await nextMessage(worker, 'task.assigned');
    expect(message).toMatchObject({ from: 0, from_name: 'kernel', task_id: created.task_id, key: 'main', attempt: 1, inputs: {} });
    const running = await statusOf(boss, created.task_id);
    expect(running).toMatchObject({ status: 'running', created_by: boss.agentId, metadata: { origin: 'test' } });
    expect(subtask(running, 'main')).toMatchObject({ status: 'running', assigned_to: worker.agentId });

    const done = await worker.taskComplete({ task_id: created.task_id, result: { sum: 5 } });
    expect(done).toMatchObject({ status: 'completed', subtask_status: 'completed' });
    const finished = await statusOf(boss, created.task_id);
    expect(finished).toMatchObject({ status: 'completed', result: { sum: 5 }, error: null });
    expect(subtask(finished, 'main').attempts).toMatchObject([{ agent_id: worker.agentId, outcome: 'completed' }]);

    // Completing twice is a conflict, and changes nothing.
    await failure(worker.taskComplete({ task_id: created.task_id, result: { sum: 6 } }), 'CONFLICT');
    expect(await statusOf(boss, created.task_id)).toEqual(finished);

    // The subscriber saw the task go through its kinds, each with a newer version.
    const seen: KernelEvent[] = [];
    await until(async () => {
      const polled = (await subscriber.call('POLL_EVENTS', { max: 100, wait_ms: 200 })) as { events: KernelEvent[] };
      seen.push(...polled.events.filter((event) => event.data.task_id === created.task_id));
      return seen.some((event) => event.data.status === 'completed');
    }, 'TASK_UPDATED completed');
    const kinds = seen.map((event) => event.data.kind);
    expect(kinds).toEqual(expect.arrayContaining(['created', 'assigned', 'running', 'completed']));
    const versions = seen.map((event) => event.data.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(seen.find((event) => event.data.kind === 'completed')).toMatchObject({
      type: 'TASK_UPDATED',
      source_agent_id: worker.agentId,
      data: { subtask_id: `${created.task_id}/main`, subtask_status: 'completed' },
    });

    // TASK_LIST: newest first, filtered by status.
    const listed = await boss.taskList({ status: 'completed' });
    expect(listed.tasks.map((task) => task.task_id)).toContain(created.task_id);
    expect(listed.tasks.every((task) => task.status === 'completed')).toBe(true);
    expect(listed.count).toBe(listed.tasks.length);
  });
});

describe('a DAG of role subtasks', () => {
  it('runs dependencies first and passes their results on; the task result aggregates every subtask', async () => {
    const mappers = [await roleWorker('dag-mapper'), await roleWorker('dag-mapper')];
    const reducer = await roleWorker('dag-reducer');
    const created = await boss.taskCreate({
      description: 'count words',
      subtasks: [
        { key: 'reduce', role: 'dag-reducer', depends_on: ['left', 'right'] },
        { key: 'left', role: 'dag-mapper', input: 'a b c' },
        { key: 'right', role: 'dag-mapper', input: 'd e' },
      ],
    });
    // The reducer has nothing yet: its dependencies have not completed.
    const first = await Promise.all(mappers.map((mapper) => nextMessage(mapper, 'task.assigned')));
    expect(first.map((message) => message.key).sort()).toEqual(['left', 'right']);
    expect(await noMessage(reducer, 'task.assigned')).toBe(true);
    expect(subtask(await statusOf(boss, created.task_id), 'reduce').status).toMatch(/^(pending|assigned)$/);

    for (let index = 0; index < first.length; index++) {
      const message = first[index] as (typeof first)[number];
      const words = String(message.input).split(' ').length;
      await mappers[index]?.taskComplete({ task_id: created.task_id, subtask_id: message.subtask_id, result: words });
    }
    const reduce = await nextMessage(reducer, 'task.assigned');
    expect(reduce).toMatchObject({ key: 'reduce', inputs: { left: 3, right: 2 } });
    await reducer.taskComplete({ task_id: created.task_id, subtask_id: reduce.subtask_id, result: 5 });

    const done = await statusOf(boss, created.task_id);
    expect(done).toMatchObject({ status: 'completed', result: { left: 3, right: 2, reduce: 5 } });
  });

  it('keeps a role subtask pending while no live agent has the role, and dispatches it when one takes it', async () => {
    const created = await boss.taskCreate({ description: 'later', subtasks: [{ key: 'only', description: 'wait for a taker' }] });
    const pending = await boss.taskAssign({ task_id: created.task_id, subtask: 'only', role: 'nobody-yet' });
    expect(pending).toMatchObject({ status: 'pending', assigned_to: null });
    const late = await roleWorker('nobody-yet');
    const message = await nextMessage(late, 'task.assigned');
    expect(message).toMatchObject({ task_id: created.task_id, key: 'only', description: 'wait for a taker' });
    expect(subtask(await statusOf(boss, created.task_id), 'only')).toMatchObject({ status: 'running', assigned_to: late.agentId });
    await late.taskComplete({ task_id: created.task_id, subtask_id: message.subtask_id, result: 'ok' });
  });
});

describe('TASK_STATUS with wait_ms', () => {
  it('wakes on a change, and answers unchanged after wait_ms when nothing happens', async () => {
    const worker = await client();
    const created = await boss.taskCreate({ description: 'watched' });
    const before = await statusOf(boss, created.task_id);
    const quiet = await boss.taskStatus({ task_id: created.task_id, wait_ms: 100 });
    expect(quiet).toMatchObject({ changed: false, task: { version: before.version } });

    const watcher = await client();
    const started = Date.now();
    const waiting = watcher.taskStatus({ task_id: created.task_id, since_version: before.version, wait_ms: 30_000 });
    await boss.taskAssign({ task_id: created.task_id, agent_id: worker.agentId as number });
    const woke = await waiting;
    expect(woke.changed).toBe(true);
    expect(woke.task.version).toBeGreaterThan(before.version);
    expect(Date.now() - started).toBeLessThan(25_000);

    // An older since_version answers at once.
    expect(await watcher.taskStatus({ task_id: created.task_id, since_version: 0, wait_ms: 30_000 })).toMatchObject({ changed: true });

    // A long poll whose connection closes goes with it; the kernel keeps serving.
    const leaving = await connect(kernel);
    const abandoned = leaving.taskStatus({ task_id: created.task_id, wait_ms: 30_000 }).catch(() => 'closed');
    await leaving.close();
    expect(await abandoned).toBe('closed');
    await boss.taskCancel({ task_id: created.task_id });
    expect((await statusOf(boss, created.task_id)).status).toBe('cancelled');
  });
});

describe('timeouts', () => {
  it('fails an attempt that outlives its timeout_ms and, without retries left, the task', async () => {
    const sleeper = await client();
    const created = await boss.taskCreate({ description: 'too slow', subtasks: [{ key: 'slow', timeout_ms: 100 }] });
    await boss.taskAssign({ task_id: created.task_id, subtask: 'slow', agent_id: sleeper.agentId as number });
    expect(await nextMessage(sleeper, 'task.assigned')).toMatchObject({ key: 'slow', deadline: expect.any(Number) });
    const failed = await waitTask(boss, created.task_id, (task) => task.status === 'failed');
    expect(failed.error).toContain('slow');
    expect(subtask(failed, 'slow')).toMatchObject({ status: 'failed', attempts: [{ outcome: 'timed_out' }] });
    // Too late now: the answer is refused and the task stays failed.
    await failure(sleeper.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/slow`, result: 'late' }), 'CONFLICT');
    expect((await statusOf(boss, created.task_id)).status).toBe('failed');
  });
});

describe('cancellation', () => {
  it('cancels every unfinished subtask and tells the assignees holding one', async () => {
    const a = await client();
    const b = await client();
    const created = await boss.taskCreate({
      description: 'to be cancelled',
      subtasks: [{ key: 'one' }, { key: 'two' }, { key: 'three', depends_on: ['one'] }],
    });
    await boss.taskAssign({ task_id: created.task_id, subtask: 'one', agent_id: a.agentId as number });
    await boss.taskAssign({ task_id: created.task_id, subtask: `${created.task_id}/two`, agent_id: b.agentId as number });
    await nextMessage(a, 'task.assigned');
    await nextMessage(b, 'task.assigned');

    const cancelled = await boss.taskCancel({ task_id: created.task_id, reason: 'changed my mind' });
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelled_subtasks: 3 });
    for (const worker of [a, b]) {
      expect(await nextMessage(worker, 'task.cancelled')).toMatchObject({ task_id: created.task_id, from: 0 });
    }
    const view = await statusOf(boss, created.task_id);
    expect(view.status).toBe('cancelled');
    expect(view.subtasks.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    // Too late to complete, or to cancel again.
    await failure(a.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/one`, result: 1 }), 'CONFLICT');
  });
});

describe('permissions', () => {
  it('lets only the assignee, the creator or the admin complete; only the creator (or its spawners) or the admin assign and cancel', async () => {
    const worker = await client();
    const stranger = await client();
    const created = await boss.taskCreate({ description: 'guarded', subtasks: [{ key: 'x' }, { key: 'y' }] });
    await boss.taskAssign({ task_id: created.task_id, subtask: 'x', agent_id: worker.agentId as number });
    const before = await statusOf(boss, created.task_id);

    await failure(
      stranger.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/x`, result: 'mine' }),
      'PERMISSION_DENIED',
    );
    await failure(
      stranger.taskAssign({ task_id: created.task_id, subtask: 'y', agent_id: stranger.agentId as number }),
      'PERMISSION_DENIED',
    );
    await failure(stranger.taskCancel({ task_id: created.task_id }), 'PERMISSION_DENIED');
    // A worker may complete its own subtask, not another one.
    await failure(
      worker.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/y`, result: 'not mine' }),
      'PERMISSION_DENIED',
    );
    expect(await statusOf(boss, created.task_id)).toEqual(before);

    // Anyone may read: the board is shared.
    expect((await stranger.taskStatus({ task_id: created.task_id })).task.task_id).toBe(created.task_id);
    expect(await worker.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/x`, result: 'x' })).toMatchObject({
      subtask_status: 'completed',
    });
    // The admin may complete any subtask, and then the task is complete.
    const admin = await connect(kernel, adminToken(kernel));
    clients.push(admin);
    expect(await admin.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/y`, result: 'y' })).toMatchObject({
      status: 'completed',
    });
    expect((await statusOf(boss, created.task_id)).result).toEqual({ x: 'x', y: 'y' });
  });
});

describe('lineage', () => {
  it("lets the creator's spawner cancel its task, as the creator may", async () => {
    script(dir, 'agnt.mjs', AGNT_MJS);
    const creator = script(
      dir,
      'creator.mjs',
      `import { agnt, report } from './agnt.mjs';
const [socketPath, out] = process.argv.slice(2);
const conn = agnt(socketPath);
await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN });
const created = await conn.call(0x80, { description: 'made by a child' });
report(out, created.reply);
setInterval(() => {}, 1000);
`,
    );
    const out = join(dir, 'creator.json');
    const spawned = await spawnAgent(boss, { name: 'task-creator', script: creator, args: [out] });
    const created = await readJsonWhenThere<{ task_id: string }>(out);
    expect((await statusOf(boss, created.task_id)).created_by).toBe(spawned.agent_id);
    const stranger = await client();
    await failure(stranger.taskCancel({ task_id: created.task_id }), 'PERMISSION_DENIED');
    expect(await boss.taskCancel({ task_id: created.task_id })).toMatchObject({ status: 'cancelled' });
    await boss.call('KILL', { id: spawned.agent_id });
  });
});

describe('bad input', () => {
  it('refuses with clear errors and leaves every task as it was', async () => {
    const worker = await client();
    const created = await boss.taskCreate({ description: 'bystander', subtasks: [{ key: 'a' }] });
    const before = await statusOf(boss, created.task_id);

    // Unknown task and subtask ids.
    for (const call of [
      boss.taskStatus({ task_id: 'task-999999' }),
      boss.taskAssign({ task_id: 'task-999999', agent_id: worker.agentId as number }),
      boss.taskComplete({ task_id: 'task-999999', result: 1 }),
      boss.taskCancel({ task_id: 'task-999999' }),
      boss.taskAssign({ task_id: created.task_id, subtask: 'no-such-key', agent_id: worker.agentId as number }),
      boss.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/nope`, result: 1 }),
    ]) {
      const error = await failure(call, 'NOT_FOUND');
      expect(error.message).toMatch(/task-999999|no-such-key|nope/);
    }

    // Cycles, dependencies on unknown subtasks, duplicate keys, unknown task dependencies.
    const cycle = await failure(
      boss.taskCreate({
        description: 'cycle',
        subtasks: [
          { key: 'p', depends_on: ['q'] },
          { key: 'q', depends_on: ['p'] },
        ],
      }),
      'INVALID_REQUEST',
    );
    expect(cycle.message).toMatch(/cycle/i);
    await failure(boss.taskCreate({ description: 'self', subtasks: [{ key: 'p', depends_on: ['p'] }] }), 'INVALID_REQUEST');
    const unknown = await failure(
      boss.taskCreate({ description: 'dangling', subtasks: [{ key: 'p', depends_on: ['ghost'] }] }),
      'INVALID_REQUEST',
    );
    expect(unknown.message).toContain('ghost');
    await failure(boss.taskCreate({ description: 'twice', subtasks: [{ key: 'p' }, { key: 'p' }] }), 'INVALID_REQUEST');
    const afterNothing = await failure(boss.taskCreate({ description: 'after nothing', depends_on: ['task-999999'] }), 'NOT_FOUND');
    expect(afterNothing.message).toContain('task-999999');
    await failure(boss.taskCreate({ description: 'empty', subtasks: [] }), 'INVALID_REQUEST');

    // Malformed requests name their field.
    const both = await failure(
      boss.taskAssign({ task_id: created.task_id, agent_id: worker.agentId as number, role: 'mapper' }),
      'INVALID_REQUEST',
    );
    expect(both.message).toMatch(/only one of/);
    await failure(boss.taskAssign({ task_id: created.task_id } as never), 'INVALID_REQUEST');
    await failure(boss.call('TASK_CREATE', { subtasks: [] }), 'INVALID_REQUEST');
    await failure(boss.call('TASK_STATUS', { task_id: created.task_id, wait_ms: 10_000_000 }), 'INVALID_REQUEST');
    await failure(boss.call('REGISTER', {}), 'INVALID_REQUEST');

    // An enormous result is refused; the subtask is still the assignee's to complete.
    await boss.taskAssign({ task_id: created.task_id, subtask: 'a', agent_id: worker.agentId as number });
    await nextMessage(worker, 'task.assigned');
    const huge = 'x'.repeat(MAX_TASK_JSON_BYTES + 10);
    const tooBig = await failure(
      worker.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/a`, result: huge }),
      'INVALID_REQUEST',
    );
    expect(tooBig.message).toMatch(/bytes/);
    expect(subtask(await statusOf(boss, created.task_id), 'a').status).toBe('running');

    // Assigning to an agent that has exited, or never existed.
    const gone = await client();
    const goneId = gone.agentId as number;
    await gone.close();
    await until(() => !kernel.agents().some((agent) => agent.id === goneId), 'the closed client to end');
    const other = await boss.taskCreate({ description: 'for the departed' });
    await failure(boss.taskAssign({ task_id: other.task_id, agent_id: goneId }), 'NOT_FOUND');
    await failure(boss.taskAssign({ task_id: other.task_id, agent_name: 'nobody-by-that-name' }), 'NOT_FOUND');
    expect((await statusOf(boss, other.task_id)).status).toBe('pending');
    expect(subtask(await statusOf(boss, other.task_id), 'main').assigned_to).toBeNull();

    // The bystander is as it was, but for its one legitimate assignment.
    const after = await statusOf(boss, created.task_id);
    expect(after.subtasks.map((s) => s.key)).toEqual(before.subtasks.map((s) => s.key));
    expect(after.status).toBe('running');
    expect(await worker.taskComplete({ task_id: created.task_id, subtask_id: `${created.task_id}/a`, result: 'small' })).toMatchObject({
      status: 'completed',
    });
  });
});

describe('an assignee that crashes', () => {
  it('fails its running subtask, which is retried on another agent of the same role', async () => {
    script(dir, 'agnt.mjs', AGNT_MJS);
    const crasher = script(
      dir,
      'crasher.mjs',
      `import { agnt, report } from './agnt.mjs';
// The kernel passes its socket path first, then SPAWN's args.
const [socketPath, out] = process.argv.slice(2);
const conn = agnt(socketPath);
await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN });
const registered = await conn.call(0x23, { role: 'cruncher' });
report(out + '.ready', registered.reply);
for (;;) {
  const { reply } = await conn.call(0x21, { max: 1, wait_ms: 10000 });
  const got = reply.messages?.[0]?.message;
  if (got?.type === 'task.assigned') {
    report(out, got);
    process.exit(3);
  }
}
`,
    );
    const out = join(dir, 'crasher.json');
    const spawned = await spawnAgent(boss, { name: 'crasher', script: crasher, args: [out] });
    const ready = await readJsonWhenThere(`${out}.ready`).catch(async (error) => {
      throw new Error(`${error}; its log: ${JSON.stringify(await boss.call('LOGS', { id: spawned.agent_id }))}`);
    });
    expect(ready).toMatchObject({ success: true, role: 'cruncher', agent_id: spawned.agent_id });

    const created = await boss.taskCreate({
      description: 'crunch',
      subtasks: [
        { key: 'crunch', role: 'cruncher', input: 21, retry: { max_retries: 2, backoff_ms: 10, max_backoff_ms: 50, reassign: true } },
      ],
    });
    const taken = await readJsonWhenThere<{ key: string; attempt: number }>(out);
    expect(taken).toMatchObject({ key: 'crunch', attempt: 1 });

    // The crash fails the attempt; the retry goes to the next agent to take the role.
    await waitTask(boss, created.task_id, (task) => subtask(task, 'crunch').attempts[0]?.outcome === 'agent_exited');
    const rescuer = await roleWorker('cruncher');
    const retried = await nextMessage(rescuer, 'task.assigned');
    expect(retried).toMatchObject({ key: 'crunch', attempt: 2, input: 21 });
    await rescuer.taskComplete({ task_id: created.task_id, subtask_id: retried.subtask_id, result: 42 });

    const done = await statusOf(boss, created.task_id);
    expect(done).toMatchObject({ status: 'completed', result: { crunch: 42 } });
    expect(subtask(done, 'crunch').attempts).toMatchObject([
      { agent_id: spawned.agent_id, outcome: 'agent_exited' },
      { agent_id: rescuer.agentId, outcome: 'completed' },
    ]);
  });
});
