/** A kernel restart: close the engine, open another on the same file. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, createMachine } from 'xstate';
import { TaskCreateRequest } from '../../src/protocol/schemas/tasks.js';
import { caller, FakeAgents, type Harness, harness } from './support.js';

const req = (input: unknown) => TaskCreateRequest.parse(input);

let h: Harness;
beforeEach(() => {
  h = harness();
  h.agents.add(10, { name: 'orch' });
  h.agents.add(21, { name: 'w1', roles: ['worker'] });
});
afterEach(async () => {
  await h.cleanup();
});

describe('restart persistence', () => {
  it('loads unfinished tasks; running subtasks fail their attempt and retry; ids are never reused', async () => {
    const ORCH = caller(10, { name: 'orch' });
    await h.engine.create(req({ description: 'done' }), ORCH);
    await h.engine.complete({ task_id: 'task-1', result: 'kept' }, ORCH);
    await h.engine.create(
      req({
        description: 'mr',
        subtasks: [
          { key: 'a', role: 'worker' },
          { key: 'b', depends_on: ['a'], role: 'worker' },
        ],
        retry: { max_retries: 1, backoff_ms: 100 },
      }),
      ORCH,
    );
    await h.engine.create(req({ description: 'named', retry: { max_retries: 1, backoff_ms: 100 } }), ORCH);
    await h.engine.assign({ task_id: 'task-3', agent_name: 'w1' }, ORCH);
    expect(h.agents.assigned(21).map((m) => m.subtask_id)).toEqual(['task-2/a', 'task-3/main']);

    // The new run: agent ids start over; "w1" is back under another id, "orch" too.
    h.agents.agents.clear();
    h.agents.deliveries.length = 0;
    await h.restart();
    const mr = h.engine.require('task-2', 'x');
    expect(mr.status).toBe('running');
    expect(mr.subtasks[0]).toMatchObject({ attempts: [{ outcome: 'agent_exited', error: 'the kernel restarted' }] });
    expect(mr.subtasks[0]?.retry_at).not.toBeNull();
    expect(h.engine.require('task-1', 'x')).toMatchObject({ status: 'completed', result: 'kept' });

    h.agents.add(3, { name: 'w1', roles: ['worker'] });
    h.agents.add(4, { name: 'orch' });
    h.engine.roleAvailable('worker');
    h.time.advance(100);
    expect(h.agents.assigned(3).map((m) => [m.subtask_id, m.attempt])).toEqual([
      ['task-2/a', 2],
      ['task-3/main', 2],
    ]);
    await h.engine.complete({ task_id: 'task-2', subtask_id: 'a', result: 1 }, caller(3));
    expect(h.agents.assigned(3).find((m) => m.key === 'b')?.inputs).toEqual({ a: 1 });
    // Old ids mean nothing now, and a name is no proof: neither id 10 nor "orch" (agent 4) may cancel; the admin may.
    await expect(h.engine.cancel('task-3', undefined, caller(10))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(h.engine.cancel('task-3', undefined, caller(4, { name: 'orch' }))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await h.engine.cancel('task-3', 'bye', caller(99, { admin: true }));
    expect(h.agents.cancelled(3).map((m) => m.subtask_id)).toEqual(['task-3/main']);
    expect((await h.engine.create(req({ description: 'new' }), caller(4, { name: 'orch' }))).task_id).toBe('task-4');

    await h.restart();
    expect(h.engine.require('task-3', 'x').status).toBe('cancelled');
    expect(h.engine.list({ limit: 10 }).map((t) => t.task_id)).toEqual(['task-4', 'task-3', 'task-2', 'task-1']);
  });

  it('a running subtask without retries left fails its task at load', async () => {
    const agents = new FakeAgents();
    await h.cleanup();
    h = harness({ agents });
    agents.add(21, { name: 'w1', roles: ['worker'] });
    await h.engine.create(req({ description: 'x', subtasks: [{ key: 'a', role: 'worker' }, { key: 'b' }] }), caller(10));
    await h.restart();
    expect(h.engine.require('task-1', 'x')).toMatchObject({
      status: 'failed',
      error: 'subtask "a" failed: the kernel restarted (attempt 1 of 1)',
    });
    // The old run's agent 21 is not told anything: its id means nothing now.
    expect(agents.cancelled()).toEqual([]);
  });
});

describe('lifecycle actors', () => {
  it('tasks loaded before the tasks supervisor exists are moved under it, in the state they were in', async () => {
    let supervisor: AnyActorRef | undefined;
    await h.cleanup();
    h = harness({ supervisor: () => supervisor });
    h.agents.add(21, { name: 'w1', roles: ['worker'] });
    await h.engine.create(TaskCreateRequest.parse({ description: 'x', subtasks: [{ key: 'a', role: 'worker' }] }), caller(10));
    const before = h.engine.lifecycle('task-1');
    expect(before?.getSnapshot().value).toBe('running');

    supervisor = createActor(createMachine({})).start();
    h.engine.adoptActors();
    const after = h.engine.lifecycle('task-1');
    expect(after).not.toBe(before);
    expect(after?.getSnapshot().value).toBe('running');
    expect(after?.system).toBe(supervisor.system);
    // Made with the supervisor there: parented at once.
    await h.engine.create(TaskCreateRequest.parse({ description: 'y' }), caller(10));
    expect(h.engine.lifecycle('task-2')?.system).toBe(supervisor.system);
  });
});
