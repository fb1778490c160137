/**
 * Workflows for code-defined agents: a graph of steps run by the kernel as ONE task whose
 * subtasks are the steps (`after` becomes `depends_on`). A step with a `role` is
 * dispatched by the kernel to an agent of that role; a step with `run` is run by the
 * workflow's own process: `start` REGISTERs a private role (`wf-<random>`) on the client
 * and runs a worker for those steps, so graphs may mix both. The private role stays with
 * the agent until it exits (roles cannot be dropped); it is random, so nothing else gets
 * its subtasks.
 *
 *   const result = await workflow('etl')
 *     .step('fetch', { role: 'fetcher', input: { url } })
 *     .step('parse', { after: ['fetch'], run: ({ fetch }) => parse(fetch) })
 *     .run(client);              // { fetch: ..., parse: ... }
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { RetryPolicy, SubtaskSpec, TaskCreateRequest, TaskView } from '../../protocol/schemas/tasks.js';
import { AgentOSError } from '../errors.js';
import { createTask } from './create.js';
import type { WorkerClient } from './inbox.js';
import { type WaitForOptions, waitFor } from './wait.js';
import { type SubtaskContext, type TaskWorker, worker } from './worker.js';

type StepFields = Pick<z.input<typeof SubtaskSpec>, 'description' | 'input' | 'timeout_ms' | 'retry'>;

/** A step: done by an agent of `role`, or by `run` in this process (exactly one of them). */
export type StepSpec<Earlier extends string> = StepFields & {
  /** Steps that must complete first; their results are `run`'s first argument (and the agent's `inputs`). */
  after?: readonly Earlier[];
} & (
    | { role: string; run?: never }
    | { run: (inputs: Partial<Record<Earlier, unknown>>, subtask: SubtaskContext) => unknown; role?: never }
  );

export interface WorkflowRunOptions extends WaitForOptions {
  /** Default retry policy of the steps. */
  retry?: z.input<typeof RetryPolicy>;
  /** The whole workflow's timeout, from creation (the task's `timeout_ms`). */
  timeout_ms?: number;
  metadata?: Record<string, unknown>;
  /** Local steps run at once (default 4). */
  concurrency?: number;
}

export interface WorkflowRun<Keys extends string> {
  task_id: string;
  /** The steps' results by key once the task completed; rejects like waitFor (TaskEndedError carries the view). */
  result: Promise<Record<Keys, unknown>>;
  /** The final view, once the task ended. */
  task: Promise<TaskView>;
}

interface Step {
  key: string;
  spec: StepSpec<string>;
}

export class Workflow<Keys extends string = never> {
  readonly name: string;
  readonly #steps: Step[];

  constructor(name: string, steps: Step[] = []) {
    this.name = name;
    this.#steps = steps;
  }

  /** Adds a step; `after` may name only steps added before it (so the graph cannot have a cycle). */
  step<K extends string>(key: K, spec: StepSpec<Keys>): Workflow<Keys | K> {
    if (this.#steps.some((step) => step.key === key)) {
      throw new AgentOSError('INVALID_REQUEST', `workflow ${this.name}: step "${key}" is defined twice`);
    }
    const given = [spec.role !== undefined, spec.run !== undefined].filter(Boolean).length;
    if (given !== 1) throw new AgentOSError('INVALID_REQUEST', `workflow ${this.name}: step "${key}" needs exactly one of role or run`);
    for (const before of spec.after ?? []) {
      if (!this.#steps.some((step) => step.key === before)) {
        throw new AgentOSError(
          'INVALID_REQUEST',
          `workflow ${this.name}: step "${key}" runs after "${before}", which is not an earlier step`,
        );
      }
    }
    return new Workflow<Keys | K>(this.name, [...this.#steps, { key, spec: spec as StepSpec<string> }]);
  }

  /** The TASK_CREATE request this workflow makes, local steps given `localRole`. */
  request(localRole: string, options: WorkflowRunOptions = {}): z.input<typeof TaskCreateRequest> {
    if (this.#steps.length === 0) throw new AgentOSError('INVALID_REQUEST', `workflow ${this.name} has no steps`);
    return {
      description: `workflow ${this.name}`,
      subtasks: this.#steps.map(({ key, spec }) => ({
        key,
        description: spec.description ?? '',
        ...(spec.input === undefined ? {} : { input: spec.input }),
        depends_on: [...(spec.after ?? [])],
        role: spec.role ?? localRole,
        ...(spec.timeout_ms === undefined ? {} : { timeout_ms: spec.timeout_ms }),
        ...(spec.retry === undefined ? {} : { retry: spec.retry }),
      })),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.timeout_ms === undefined ? {} : { timeout_ms: options.timeout_ms }),
      metadata: { ...options.metadata, workflow: this.name },
    };
  }

  /** Creates the task (after taking the local role, when there are local steps) and returns at once. */
  async start(client: WorkerClient, options: WorkflowRunOptions = {}): Promise<WorkflowRun<Keys>> {
    const local = new Map(this.#steps.filter((step) => step.spec.run).map((step) => [step.key, step.spec.run]));
    const localRole = `wf-${randomBytes(6).toString('hex')}`;
    let runner: TaskWorker | undefined;
    if (local.size > 0) {
      runner = await worker(client, {
        role: localRole,
        concurrency: options.concurrency ?? 4,
        handle: (subtask) => local.get(subtask.key)?.(subtask.inputs, subtask),
      });
    }
    let created: Awaited<ReturnType<typeof createTask>>;
    try {
      created = await createTask(client, this.request(localRole, options));
    } catch (error) {
      await runner?.stop();
      throw error;
    }
    const task = waitFor(client, created.task_id, options).finally(() => runner?.stop());
    const result = task.then((view) => view.result as Record<Keys, unknown>);
    // Whoever awaits only one of the two must not see the other as an unhandled rejection.
    task.catch(() => undefined);
    result.catch(() => undefined);
    return { task_id: created.task_id, result, task };
  }

  /** start, then the steps' results by key once the task completed. */
  async run(client: WorkerClient, options: WorkflowRunOptions = {}): Promise<Record<Keys, unknown>> {
    return (await this.start(client, options)).result;
  }
}

export function workflow(name: string): Workflow {
  return new Workflow(name);
}
