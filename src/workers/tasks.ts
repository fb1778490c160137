/**
 * The Piscina worker entry: each export is a task the pool runs by name. Loaded in a
 * worker thread; it must not use top-level await (tsx loads it through its CJS hook).
 */
export { exec } from './exec.js';
export { authorizePath, readFile, writeFile } from './files.js';
export { http } from './http.js';
export { download } from './http-download.js';
export type { TaskOutcome } from './outcome.js';

import type { exec } from './exec.js';
import type { authorizePath, readFile, writeFile } from './files.js';
import type { http } from './http.js';
import type { download } from './http-download.js';

export interface Tasks {
  exec: (input: Parameters<typeof exec>[0]['input']) => ReturnType<typeof exec>;
  readFile: (input: Parameters<typeof readFile>[0]['input']) => ReturnType<typeof readFile>;
  writeFile: (input: Parameters<typeof writeFile>[0]['input']) => ReturnType<typeof writeFile>;
  http: (input: Parameters<typeof http>[0]['input']) => ReturnType<typeof http>;
  download: (input: Parameters<typeof download>[0]['input']) => ReturnType<typeof download>;
  authorizePath: (input: Parameters<typeof authorizePath>[0]['input']) => ReturnType<typeof authorizePath>;
}
export type TaskName = keyof Tasks;
