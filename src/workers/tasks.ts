/**
 * The Piscina worker entry: each export is a task the pool runs by name. Loaded in a
 * worker thread; it must not use top-level await (tsx loads it through its CJS hook).
 */
export { exec } from './exec.js';
export { readFile, writeFile } from './files.js';
export type { TaskOutcome } from './outcome.js';

import type { exec } from './exec.js';
import type { readFile, writeFile } from './files.js';

export interface Tasks {
  exec: (input: Parameters<typeof exec>[0]['input']) => ReturnType<typeof exec>;
  readFile: (input: Parameters<typeof readFile>[0]['input']) => ReturnType<typeof readFile>;
  writeFile: (input: Parameters<typeof writeFile>[0]['input']) => ReturnType<typeof writeFile>;
}
export type TaskName = keyof Tasks;
