/** The task lifecycle machine and the subtask transition table. */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { isFinalSubtask, SUBTASK_TRANSITIONS, subtaskMachine, subtaskTransition } from '../../src/machines/subtask.machine.js';
import { taskMachine } from '../../src/machines/task.machine.js';

function task() {
  const calls: string[] = [];
  const logic = taskMachine.provide({
    actions: { cancelUnfinished: () => calls.push('cancel'), settle: () => calls.push('settle') },
  });
  const actor = createActor(logic, { input: { taskId: 'task-1' } }).start();
  return { actor, calls, value: () => actor.getSnapshot().value };
}

describe('taskMachine', () => {
  it('pending → running → completed settles once, cancels nothing', () => {
    const { actor, calls, value } = task();
    actor.send({ type: 'task.start' });
    actor.send({ type: 'task.start' });
    expect(value()).toBe('running');
    actor.send({ type: 'task.complete' });
    actor.send({ type: 'task.fail', error: 'late' });
    expect(value()).toBe('completed');
    expect(calls).toEqual(['settle']);
    expect(actor.getSnapshot().context.error).toBeNull();
  });

  it('failed and cancelled record why and cancel the unfinished subtasks', () => {
    const failed = task();
    failed.actor.send({ type: 'task.start' });
    failed.actor.send({ type: 'task.fail', error: 'subtask "a" failed' });
    failed.actor.send({ type: 'task.cancel', reason: 'too late' });
    expect(failed.value()).toBe('failed');
    expect(failed.actor.getSnapshot().context.error).toBe('subtask "a" failed');
    expect(failed.calls).toEqual(['cancel', 'settle']);

    const cancelled = task();
    cancelled.actor.send({ type: 'task.cancel', reason: 'stop' });
    expect(cancelled.value()).toBe('cancelled');
    expect(cancelled.actor.getSnapshot().status).toBe('done');
    expect(cancelled.calls).toEqual(['cancel', 'settle']);
  });
});

describe('the subtask table', () => {
  it('has the documented path and refuses moves out of final states', () => {
    expect(subtaskTransition('pending', 'subtask.assign')).toBe('assigned');
    expect(subtaskTransition('assigned', 'subtask.deliver')).toBe('running');
    expect(subtaskTransition('running', 'subtask.complete')).toBe('completed');
    expect(subtaskTransition('running', 'subtask.retry')).toBe('assigned');
    expect(subtaskTransition('running', 'subtask.requeue')).toBe('pending');
    expect(subtaskTransition('pending', 'subtask.deliver')).toBeUndefined();
    expect(subtaskTransition('running', 'subtask.assign')).toBeUndefined();
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      expect(isFinalSubtask(status)).toBe(true);
      expect(Object.keys(SUBTASK_TRANSITIONS[status])).toEqual([]);
    }
  });

  it('is the machine the statechart exports', () => {
    const actor = createActor(subtaskMachine).start();
    for (const type of ['subtask.assign', 'subtask.deliver', 'subtask.retry', 'subtask.deliver', 'subtask.complete'] as const)
      actor.send({ type });
    expect(actor.getSnapshot().value).toBe('completed');
    expect(actor.getSnapshot().status).toBe('done');
  });
});
