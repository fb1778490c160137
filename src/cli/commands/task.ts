/** `agentos task list|show|cancel`: the kernel's tasks (TASK_LIST, TASK_STATUS, TASK_CANCEL) for people and scripts. */
import { type Command, InvalidArgumentError } from 'commander';
import { MAX_TASK_WAIT_MS, TaskStatus, type TaskView } from '../../protocol/schemas/tasks.js';
import { AgentOSError } from '../../sdk/errors.js';
import { cancelTask, isEnded, listTasks, taskStatus } from '../../sdk/tasks/index.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out, printJson } from '../output.js';
import { socketOption } from '../socket-option.js';
import { renderTask, renderTaskList } from './task-render.js';

type Flags = ConnectFlags & { json?: boolean };

function status(value: string): TaskStatus {
  const parsed = TaskStatus.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`expected one of ${TaskStatus.options.join(', ')}`);
  return parsed.data;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a number from 1 to 1000');
  return n;
}

/** Runs a command body with a CLI connection, closing it and turning failures into `agentos: ...` on stderr. */
async function withClient(flags: ConnectFlags, body: (client: Awaited<ReturnType<typeof connectCli>>) => Promise<number | undefined>) {
  let exitCode: number | undefined;
  try {
    const client = await connectCli(flags, 'agentos-task');
    try {
      exitCode = await body(client);
    } finally {
      await client.close();
    }
  } catch (error) {
    fail(error instanceof AgentOSError ? error.message : String(error));
  }
  if (exitCode) process.exitCode = exitCode;
}

/**
 * `show --watch`: a TASK_STATUS long poll per change until the task ends. On a terminal the
 * tree is redrawn in place; otherwise (a pipe, a file) each version is printed after the
 * last, so a log keeps the whole history. `--json` prints one view per line.
 */
async function watch(client: Awaited<ReturnType<typeof connectCli>>, taskId: string, json: boolean): Promise<TaskView> {
  const tty = process.stdout.isTTY === true && !json;
  let drawn = 0;
  const draw = (view: TaskView) => {
    if (json) return out(JSON.stringify(view));
    const text = renderTask(view);
    // Cursor up over the last drawing, then clear to the end of the screen.
    if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[0J`);
    else if (drawn > 0) out();
    out(text);
    drawn = text.split('\n').length;
  };
  let task = (await taskStatus(client, { task_id: taskId })).task;
  draw(task);
  while (!isEnded(task.status)) {
    // Between changes a running subtask's duration still grows: on a terminal, redraw every second.
    const next = await taskStatus(client, { task_id: taskId, wait_ms: tty ? 1000 : MAX_TASK_WAIT_MS, since_version: task.version });
    if (next.changed || tty) {
      task = next.task;
      draw(task);
    }
  }
  return task;
}

export function registerTaskCommand(program: Command): void {
  const task = program.command('task').description('multi-agent tasks: list them, show one as a tree of subtasks (--watch), cancel one');

  task
    .command('list')
    .description('tasks, newest first: id, status, subtasks done/total, failed, age, description')
    .option('--status <status>', 'only tasks in this status (pending, running, completed, failed, cancelled)', status)
    .option('-n, --limit <n>', 'at most this many tasks (1-1000)', count, 100)
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'the TASK_LIST reply as JSON')
    .action((flags: Flags & { status?: TaskStatus; limit: number }) =>
      withClient(flags, async (client) => {
        const reply = await listTasks(client, { limit: flags.limit, ...(flags.status ? { status: flags.status } : {}) });
        if (flags.json) printJson({ tasks: reply.tasks, count: reply.count });
        else out(renderTaskList(reply.tasks));
        return undefined;
      }),
    );

  task
    .command('show')
    .description("one task as a tree: each subtask's state, assignee, attempts, duration, dependencies and error")
    .argument('<id>', 'task id, e.g. task-3')
    .option('-w, --watch', 'redraw on every change until the task ends (exit 1 if it failed or was cancelled)')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'the task view as JSON (with --watch: one line per change)')
    .action((id: string, flags: Flags & { watch?: boolean }) =>
      withClient(flags, async (client) => {
        if (flags.watch) {
          const ended = await watch(client, id, flags.json ?? false);
          return ended.status === 'completed' ? undefined : 1;
        }
        const { task: view } = await taskStatus(client, { task_id: id });
        if (flags.json) printJson(view);
        else out(renderTask(view));
        return undefined;
      }),
    );

  task
    .command('cancel')
    .description('cancel a task: its unfinished subtasks are cancelled and their agents told')
    .argument('<id>', 'task id, e.g. task-3')
    .option('--reason <text>', 'why (given to the agents in their task.cancelled message)')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'the TASK_CANCEL reply as JSON')
    .action((id: string, flags: Flags & { reason?: string }) =>
      withClient(flags, async (client) => {
        const reply = await cancelTask(client, id, flags.reason);
        if (flags.json) printJson(reply);
        else
          out(
            `${reply.task_id} ${reply.status} (${reply.cancelled_subtasks} subtask${reply.cancelled_subtasks === 1 ? '' : 's'} cancelled)`,
          );
        return undefined;
      }),
    );
}
