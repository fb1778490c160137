/**
 * The `world` section of `npm run bench` (issue 6 item 11): runs the three world questions
 * and turns their results into table rows. run.ts only calls these two functions.
 *
 *   world-files.ts      READ/WRITE as a world member (mirror, virtual) vs on the host
 *   world-tree.ts       WORLD_CREATE mirroring a 10,000-file tree; snapshot and restore of it
 *   world-scheduler.ts  how late scheduled events fire, vs plain setTimeout (its own kernel)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runClient, type Server } from './lib/proc.js';
import type { LatencySummary } from './lib/stats.js';
import { type Row, row } from './lib/table.js';

type Side = 'host' | 'mirror' | 'virtual';
interface Series {
  calls: number;
  calls_per_s: number;
  latency: LatencySummary;
}
interface FilesResult {
  bytes: number;
  rounds: Array<Record<'read' | 'write', Record<Side, Series>>>;
}
interface TreeResult {
  files: number;
  writes: number;
  create: { median: { floor_ms: number; create_ms: number; destroy_ms: number } };
  snapshot:
    | {
        tree_bytes: number;
        median: {
          floor_cp_ms: number;
          floor_fs_cp_ms: number;
          snapshot_ms: number;
          snapshot_bytes: number;
          restore_ms: number;
          layer_kb: number;
        };
      }
    | { skipped: string };
}
interface SchedulerResult {
  time_scale: number;
  history_entries: number;
  world: LatencySummary;
  world_within_10ms: number;
  floor_within_10ms: number;
  floor: LatencySummary;
}
export interface WorldSectionResult {
  files: FilesResult;
  tree: TreeResult;
  scheduler: SchedulerResult;
}

export interface WorldSectionContext {
  /** A fresh kernel host (run.ts's agentHost) and its stop. */
  startHost: () => Promise<Server>;
  stopHost: (host: Server) => Promise<void>;
  /** The run's temp directory (under /tmp). */
  dir: string;
  rounds: number;
  /** Calls per READ/WRITE series. */
  calls: number;
  nodeFlags: string[];
  progress: (text: string) => void;
}

export async function runWorldSection(context: WorldSectionContext): Promise<WorldSectionResult> {
  const { dir, progress } = context;
  const work = join(dir, 'world-work');
  await mkdir(work, { recursive: true });
  const host = await context.startHost();
  let files: FilesResult;
  let tree: TreeResult;
  try {
    const hostArgs = ['--socket', host.socketPath, '--data-dir', join(dir, 'world-data')];
    progress(
      `world: READ/WRITE on the host vs as a world member (mirror, virtual), ${context.calls} calls per series, ${context.rounds} rounds`,
    );
    files = await runClient<FilesResult>('world-files.ts', [
      ...hostArgs,
      '--dir',
      join(work, 'files'),
      '--calls',
      String(context.calls),
      '--rounds',
      String(context.rounds),
    ]);
    progress('world: WORLD_CREATE mirroring 10,000 files; WORLD_SNAPSHOT and WORLD_RESTORE of it');
    tree = await runClient<TreeResult>('world-tree.ts', [...hostArgs, '--dir', join(work, 'tree')]);
  } finally {
    await context.stopHost(host);
  }
  progress('world: scheduler lateness at time_scale 60 vs setTimeout (own kernel)');
  const scheduler = await runClient<SchedulerResult>('world-scheduler.ts', [], undefined, { nodeFlags: context.nodeFlags });
  return { files, tree, scheduler };
}

export function worldRows(result: WorldSectionResult): Row[] {
  const rows: Row[] = [];
  for (const op of ['read', 'write'] as const) {
    const name = op.toUpperCase();
    for (const side of ['mirror', 'virtual'] as const) {
      // Cost ratio = host calls/s / world calls/s (time per call in the world over on the host), median round.
      const ratios = result.files.rounds.map((r) => r[op].host.calls_per_s / r[op][side].calls_per_s);
      const at = ratios.indexOf([...ratios].sort((a, b) => a - b)[(ratios.length - 1) >> 1] as number);
      const picked = result.files.rounds[at] as FilesResult['rounds'][number];
      const ratio = ratios[at] as number;
      const [host, world] = [picked[op].host, picked[op][side]];
      rows.push(
        row(
          `${name} calls/s, 1 conn, host (floor) vs world ${side}`,
          '/s',
          host.calls_per_s,
          world.calls_per_s,
          'cost <= 1.5x',
          ratio <= 1.5,
          ratio,
        ),
      );
      rows.push(row(`  ${name} p50, world ${side}`, 'us', host.latency.p50_us, world.latency.p50_us, '-', null));
      rows.push(row(`  ${name} p99, world ${side}`, 'us', host.latency.p99_us, world.latency.p99_us, '-', null));
    }
  }
  const { tree } = result;
  const create = tree.create.median;
  const files = tree.files.toLocaleString('en-US');
  rows.push(
    row(
      `WORLD_CREATE, mirror of ${files} files (floor: walk + stat)`,
      'ms',
      create.floor_ms,
      create.create_ms,
      '<= 1 s',
      create.create_ms <= 1000,
    ),
  );
  rows.push(row('  WORLD_DESTROY of it', 'ms', null, create.destroy_ms, '-', null));
  if ('median' in tree.snapshot) {
    const snap = tree.snapshot.median;
    const label = `after ${tree.writes * 2} writes (${Math.round(tree.snapshot.median.layer_kb)} KB layer)`;
    rows.push(row(`WORLD_SNAPSHOT, ${label} (floor: cp -r tree)`, 'ms', snap.floor_cp_ms, snap.snapshot_ms, '-', null));
    rows.push(row('WORLD_RESTORE of that snapshot', 'ms', snap.floor_cp_ms, snap.restore_ms, '-', null));
    rows.push(row('  snapshot size (floor: the tree)', 'KB', tree.snapshot.tree_bytes / 1024, snap.snapshot_bytes / 1024, '-', null));
  } else {
    rows.push(row(`WORLD_SNAPSHOT / RESTORE: skipped (${tree.snapshot.skipped.slice(0, 60)})`, '-', null, null, '-', null));
  }
  const { scheduler } = result;
  const share = (scheduler.world_within_10ms / scheduler.history_entries) * 100;
  const floorShare = (scheduler.floor_within_10ms / scheduler.floor.count) * 100;
  const scale = `time_scale ${scheduler.time_scale}`;
  rows.push(
    row(
      `world events within 10 ms of scaled time, ${scale}`,
      '%',
      Math.round(floorShare * 10) / 10,
      Math.round(share * 10) / 10,
      '100%',
      share === 100,
      false,
    ),
  );
  rows.push(row('  event lateness p50 (floor: setTimeout)', 'us', scheduler.floor.p50_us, scheduler.world.p50_us, '-', null, false));
  rows.push(row('  event lateness p99', 'us', scheduler.floor.p99_us, scheduler.world.p99_us, '-', null, false));
  rows.push(row('  event lateness max', 'us', scheduler.floor.max_us, scheduler.world.max_us, '-', null, false));
  return rows;
}
