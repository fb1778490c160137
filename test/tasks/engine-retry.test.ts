/** Timeouts, retries with backoff, reassignment within a role, assignee exits, task deadlines: on a manual clock. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskCreateRequest } from '../../src/protocol/schemas/tasks.js';
import { caller, type Harness, harness } from './support.js';

const ORCH = caller(10, { name: 'orch' });
const req = (input: unknown) => TaskCreateRequest.parse(input);

let h: Harness;
beforeEach(() => {
  h = harness();
  h.agents.add(10, { name: 'orch' });
  h.agents.add(21, { name: 'w1', roles: ['worker'] });
  h.agents.add(22, { name: 'w2', roles: ['worker'] });
});
afterEach(async () => {
  await h.cleanup();
});

describe('attempt timeouts and retries', () => {
  it('a timed-out attempt waits backoff × 2^(n-1), goes to another agent of the role, and the late result is refused', async () => {
    await h.engine.create(
      req({
        description: 'x',
        subtasks: [{ key: 's', role: 'worker', timeout_ms: 1000 }],
        retry: { max_retries: 2, backoff_ms: 100, max_backoff_ms: 150 },
      }),
      ORCH,
    );
    expect(h.agents.assigned().map((m) => [m.attempt, m.deadline])).toEqual([[1, h.time.now() + 1000]]);
    h.time.advance(1000);
    let sub = h.engine.require('task-1', 'x').subtasks[0];
    expect(sub).toMatchObject({ status: 'pending', assigned_to: null, retry_at: h.time.now() + 100 });
    expect(sub?.attempts[0]).toMatchObject({ agent_id: 21, outcome: 'timed_out' });
    h.time.advance(99);
    expect(h.agents.assigned()).toHaveLength(1);
    h.time.advance(1);
    expect(h.agents.assigned(22).map((m) => m.attempt)).toEqual([2]);
    // The first agent's late answer: it is no longer the assignee.
    await expect(h.engine.complete({ task_id: 'task-1', result: 'late' }, caller(21))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    h.time.advance(1000); // second timeout; backoff 200 capped at 150
    sub = h.engine.require('task-1', 'x').subtasks[0];
    expect(sub?.retry_at).toBe(h.time.now() + 150);
    h.time.advance(150);
    expect(h.agents.assigned(21).map((m) => m.attempt)).toEqual([1, 3]);
    await h.engine.complete({ task_id: 'task-1', result: 'third time' }, caller(21));
    expect(h.engine.require('task-1', 'x')).toMatchObject({ status: 'completed', result: { s: 'third time' } });
    expect(h.changes.map((c) => c.kind)).toContain('timed_out');
  });

  it('an error from the assignee retries on the same agent without a role or reassign; out of retries the task fails and the rest is cancelled', async () => {
    await h.engine.create(
      req({
        description: 'x',
        subtasks: [
          { key: 'a', retry: { max_retries: 1, backoff_ms: 50, reassign: false } },
          { key: 'b', role: 'worker' },
        ],
      }),
      ORCH,
    );
    await h.engine.assign({ task_id: 'task-1', subtask: 'a', agent_id: 22 }, ORCH);
    const b = h.agents.assigned().find((m) => m.key === 'b');
    const bAgent = h.agents.deliveries.find((d) => d.message === b)?.to;
    const first = await h.engine.complete({ task_id: 'task-1', subtask_id: 'a', error: 'disk full' }, caller(22));
    expect(first).toMatchObject({ status: 'running', subtask_status: 'assigned' });
    h.time.advance(50);
    expect(
      h.agents
        .assigned(22)
        .filter((m) => m.key === 'a')
        .map((m) => m.attempt),
    ).toEqual([1, 2]);
    const second = await h.engine.complete({ task_id: 'task-1', subtask_id: 'a', error: 'disk still full' }, caller(22));
    expect(second).toMatchObject({ status: 'failed', subtask_status: 'failed' });
    const view = h.engine.require('task-1', 'x');
    expect(view.error).toBe('subtask "a" failed: disk still full (attempt 2 of 2)');
    expect(view.subtasks.map((s) => s.status)).toEqual(['failed', 'cancelled']);
    expect(h.agents.cancelled(bAgent)).toMatchObject([{ subtask_id: 'task-1/b', reason: expect.stringMatching(/^task failed: /) }]);
  });

  it('an undeliverable message fails the attempt (the mailbox is full)', async () => {
    (h.agents.agents.get(21) as { full: boolean }).full = true;
    await h.engine.create(req({ description: 'x' }), ORCH);
    const reply = await h.engine.assign({ task_id: 'task-1', agent_id: 21 }, ORCH);
    expect(reply.status).toBe('failed');
    expect(h.engine.require('task-1', 'x').subtasks[0]?.attempts[0]?.error).toMatch(/could not deliver to agent 21/);
  });
});

describe('assignee exits', () => {
  it('its running subtasks fail (agent_exited) and retry on another agent of the role; its assigned ones go back to pending', async () => {
    await h.engine.create(
      req({
        description: 'x',
        subtasks: [
          { key: 'a', role: 'worker' },
          { key: 'b', depends_on: ['a'] },
        ],
        retry: { max_retries: 1, backoff_ms: 10 },
      }),
      ORCH,
    );
    await h.engine.assign({ task_id: 'task-1', subtask: 'b', agent_id: 21 }, ORCH);
    const first = h.agents.deliveries.find((d) => d.message.type === 'task.assigned')?.to;
    expect(first).toBe(21);
    h.agents.remove(21);
    h.engine.agentExited(21);
    const view = h.engine.require('task-1', 'x');
    expect(view.subtasks[0]).toMatchObject({ status: 'pending', attempts: [{ outcome: 'agent_exited', error: 'agent 21 exited' }] });
    expect(view.subtasks[1]).toMatchObject({ status: 'pending', assigned_to: null });
    h.time.advance(10);
    expect(h.agents.assigned(22).map((m) => [m.key, m.attempt])).toEqual([['a', 2]]);
    await h.engine.complete({ task_id: 'task-1', subtask_id: 'a', result: 'A' }, caller(22));
    // b has no role and lost its agent: it waits for TASK_ASSIGN.
    expect(h.engine.require('task-1', 'x').subtasks[1]?.status).toBe('pending');
    await h.engine.assign({ task_id: 'task-1', subtask: 'b', agent_id: 22 }, ORCH);
    expect(h.agents.assigned(22).find((m) => m.key === 'b')?.inputs).toEqual({ a: 'A' });
  });
});

describe('task deadlines', () => {
  it('fails the task at its deadline and cancels every unfinished subtask', async () => {
    await h.engine.create(req({ description: 'x', timeout: 2, subtasks: [{ key: 'a', role: 'worker' }, { key: 'b' }] }), ORCH);
    expect(h.engine.require('task-1', 'x').deadline).toBe(h.time.now() + 2000);
    h.time.advance(2000);
    const view = h.engine.require('task-1', 'x');
    expect(view).toMatchObject({ status: 'failed', error: 'timed out after 2000 ms' });
    expect(view.subtasks.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(h.agents.cancelled()).toHaveLength(1);
    expect(h.changes.some((c) => c.kind === 'timed_out' && c.subtask_id === undefined)).toBe(true);
  });
});
