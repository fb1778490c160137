/**
 * The Piscina worker entry: each export is a task the pool runs by name. Loaded in a
 * worker thread; it must not use top-level await (tsx loads it through its CJS hook).
 */
export { exec } from './exec.js';
export { authorizePath, readFile, writeFile } from './files.js';
export { http } from './http.js';
export { download } from './http-download.js';
export type { TaskOutcome } from './outcome.js';
export { packWorldSnapshot, unpackInlineSnapshot, unpackWorldSnapshot } from './world-snapshot.js';
export { worldMaterialize, worldScan, worldScratchRemove } from './world-tree.js';

import type { exec } from './exec.js';
import type { authorizePath, readFile, writeFile } from './files.js';
import type { http } from './http.js';
import type { download } from './http-download.js';
import type { packWorldSnapshot, unpackInlineSnapshot, unpackWorldSnapshot } from './world-snapshot.js';
import type { worldMaterialize, worldScan, worldScratchRemove } from './world-tree.js';

export interface Tasks {
  exec: (input: Parameters<typeof exec>[0]['input']) => ReturnType<typeof exec>;
  readFile: (input: Parameters<typeof readFile>[0]['input']) => ReturnType<typeof readFile>;
  writeFile: (input: Parameters<typeof writeFile>[0]['input']) => ReturnType<typeof writeFile>;
  http: (input: Parameters<typeof http>[0]['input']) => ReturnType<typeof http>;
  download: (input: Parameters<typeof download>[0]['input']) => ReturnType<typeof download>;
  authorizePath: (input: Parameters<typeof authorizePath>[0]['input']) => ReturnType<typeof authorizePath>;
  worldMaterialize: (input: Parameters<typeof worldMaterialize>[0]['input']) => ReturnType<typeof worldMaterialize>;
  worldScan: (input: Parameters<typeof worldScan>[0]['input']) => ReturnType<typeof worldScan>;
  worldScratchRemove: (input: Parameters<typeof worldScratchRemove>[0]['input']) => ReturnType<typeof worldScratchRemove>;
  packWorldSnapshot: (input: Parameters<typeof packWorldSnapshot>[0]['input']) => ReturnType<typeof packWorldSnapshot>;
  unpackWorldSnapshot: (input: Parameters<typeof unpackWorldSnapshot>[0]['input']) => ReturnType<typeof unpackWorldSnapshot>;
  unpackInlineSnapshot: (input: Parameters<typeof unpackInlineSnapshot>[0]['input']) => ReturnType<typeof unpackInlineSnapshot>;
}
export type TaskName = keyof Tasks;
