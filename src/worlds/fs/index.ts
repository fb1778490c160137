/** The world filesystem: mounts over a copy-on-write layer (worlds.md §2). */
export {
  FsEffects,
  MountConfig,
  type MountConfigInput,
  VirtualFileConfig,
  WorldFsConfig,
  type WorldFsConfigInput,
  WorldFsLimits,
} from './config.js';
export { GENERATORS, type Generator, prepareGenerator, type RandomSource, randomLogs } from './generators.js';
export { LAYER_SNAPSHOT_FORMAT, LAYER_SNAPSHOT_VERSION, LayerSnapshot } from './layer.js';
export { type MaterializeResult, materializeTree } from './materialize.js';
export { isWithin, MountTable, normalizeWorldPath, type Resolution } from './paths.js';
export {
  type DirEntry,
  type Encoding,
  type EntryType,
  type Origin,
  type ReadOptions,
  type ReadResult,
  type StatResult,
  WorldFs,
  type WorldFsDeps,
  type WriteOptions,
  type WriteResult,
} from './world-fs.js';
