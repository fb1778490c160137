/** How `agentos task` draws a task list and a task tree (pure functions, fixed clock). */
import { describe, expect, it } from 'vitest';
import { formatDuration, renderTask, renderTaskList } from '../../src/cli/commands/task-render.js';
import type { SubtaskView, TaskView } from '../../src/protocol/schemas/tasks.js';

const NOW = 1_700_000_100_000;

function subtask(key: string, fields: Partial<SubtaskView> = {}): SubtaskView {
  return {
    subtask_id: `task-7/${key}`,
    key,
    description: '',
    status: 'pending',
    role: null,
    depends_on: [],
    assigned_to: null,
    assigned_name: null,
    attempts: [],
    error: null,
    retry_at: null,
    created_at: NOW - 60_000,
    started_at: null,
    ended_at: null,
    ...fields,
  };
}

function task(fields: Partial<TaskView> = {}): TaskView {
  return {
    task_id: 'task-7',
    description: 'count words',
    status: 'running',
    created_by: 3,
    created_by_name: 'orchestrator',
    depends_on: [],
    subtasks: [],
    error: null,
    metadata: {},
    version: 5,
    created_at: NOW - 60_000,
    updated_at: NOW - 1000,
    ended_at: null,
    deadline: null,
    ...fields,
  };
}

const attempt = (outcome: 'failed' | 'completed' | 'running', error: string | null = null) => ({
  agent_id: 4,
  agent_name: 'w1',
  started_at: NOW - 5000,
  ended_at: outcome === 'running' ? null : NOW - 4000,
  outcome,
  error,
});

describe('renderTask', () => {
  it('draws each subtask with its state, assignee, attempts, duration, dependencies and error', () => {
    const text = renderTask(
      task({
        subtasks: [
          subtask('map-1', {
            status: 'completed',
            assigned_to: 4,
            assigned_name: 'w1',
            attempts: [attempt('completed')],
            started_at: NOW - 5000,
            ended_at: NOW - 3800,
          }),
          subtask('map-2', {
            status: 'assigned',
            role: 'mapper',
            assigned_to: 5,
            attempts: [attempt('failed', 'boom')],
            error: 'boom',
            retry_at: NOW + 2000,
          }),
          subtask('reduce', { status: 'pending', role: 'reducer', depends_on: ['map-1', 'map-2'] }),
        ],
      }),
      NOW,
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('task-7  running  age 1m00s  created by 3 (orchestrator)  version 5');
    expect(lines[1]).toBe('count words');
    expect(lines[2]).toMatch(/^subtask\s+state\s+assignee\s+attempts\s+duration\s+after\s+error$/);
    expect(lines[3]).toMatch(/^├─ map-1\s+completed\s+4 \(w1\)\s+1\s+1\.2s\s+-$/);
    expect(lines[4]).toMatch(/^├─ map-2\s+assigned, retry in 2\.0s\s+5\s+1\s+-\s+-\s+boom$/);
    expect(lines[5]).toMatch(/^└─ reduce\s+pending\s+\(role reducer\)\s+0\s+-\s+map-1,map-2$/);
  });

  it('ends with the error of a failed task and the result of a completed one', () => {
    expect(renderTask(task({ status: 'failed', error: 'subtask map-2 failed: boom', ended_at: NOW }), NOW)).toMatch(
      /error: subtask map-2 failed: boom$/,
    );
    const done = renderTask(task({ status: 'completed', result: { words: 12 }, ended_at: NOW - 30_000 }), NOW);
    expect(done.split('\n')[0]).toContain('took 30.0s');
    expect(done).toMatch(/result: \{"words":12\}$/);
  });
});

describe('renderTaskList', () => {
  it('aligns id, status, done/total, failed, age and a clipped description', () => {
    const summary = (id: string, status: TaskView['status'], description: string) => ({
      task_id: id,
      description,
      status,
      created_by: 3,
      subtasks: 4,
      completed: 2,
      failed: 1,
      created_at: NOW - 90_000,
      updated_at: NOW,
    });
    const text = renderTaskList([summary('task-12', 'running', 'x'.repeat(100)), summary('task-9', 'completed', 'short')], NOW);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^id\s+status\s+done\s+failed\s+age\s+description$/);
    expect(lines[1]).toMatch(/^task-12\s+running\s+2\/4\s+1\s+1m30s\s+x{59}…$/);
    expect(lines[2]).toMatch(/^task-9\s+completed\s+2\/4/);
    expect(renderTaskList([], NOW)).toBe('no tasks');
  });

  it('formats durations for people', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(1234)).toBe('1.2s');
    expect(formatDuration(185_000)).toBe('3m05s');
  });
});
