/**
 * Tasks survive a kernel restart: a kernel is stopped while a subtask runs, a new kernel
 * starts on the same data directory, the task is there (tasks.db), the running attempt
 * failed as "the kernel restarted", and the retry reaches an agent that took the role in
 * the new run. Task ids keep counting: none is reused.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type Kernel, startKernel } from '../../src/kernel/index.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { nextMessage, statusOf, subtask } from './task-syscalls-support.js';

let dir: string;
const kernels: Kernel[] = [];
const clients: AgentOSClient[] = [];

async function start(): Promise<Kernel> {
  const kernel = await startKernel(
    { socketPath: join(dir, 'agentos.sock'), dataDir: join(dir, 'data'), httpPort: null, defaultLevel: 'unrestricted' },
    { log: pino({ level: process.env.AGENTOS_TEST_LOG ?? 'silent' }) },
  );
  kernels.push(kernel);
  return kernel;
}

async function client(kernel: Kernel): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const kernel of kernels) await kernel.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a kernel restart', () => {
  it('keeps tasks, fails the running attempt as a restart, and retries it in the new run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-tasks-restart-'));
    const first = await start();
    const boss = await client(first);
    const worker = await client(first);
    await worker.register({ name: 'persistent-worker', role: 'survivor' });

    const done = await boss.taskCreate({ description: 'finished before the restart' });
    await boss.taskAssign({ task_id: done.task_id, agent_id: worker.agentId as number });
    await nextMessage(worker, 'task.assigned');
    await worker.taskComplete({ task_id: done.task_id, result: 'early' });
    const created = await boss.taskCreate({
      description: 'outlives its kernel',
      subtasks: [
        { key: 'first', role: 'survivor', input: { n: 1 } },
        { key: 'second', depends_on: ['first'], role: 'survivor' },
      ],
      retry: { max_retries: 1, backoff_ms: 10 },
      metadata: { run: 1 },
    });
    const message = await nextMessage(worker, 'task.assigned');
    expect(message).toMatchObject({ key: 'first', attempt: 1 });
    expect(subtask(await statusOf(boss, created.task_id), 'first').status).toBe('running');
    await first.stop();
    expect(existsSync(join(dir, 'data', 'tasks.db'))).toBe(true);

    const second = await start();
    const reader = await client(second);
    // The finished task is there as it was; the unfinished one lost its running attempt.
    expect(await statusOf(reader, done.task_id)).toMatchObject({ status: 'completed', result: 'early' });
    const reloaded = await statusOf(reader, created.task_id);
    expect(reloaded).toMatchObject({ description: 'outlives its kernel', metadata: { run: 1 } });
    const attempt = subtask(reloaded, 'first').attempts[0];
    expect(attempt).toMatchObject({ outcome: 'agent_exited' });
    expect(attempt?.error).toMatch(/restart/);
    expect(subtask(reloaded, 'second').status).toMatch(/^(pending|assigned)$/);

    // The retry goes to an agent that takes the role in the new run, then the DAG goes on.
    const rescuer = await client(second);
    await rescuer.register({ role: 'survivor' });
    const retried = await nextMessage(rescuer, 'task.assigned');
    expect(retried).toMatchObject({ key: 'first', attempt: 2, input: { n: 1 } });
    await rescuer.taskComplete({ task_id: created.task_id, subtask_id: retried.subtask_id, result: 'one' });
    const next = await nextMessage(rescuer, 'task.assigned');
    expect(next).toMatchObject({ key: 'second', inputs: { first: 'one' } });
    await rescuer.taskComplete({ task_id: created.task_id, subtask_id: next.subtask_id, result: 'two' });
    expect(await statusOf(reader, created.task_id)).toMatchObject({ status: 'completed', result: { first: 'one', second: 'two' } });

    // Ids are never reused across runs.
    const later = await reader.taskCreate({ description: 'after the restart' });
    const number = (id: string) => Number(id.slice('task-'.length));
    expect(number(later.task_id)).toBeGreaterThan(number(created.task_id));
  });
});
