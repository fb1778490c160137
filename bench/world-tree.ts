/**
 * Questions: how long does WORLD_CREATE take for a world that mirrors a 10,000-file tree
 * (target <= 1 s), and how long do WORLD_SNAPSHOT and WORLD_RESTORE of that world take,
 * and how big is the snapshot, after files were written into it?
 *
 *   create    floor: a recursive readdir of the tree plus a stat of every file, in this
 *             process (what any tool that looks at the whole tree pays); kernel:
 *             WORLD_CREATE with a mirror mount of the tree, then WORLD_DESTROY (timed apart).
 *   snapshot  the world after WRITEs: --writes new files (1 KB) and as many overwritten
 *             source files (256 bytes), random text, all in the world's layer. floor: `cp -r` of the whole tree
 *             (and Node's fs.cp of it, for reference);
 *             kernel: WORLD_SNAPSHOT to its default path, then WORLD_RESTORE of that file.
 *             Skipped (with the reason) when the kernel does not serve them.
 *
 * Usage: --socket PATH --data-dir DIR --dir DIR [--files N (10000)] [--trials N (5)] [--writes N (100)]
 * Prints one JSON result line.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, need, OP_HELLO, parseArgs, report } from './lib/agnt.js';
import { median, round } from './lib/stats.js';
import {
  OP_WORLD_CREATE,
  OP_WORLD_DESTROY,
  OP_WORLD_JOIN,
  OP_WORLD_LEAVE,
  OP_WORLD_RESTORE,
  OP_WORLD_SNAPSHOT,
  OP_WORLD_STATE,
  OP_WRITE,
  type Reply,
  request,
} from './world-common.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const dir = need(args, 'dir');
const token = (await readFile(join(need(args, 'data-dir'), 'admin.token'), 'utf8')).trim();
const FILES = Number(args.files ?? 10_000);
const TRIALS = Number(args.trials ?? 5);
const WRITES = Number(args.writes ?? 100);
const PER_DIR = 100;
const FILE_BYTES = 256;
/** Stats in flight at once in the floor walk: a tool's usual batching, not 10,000 at once. */
const STAT_BATCH = 64;

const tree = join(dir, 'tree');
const content = Buffer.alloc(FILE_BYTES, 0x61);
for (let d = 0; d < Math.ceil(FILES / PER_DIR); d++) {
  await mkdir(join(tree, `d${d}`), { recursive: true });
  const names = Array.from({ length: Math.min(PER_DIR, FILES - d * PER_DIR) }, (_, f) => join(tree, `d${d}`, `f${f}.txt`));
  await Promise.all(names.map((name) => writeFile(name, content)));
}

/** The floor of create: every entry listed and every file stat'ed. */
async function walk(): Promise<number> {
  const entries = await readdir(tree, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  let bytes = 0;
  for (let i = 0; i < files.length; i += STAT_BATCH) {
    const infos = await Promise.all(files.slice(i, i + STAT_BATCH).map((file) => stat(file)));
    for (const info of infos) bytes += info.size;
  }
  if (files.length !== FILES) throw new Error(`walk found ${files.length} files, expected ${FILES}`);
  return bytes;
}

/** A command to completion (never through a shell); rejects on a non-zero exit. */
function run(command: string, commandArgs: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

const timed = async <T>(work: () => Promise<T>): Promise<[number, T]> => {
  const started = performance.now();
  const value = await work();
  return [round(performance.now() - started, 2), value];
};

const socket: Socket = await connect(socketPath);
await request(socket, OP_HELLO, { name: 'bench-world-tree', token });
let worldNumber = 0;
const config = () => ({ config: { name: `bench-tree-${++worldNumber}`, filesystem: { '/app': { type: 'mirror', source: tree } } } });

await walk();
const create = { floor_ms: [] as number[], create_ms: [] as number[], destroy_ms: [] as number[] };
for (let trial = 0; trial < TRIALS + 1; trial++) {
  const [floorMs] = await timed(walk);
  const [createMs, created] = await timed(() => request<{ world_id: string }>(socket, OP_WORLD_CREATE, config()));
  const [destroyMs] = await timed(() => request(socket, OP_WORLD_DESTROY, { world_id: created.world_id }));
  // The first trial warms both sides up (disk cache, JIT) and is not kept.
  if (trial === 0) continue;
  create.floor_ms.push(floorMs);
  create.create_ms.push(createMs);
  create.destroy_ms.push(destroyMs);
}

interface SnapshotTrial {
  /** `cp -r` of the tree. */
  floor_cp_ms: number;
  /** Node's fs.cp of the same tree (recursive, in JS: much slower than cp -r). */
  floor_fs_cp_ms: number;
  snapshot_ms: number;
  snapshot_bytes: number;
  restore_ms: number;
  layer: Reply;
}
let snapshot: { trials: SnapshotTrial[]; tree_bytes: number; median: Record<string, number> } | { skipped: string };
const snapshotTrials: SnapshotTrial[] = [];
try {
  for (let trial = 0; trial < Math.max(1, Math.ceil(TRIALS / 2)); trial++) {
    const created = await request<{ world_id: string }>(socket, OP_WORLD_CREATE, config());
    await request(socket, OP_WORLD_JOIN, { world_id: created.world_id });
    for (let i = 0; i < WRITES; i++) {
      // Random text, so the snapshot's size is the layer's, not what gzip makes of repeats.
      await request(socket, OP_WRITE, { path: `/app/new/n${i}.txt`, content: randomBytes(768).toString('base64'), mkdir: true });
      await request(socket, OP_WRITE, { path: `/app/d${i % PER_DIR}/f${i}.txt`, content: randomBytes(192).toString('base64') });
    }
    await request(socket, OP_WORLD_LEAVE, {});
    const state = await request<{ state: { filesystem: Reply } }>(socket, OP_WORLD_STATE, { world_id: created.world_id });
    const copy = join(dir, `copy-${trial}`);
    const [floorMs] = await timed(() => run('cp', ['-r', tree, copy]));
    await rm(copy, { recursive: true, force: true });
    const [floorFsCpMs] = await timed(() => cp(tree, copy, { recursive: true }));
    await rm(copy, { recursive: true, force: true });
    const [snapshotMs, written] = await timed(() =>
      request<{ path: string; bytes: number }>(socket, OP_WORLD_SNAPSHOT, { world_id: created.world_id }),
    );
    const [restoreMs, restored] = await timed(() =>
      request<{ world_id: string }>(socket, OP_WORLD_RESTORE, { snapshot_path: written.path, name: `bench-restored-${trial}` }),
    );
    await request(socket, OP_WORLD_DESTROY, { world_id: restored.world_id });
    await request(socket, OP_WORLD_DESTROY, { world_id: created.world_id });
    await rm(written.path, { force: true });
    snapshotTrials.push({
      floor_cp_ms: floorMs,
      floor_fs_cp_ms: floorFsCpMs,
      snapshot_ms: snapshotMs,
      snapshot_bytes: written.bytes,
      restore_ms: restoreMs,
      layer: state.state.filesystem,
    });
  }
  const med = (key: 'floor_cp_ms' | 'floor_fs_cp_ms' | 'snapshot_ms' | 'snapshot_bytes' | 'restore_ms') =>
    median(snapshotTrials.map((t) => t[key]));
  snapshot = {
    trials: snapshotTrials,
    tree_bytes: FILES * FILE_BYTES,
    median: {
      floor_cp_ms: med('floor_cp_ms'),
      floor_fs_cp_ms: med('floor_fs_cp_ms'),
      snapshot_ms: med('snapshot_ms'),
      snapshot_bytes: med('snapshot_bytes'),
      restore_ms: med('restore_ms'),
      layer_kb: median(snapshotTrials.map((t) => Number(t.layer.bytes) / 1024)),
    },
  };
} catch (error) {
  // WORLD_SNAPSHOT/RESTORE not served by this kernel (yet): say so rather than fail the section.
  snapshot = { skipped: (error as Error).message };
}

socket.destroy();
await rm(tree, { recursive: true, force: true });
report({
  calls: TRIALS * 2,
  elapsed_ms: 0,
  files: FILES,
  file_bytes: FILE_BYTES,
  writes: WRITES,
  create: {
    ...create,
    median: { floor_ms: median(create.floor_ms), create_ms: median(create.create_ms), destroy_ms: median(create.destroy_ms) },
  },
  snapshot,
});
