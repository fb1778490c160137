/**
 * The `tasks` section of `npm run bench` (issue 7 item 8): runs tasks-load.ts against a
 * fresh kernel host and turns its result into table rows. run.ts only calls these two.
 */
import { runClient, type Server } from './lib/proc.js';
import type { LatencySummary } from './lib/stats.js';
import { type Row, row } from './lib/table.js';

interface Series {
  subtasks: number;
  elapsed_ms: number;
  per_s: number;
}
export interface TasksSectionResult {
  workers: number;
  subtasks_per_task: number;
  in_flight: number;
  poll_gap_ms: number;
  rounds: { floor: Series; kernel: Series }[];
  median: { floor_per_s: number; kernel_per_s: number; ratio: number };
  round_trip: { samples: number; kernel: LatencySummary; floor: LatencySummary };
}

export interface TasksSectionContext {
  startHost: () => Promise<Server>;
  stopHost: (host: Server) => Promise<void>;
  rounds: number;
  /** Subtasks per throughput series. */
  subtasks: number;
  /** Round-trip samples. */
  samples: number;
  progress: (text: string) => void;
}

export async function runTasksSection(context: TasksSectionContext): Promise<TasksSectionResult> {
  const host = await context.startHost();
  try {
    context.progress(
      `tasks: ${context.subtasks} subtasks per series through 8 workers vs as many SEND->RECV->SEND, ${context.rounds} rounds; then ${context.samples} round trips`,
    );
    return await runClient<TasksSectionResult>('tasks-load.ts', [
      '--socket',
      host.socketPath,
      '--subtasks',
      String(context.subtasks),
      '--rounds',
      String(context.rounds),
      '--samples',
      String(context.samples),
    ]);
  } finally {
    await context.stopHost(host);
  }
}

export function tasksRows(result: TasksSectionResult): Row[] {
  const { median, round_trip: trip } = result;
  const label = `${result.workers} workers, ${result.subtasks_per_task}/task, ${result.in_flight} tasks in flight`;
  return [
    row(
      `subtasks/s create->assign->complete->status, ${label} (floor: SEND->RECV->SEND->RECV)`,
      '/s',
      median.floor_per_s,
      median.kernel_per_s,
      '>= 5,000/s',
      median.kernel_per_s >= 5000,
      // kernel / floor of the round pair with the median ratio.
      median.ratio,
    ),
    row(
      'subtask round trip p50, ASSIGN->RECV->COMPLETE->STATUS (floor: 3 NOOPs)',
      'us',
      trip.floor.p50_us,
      trip.kernel.p50_us,
      '<= 1 ms',
      trip.kernel.p50_us <= 1000,
    ),
    row('  subtask round trip p99', 'us', trip.floor.p99_us, trip.kernel.p99_us, '-', null),
  ];
}
