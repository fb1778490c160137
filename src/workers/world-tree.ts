/**
 * The heavy file work of EXEC inside a world, off the kernel's event loop: copying the
 * world's view into a scratch tree (`worldMaterialize`), listing that tree after the
 * command (`worldScan`), and removing it (`worldScratchRemove`). The decisions (what
 * the view holds, what a change means for the world) stay with the WorldFs in the
 * kernel's thread; these tasks only move and look at bytes.
 */
import { chmod, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type MaterializePlan, type TreeListing, writePlan } from '../worlds/fs/materialize.js';
import { scanTree } from '../worlds/fs/sync.js';
import { codeForErrno, failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

function failed(what: string, error: unknown): TaskOutcome<never> {
  const errno = (error as NodeJS.ErrnoException).code;
  return failure(codeForErrno(errno), `${what}: ${(error as Error).message}`);
}

export async function worldMaterialize({
  input,
  cancelPort,
}: TaskEnvelope<{ plan: MaterializePlan; dir: string }>): Promise<TaskOutcome<TreeListing>> {
  cancelPort.close();
  try {
    return success(await writePlan(input.plan, input.dir));
  } catch (error) {
    return failed(`could not materialise the world into ${input.dir}`, error);
  }
}

/** `null`: more than `maxEntries` entries (the caller refuses to sync such a tree). */
export async function worldScan({
  input,
  cancelPort,
}: TaskEnvelope<{ dir: string; maxEntries: number }>): Promise<TaskOutcome<TreeListing | null>> {
  cancelPort.close();
  try {
    return success(await scanTree(input.dir, input.maxEntries));
  } catch (error) {
    return failed(`could not list what the command left in ${input.dir}`, error);
  }
}

/**
 * Removes a scratch tree. A command may have taken the write bit off its directories,
 * which stops a non-root owner from emptying them: those are made writable again first.
 */
export async function worldScratchRemove({ input, cancelPort }: TaskEnvelope<{ dir: string }>): Promise<TaskOutcome<true>> {
  cancelPort.close();
  try {
    await rm(input.dir, { recursive: true, force: true });
  } catch {
    try {
      await makeWritable(input.dir);
      await rm(input.dir, { recursive: true, force: true });
    } catch (error) {
      return failed(`could not remove ${input.dir}`, error);
    }
  }
  return success(true);
}

async function makeWritable(root: string): Promise<void> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    await chmod(dir, 0o700);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) stack.push(join(dir, entry.name));
    }
  }
}
