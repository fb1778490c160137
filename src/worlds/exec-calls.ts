/**
 * EXEC for a member of a world (worlds.md: "commands run inside its sandbox"). Always in
 * bubblewrap, whatever the agent's level: where no usable bwrap exists the call is
 * refused (UNAVAILABLE naming why), never run on the host, even with
 * --allow-degraded-isolation.
 *
 * One EXEC, in order:
 * 1. the world's current view is planned (WorldFs, between its mutations) and copied
 *    into a scratch tree `<data-dir>/worlds/<id>/exec-<n>/root` by a worker task;
 * 2. the command runs in bubblewrap with each mount bound at its world path from that
 *    tree (exec-argv.ts: no host files but the system directories, no network), in
 *    `cwd` read as a world path (default: the first mount), with a minimal environment;
 * 3. what it changed is listed by a worker task and synced back through WorldFs
 *    (fs/sync.ts), so readonly mounts, max_files, disk_quota and the disk effects apply;
 *    the reply's `world_sync` says what was written, deleted and refused;
 * 4. the scratch tree is removed.
 *
 * EXECs of one world run one at a time (at most MAX_QUEUED running or waiting), so two
 * sync-backs never interleave. Other members' READ/WRITE meanwhile go on: a file both
 * change ends as the last writer left it.
 */
import { dirname, join } from 'node:path';
import type { Session } from '../kernel/session.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import type { ExecRequest, WorldSync } from '../protocol/schemas/process.js';
import { countWrite } from '../quotas/io.js';
import { type Bubblewrap, findBubblewrap } from '../sandbox/bubblewrap.js';
import { execRules } from '../security/commands/exec-rules.js';
import { checkEnvironment, commandRefusal } from '../security/commands/index.js';
import { type WorldBind, worldExecArgv } from './exec-argv.js';
import { diffTrees, syncBack } from './fs/sync.js';
import type { World } from './world.js';

/** Files and directories a world's view may have for EXEC: each is copied per call. */
export const MAX_VIEW_ENTRIES = 100_000;
/** EXECs of one world running or waiting; more is UNAVAILABLE. */
export const MAX_QUEUED = 8;

/** All a command inherits: no variable of the kernel's own environment. */
const WORLD_ENV: Readonly<Record<string, string>> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8' };

const queues = new WeakMap<World, { tail: Promise<unknown>; waiting: number }>();
let scratchCount = 0;

/** The bwrap a world's EXEC runs in, or UNAVAILABLE naming what is wrong (`bwrapPath`: tests point it at a missing one). */
export async function requireWorldSandbox(world: Pick<World, 'id' | 'name'>, bwrapPath?: string): Promise<Bubblewrap> {
  const lookup = await findBubblewrap(bwrapPath === undefined ? {} : { path: bwrapPath });
  if (lookup.ok) return lookup.bwrap;
  throw new KernelError(
    'UNAVAILABLE',
    `EXEC refused in world "${world.name}" (${world.id}): commands in a world run only inside bubblewrap, and ${lookup.problem}; ` +
      'a world never runs commands on the host (--allow-degraded-isolation does not apply)',
    { world_id: world.id },
  );
}

export async function execInWorld(world: World, request: ExecRequest, session: Session, kernel: KernelServices) {
  const { agent } = session;
  const checks = kernel.options.permissionChecks;
  const permissions = agent.permissions;
  const envDenial = request.env === undefined || !checks ? null : checkEnvironment(request.env, permissions);
  if (envDenial) throw commandRefusal('EXEC', envDenial);
  const bwrap = await requireWorldSandbox(world);
  const mounts = world.fs.mounts;
  if (mounts.some((mount) => mount.path === '/')) {
    throw new KernelError(
      'UNAVAILABLE',
      `EXEC refused in world "${world.name}" (${world.id}): it mounts "/", which would hide the programs a command needs; mount below /`,
      { world_id: world.id },
    );
  }
  const cwd = await worldCwd(world, request.cwd);
  const limits = kernel.options.exec;
  return serialize(world, async () => {
    const scratch = join(dirname(world.layerDir), `exec-${++scratchCount}`);
    const root = join(scratch, 'root');
    try {
      if (isDestroyed(world)) throw new KernelError('NOT_FOUND', `EXEC: world "${world.id}" was destroyed before the command could run`);
      const plan = await world.fs.plan(MAX_VIEW_ENTRIES);
      const before = await kernel.pool.run('worldMaterialize', { plan, dir: root }, session.closed);
      const binds: WorldBind[] = mounts.map((mount) => ({
        host: join(root, mount.path),
        world: mount.path,
        writable: mount.type !== 'readonly' && mount.writable,
      }));
      const result = await kernel.pool.run(
        'exec',
        {
          command: request.command,
          cwd: root,
          env: { ...WORLD_ENV, ...request.env },
          timeoutMs: Math.round(request.timeout * 1000),
          maxOutputBytes: Math.min(request.max_output ?? limits.maxOutputBytes, limits.maxOutputBytes),
          killGraceMs: limits.killGraceMs,
          argv: worldExecArgv(bwrap, binds, cwd, request.command),
          rules: execRules(permissions, checks),
        },
        session.closed,
      );
      if ('denied' in result) throw commandRefusal('EXEC', result.denied);
      if (isDestroyed(world)) {
        throw new KernelError('NOT_FOUND', `EXEC: world "${world.id}" was destroyed while the command ran; nothing was synced`);
      }
      // No cancel from here: the command's changes are synced even if the caller has gone.
      const after = await kernel.pool.run('worldScan', { dir: root, maxEntries: MAX_VIEW_ENTRIES + before.length });
      const world_sync: WorldSync = after
        ? await syncBack(world.fs, diffTrees(before, after), root)
        : {
            written: 0,
            bytes: 0,
            directories: 0,
            deleted: 0,
            refused: [
              {
                path: '/',
                code: 'QUOTA_EXCEEDED',
                reason: `the command left more than ${MAX_VIEW_ENTRIES} new entries; nothing was synced`,
              },
            ],
            refused_count: 1,
          };
      // What the command wrote into the world counts as the agent's writes (a WRITE would have).
      countWrite(kernel, session, world_sync.bytes);
      return { success: true as const, ...result, world_id: world.id, world_sync };
    } finally {
      await kernel.pool.run('worldScratchRemove', { dir: scratch }).catch((error: unknown) => {
        kernel.log.warn({ err: error, world_id: world.id, dir: scratch }, 'could not remove an EXEC scratch tree');
      });
    }
  });
}

/** The request's cwd as a world directory: the first mount when none is given, `/` in a world without mounts. */
async function worldCwd(world: World, requested: string | undefined): Promise<string> {
  const path = requested === undefined ? (world.fs.mounts[0]?.path ?? '/') : world.fs.resolve(requested).path;
  const info = await world.fs.stat(path);
  if (info.type !== 'directory') {
    throw new KernelError('INVALID_REQUEST', `invalid EXEC request: field "cwd": "${path}" is a file in the world, expected a directory`, {
      field: 'cwd',
    });
  }
  return path;
}

function serialize<T>(world: World, work: () => Promise<T>): Promise<T> {
  let queue = queues.get(world);
  if (!queue) {
    queue = { tail: Promise.resolve(), waiting: 0 };
    queues.set(world, queue);
  }
  if (queue.waiting >= MAX_QUEUED) {
    throw new KernelError(
      'UNAVAILABLE',
      `EXEC in world "${world.name}" (${world.id}): ${MAX_QUEUED} commands are running or waiting already (they run one at a time); try again shortly`,
      { world_id: world.id },
    );
  }
  const mine = queue;
  mine.waiting++;
  const run = mine.tail.then(work).finally(() => {
    mine.waiting--;
  });
  mine.tail = run.catch(() => undefined);
  return run;
}

/** A function, not an inline test: the world can be destroyed during any await of an EXEC. */
function isDestroyed(world: World): boolean {
  return world.state === 'destroyed';
}
