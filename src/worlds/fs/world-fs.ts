/**
 * A world's filesystem (worlds.md §2): the merged view of its mounts over its own layer.
 *
 * Lookup order for a path inside a mount: the layer (copied-up or new files) → a whiteout
 * on the path or an ancestor (deleted: NOT_FOUND) → the lower layer (the mirror/readonly
 * source, or the virtual mount's files). Writes always land in the layer; sources are
 * opened read-only and never written.
 *
 * Decisions:
 * - A source symlink is followed only when its real path stays inside the source's real
 *   root; one pointing outside (or dangling) reads as NOT_FOUND, as if it were not there,
 *   the same answer as any path outside the world. Listings omit such entries.
 * - Virtual mounts are writable by default (a tmpfs-like space: writes land in the layer);
 *   `writable: false` makes them read-only.
 * - A full overwrite of a mirror file writes the new content to the layer directly; only
 *   an append (or a corruption) copies the whole source file up first, since the result
 *   is the same and the copy would be wasted.
 * - Mount points' ancestors (`/`, `/var` for `/var/log`) are synthetic read-only
 *   directories that list the mounts below them.
 * - Mutations run one at a time (a promise chain), so the quota sums stay exact; reads
 *   run concurrently.
 *
 * Every method is async and touches the disk only through node:fs/promises, so a Piscina
 * worker can own a WorldFs later (the state is the layer directory plus `layer.json`).
 */
import { constants, copyFile, open, readdir, realpath, stat as statHost, writeFile as writeHost } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { KernelError } from '../../protocol/errors.js';
import { formatPath } from '../definition/parse.js';
import { WorldRandom } from '../random.js';
import { FsEffects, type MountConfig, WorldFsConfig, type WorldFsConfigInput } from './config.js';
import * as errors from './errors.js';
import { prepareGenerator, type RandomSource } from './generators.js';
import { Layer, LayerSnapshot } from './layer.js';
import { type MaterializePlan, type MaterializeResult, materializeTree, planTree } from './materialize.js';
import { joinWorld, MountTable, normalizeWorldPath, parentOf, type Resolution } from './paths.js';

export type Encoding = 'utf8' | 'base64';

export interface ReadOptions {
  offset?: number;
  length?: number;
  encoding?: Encoding;
}

export interface ReadResult {
  content: string;
  size: number;
  encoding: Encoding;
  offset: number;
  bytes_read: number;
  eof: boolean;
}

export interface WriteOptions {
  append?: boolean;
  /** Create missing parent directories (inside the mount). */
  mkdir?: boolean;
  /** How a string `content` is encoded; ignored for bytes. */
  encoding?: Encoding;
}

export interface WriteResult {
  bytes_written: number;
  size: number;
}

export type EntryType = 'file' | 'directory';
/** Where a path's content comes from. */
export type Origin = 'layer' | 'source' | 'virtual' | 'mountpoint';

export interface StatResult {
  path: string;
  type: EntryType;
  size: number;
  /** The mount's path, or null for a synthetic mount-point directory. */
  mount: string | null;
  origin: Origin;
}

export interface DirEntry {
  name: string;
  type: EntryType;
}

export interface WorldFsDeps {
  /** The world's random source; generators and corruption use forks of it. Default: seed 0. */
  random?: WorldRandom;
  /** How slow_io waits: injectable so tests step time instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

/** A lower-layer virtual file: content is produced once, on first use. */
interface VirtualFile {
  content: Buffer | undefined;
  produce: () => string;
}

interface MountState {
  /** Real path of a mirror/readonly source (symlinks resolved), for containment checks. */
  sourceReal?: string;
  virtualFiles?: Map<string, VirtualFile>;
  /** Directory (relative to the mount, '' for its root) → its children. */
  virtualDirs?: Map<string, Map<string, 'dir' | 'file'>>;
}

type Node =
  | { type: 'file'; origin: 'layer' | 'source'; host: string; size: number }
  | { type: 'file'; origin: 'virtual'; file: VirtualFile; size: number }
  | { type: 'directory'; origin: Origin; host?: string };
type FileNode = Extract<Node, { type: 'file' }>;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WorldFs {
  readonly #table: MountTable;
  readonly #layer: Layer;
  readonly #config: WorldFsConfig;
  readonly #mountState: Map<MountConfig, MountState>;
  readonly #random: WorldRandom;
  readonly #sleep: (ms: number) => Promise<void>;
  #effects: FsEffects = FsEffects.parse({});
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(config: WorldFsConfig, table: MountTable, layer: Layer, mountState: Map<MountConfig, MountState>, deps: WorldFsDeps) {
    this.#config = config;
    this.#table = table;
    this.#layer = layer;
    this.#mountState = mountState;
    this.#random = deps.random ?? WorldRandom.fromSeed(0);
    this.#sleep = deps.sleep ?? defaultSleep;
  }

  /** Checks the config (errors name the key path), opens the layer and resolves the sources. */
  static async open(input: WorldFsConfigInput, deps: WorldFsDeps = {}): Promise<WorldFs> {
    const parsed = WorldFsConfig.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = formatPath(issue.path);
      throw new KernelError('INVALID_REQUEST', `${field}: ${issue.message}`, { field });
    }
    const config = parsed.data;
    const table = new MountTable(config.mounts);
    const random = deps.random ?? WorldRandom.fromSeed(0);
    const mountState = new Map<MountConfig, MountState>();
    for (const [index, mount] of config.mounts.entries()) {
      mountState.set(mount, await prepareMount(mount, index, random));
    }
    const layer = await Layer.open(config.layerDir);
    return new WorldFs(config, table, layer, mountState, { ...deps, random });
  }

  get mounts(): readonly MountConfig[] {
    return this.#config.mounts;
  }

  get effects(): FsEffects {
    return { ...this.#effects };
  }

  /** Switches chaos effects (disk_full, disk_fail, slow_io); `heal` passes the defaults. */
  setEffects(change: Partial<FsEffects>): void {
    this.#effects = FsEffects.parse({ ...this.#effects, ...change });
  }

  /** The layer's usage, for WORLD_STATE and the limits. */
  usage(): { files: number; bytes: number; whiteouts: number; maxFiles?: number; diskQuota?: number } {
    return { files: this.#layer.fileCount, bytes: this.#layer.bytes, whiteouts: this.#layer.whiteoutCount, ...this.#config.limits };
  }

  /** Which mount a world path falls in, after lexical normalisation (never above `/`). */
  resolve(path: string): Resolution {
    return this.#table.resolve(normalizeWorldPath(path));
  }

  async read(path: string, options: ReadOptions = {}): Promise<ReadResult> {
    const where = this.resolve(path);
    await this.#beforeIo(where.path, 'read');
    const node = await this.#lookup(where);
    if (!node) throw errors.notFound(where.path, where.mount);
    if (node.type === 'directory') throw errors.isDirectory(where.path, where.mount, 'read');
    const encoding = options.encoding ?? 'utf8';
    const offset = options.offset ?? 0;
    const available = Math.max(0, node.size - offset);
    const wanted = options.length === undefined ? available : Math.min(options.length, available);
    let bytes: Buffer;
    if (node.origin === 'virtual') {
      bytes = virtualContent(node.file).subarray(offset, offset + wanted);
    } else {
      bytes = await readRange(node.host, offset, wanted);
    }
    return {
      content: bytes.toString(encoding),
      size: node.size,
      encoding,
      offset,
      bytes_read: bytes.length,
      eof: offset + bytes.length >= node.size,
    };
  }

  write(path: string, content: string | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    return this.#serial(() => this.#write(path, content, options));
  }

  /** Deletes a file, or a directory (with `recursive` when it is not empty): lower paths get a whiteout. */
  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    return this.#serial(() => this.#remove(path, options));
  }

  /** Creates a directory (and its missing parents) in the layer. */
  mkdir(path: string): Promise<void> {
    return this.#serial(async () => {
      const where = this.resolve(path);
      await this.#beforeIo(where.path, 'mkdir');
      const { mount } = this.#writableMount(where, 'mkdir');
      await this.#ensureDirs(where.path, mount);
    });
  }

  async stat(path: string): Promise<StatResult> {
    const where = this.resolve(path);
    await this.#beforeIo(where.path, 'stat');
    const node = await this.#lookup(where);
    if (!node) throw errors.notFound(where.path, where.mount);
    return {
      path: where.path,
      type: node.type,
      size: node.type === 'file' ? node.size : 0,
      mount: where.mount?.path ?? null,
      origin: node.origin,
    };
  }

  async exists(path: string): Promise<boolean> {
    return (await this.#lookup(this.resolve(path))) !== null;
  }

  /** The merged entries of a directory, sorted by name. */
  async list(path: string): Promise<DirEntry[]> {
    const where = this.resolve(path);
    await this.#beforeIo(where.path, 'list');
    const node = await this.#lookup(where);
    if (!node) throw errors.notFound(where.path, where.mount);
    if (node.type !== 'directory') throw errors.notDirectory(where.path, where.mount);
    const entries = new Map<string, EntryType>();
    if (where.kind === 'mount') {
      const { mount, rel } = where;
      if (!this.#layer.isHidden(where.path, mount.path) || where.path === mount.path) {
        const state = this.#mountState.get(mount)!;
        if (state.sourceReal !== undefined) {
          for (const [name, type] of await listSource(state.sourceReal, rel)) entries.set(name, type);
        } else {
          for (const [name, type] of state.virtualDirs?.get(rel) ?? []) entries.set(name, type === 'dir' ? 'directory' : 'file');
        }
        for (const name of [...entries.keys()]) if (this.#layer.isWhiteout(joinWorld(where.path, name))) entries.delete(name);
      }
      for (const [name, type] of this.#layer.children(where.path)) entries.set(name, type);
    }
    for (const name of this.#table.childMountNames(where.path)) entries.set(name, 'directory');
    return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, type]) => ({ name, type }));
  }

  /**
   * file_corruption: flips bytes of `path` deterministically (the positions and masks come
   * from `random.fork(fs:corrupt:<path>:<n>)`, n counting corruptions of that path). The
   * world's own copy is corrupted: a lower file is copied up first, so sources stay intact.
   * Returns the flipped offsets.
   */
  corrupt(path: string, options: { bytes?: number } = {}): Promise<number[]> {
    return this.#serial(async () => {
      const where = this.resolve(path);
      const node = await this.#lookup(where);
      if (!node || where.kind !== 'mount') throw errors.notFound(where.path, where.mount);
      if (node.type === 'directory') throw errors.isDirectory(where.path, where.mount, 'corrupt');
      if (node.size === 0) return [];
      const host = await this.#copyUp(where.path, node);
      const n = await this.#layer.nextCorruption(where.path);
      const random = this.#random.fork(`fs:corrupt:${where.path}:${n}`);
      const count = Math.min(node.size, options.bytes ?? Math.min(64, Math.max(1, Math.ceil(node.size / 1024))));
      const handle = await open(host, 'r+');
      const offsets: number[] = [];
      try {
        const one = Buffer.alloc(1);
        for (let i = 0; i < count; i++) {
          const offset = random.int(0, node.size - 1);
          await handle.read(one, 0, 1, offset);
          one[0] = one[0]! ^ random.int(1, 255);
          await handle.write(one, 0, 1, offset);
          offsets.push(offset);
        }
      } finally {
        await handle.close();
      }
      return offsets;
    });
  }

  /** The layer as data (files, directories, whiteouts) for WORLD_SNAPSHOT. */
  exportLayer(): Promise<LayerSnapshot> {
    return this.#serial(() => this.#layer.export());
  }

  /** Replaces the layer with an exported one (WORLD_RESTORE); refuses another format version or paths outside the mounts. */
  importLayer(snapshot: unknown): Promise<void> {
    return this.#serial(async () => {
      const parsed = LayerSnapshot.safeParse(snapshot);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = formatPath(issue.path);
        throw new KernelError('INVALID_REQUEST', `layer snapshot: ${field}: ${issue.message}`, { field });
      }
      const data = parsed.data;
      for (const [index, file] of data.files.entries()) {
        if (this.#table.resolve(file.path).kind !== 'mount') {
          throw new KernelError('INVALID_REQUEST', `layer snapshot: files[${index}].path: "${file.path}" is outside every mount`, {
            field: `files[${index}].path`,
          });
        }
      }
      await this.#layer.import(data);
    });
  }

  /**
   * Writes the world's current view as a real tree under `targetDir` (missing or empty):
   * mount paths become directories below it (`/app/x` → `<targetDir>/app/x`).
   */
  materialize(targetDir: string): Promise<MaterializeResult> {
    return this.#serial(() =>
      materializeTree(
        {
          list: (path) => this.list(path),
          copyOut: async (path, target) => {
            const node = await this.#lookup(this.resolve(path));
            if (node?.type !== 'file') throw errors.notFound(path, this.resolve(path).mount);
            if (node.origin === 'virtual') await writeHost(target, virtualContent(node.file));
            else await copyFile(node.host, target, constants.COPYFILE_FICLONE);
            return node.size;
          },
        },
        targetDir,
      ),
    );
  }

  /**
   * The current view as a plan (EXEC materialises it in a worker, materialize.ts): taken
   * between mutations, so it is one consistent view. Over `maxEntries` is QUOTA_EXCEEDED.
   */
  plan(maxEntries: number): Promise<MaterializePlan> {
    return this.#serial(() =>
      planTree(
        {
          list: (path) => this.list(path),
          source: async (path) => {
            const node = await this.#lookup(this.resolve(path));
            if (node?.type !== 'file') throw errors.notFound(path, this.resolve(path).mount);
            return node.origin === 'virtual' ? { content: virtualContent(node.file) } : { host: node.host };
          },
        },
        maxEntries,
      ),
    );
  }

  /**
   * Writes the host file `source` at world `path` as a full overwrite would (EXEC's
   * sync-back): the same checks as `write` (mount, disk effects, limits; missing parents
   * are made), but the bytes are copied, never held in memory.
   */
  importFile(path: string, source: string): Promise<WriteResult> {
    return this.#serial(async () => {
      const where = this.resolve(path);
      await this.#beforeIo(where.path, 'write');
      const { mount } = this.#writableMount(where, 'write');
      if (this.#effects.diskFull) throw errors.diskFull(where.path, mount);
      if (where.path === mount.path) throw errors.isDirectory(where.path, mount, 'write');
      const node = await this.#lookup(where);
      if (node?.type === 'directory') throw errors.isDirectory(where.path, mount, 'write');
      const parent = parentOf(where.path);
      const parentNode = await this.#lookup(this.#table.resolve(parent));
      if (parentNode && parentNode.type !== 'directory') throw errors.notDirectory(parent, mount);
      const size = (await statHost(source)).size;
      const inLayer = this.#layer.fileSize(where.path);
      this.#checkLimits(where.path, inLayer === undefined ? 1 : 0, size - (inLayer ?? 0));
      if (parentNode?.origin !== 'layer') await this.#ensureDirs(parent, mount);
      const host = this.#layer.hostPath(where.path);
      await copyFile(source, host, constants.COPYFILE_FICLONE);
      const written = (await statHost(host)).size;
      this.#layer.recordFile(where.path, written);
      return { bytes_written: written, size: written };
    });
  }

  // --- internals ---

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    // The chain must survive a failed task; the caller still sees the failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #beforeIo(path: string, op: string): Promise<void> {
    if (this.#effects.slowIoMs > 0) await this.#sleep(this.#effects.slowIoMs);
    if (this.#effects.diskFail) throw errors.ioError(path, op);
  }

  async #lookup(where: Resolution): Promise<Node | null> {
    if (where.kind === 'outside') return null;
    if (where.kind === 'mountpoint') return { type: 'directory', origin: 'mountpoint' };
    const size = this.#layer.fileSize(where.path);
    if (size !== undefined) return { type: 'file', origin: 'layer', host: this.#layer.hostPath(where.path), size };
    if (this.#layer.hasDir(where.path)) return { type: 'directory', origin: 'layer', host: this.#layer.hostPath(where.path) };
    if (where.path !== where.mount.path && this.#layer.isHidden(where.path, where.mount.path)) return null;
    return this.#lookupLower(where.mount, where.rel);
  }

  async #lookupLower(mount: MountConfig, rel: string): Promise<Node | null> {
    const state = this.#mountState.get(mount)!;
    if (state.sourceReal !== undefined) {
      const real = await containedRealPath(state.sourceReal, rel);
      if (real === null) return null;
      const info = await statHost(real);
      if (info.isFile()) return { type: 'file', origin: 'source', host: real, size: info.size };
      if (info.isDirectory()) return { type: 'directory', origin: 'source', host: real };
      return null; // sockets, FIFOs, devices: not part of a world
    }
    const file = state.virtualFiles?.get(rel);
    if (file) return { type: 'file', origin: 'virtual', file, size: virtualContent(file).length };
    if (rel === '' || state.virtualDirs?.has(rel)) return { type: 'directory', origin: 'virtual' };
    return null;
  }

  #writableMount(where: Resolution, op: string): { mount: MountConfig; rel: string } {
    if (where.kind === 'outside') throw errors.outsideMounts(where.path, op);
    if (where.kind === 'mountpoint') throw errors.readOnly(where.path, null, op);
    const { mount } = where;
    if (mount.type === 'readonly' || !mount.writable) throw errors.readOnly(where.path, mount, op);
    return { mount, rel: where.rel };
  }

  async #write(path: string, content: string | Uint8Array, options: WriteOptions): Promise<WriteResult> {
    const where = this.resolve(path);
    await this.#beforeIo(where.path, 'write');
    const { mount } = this.#writableMount(where, 'write');
    if (this.#effects.diskFull) throw errors.diskFull(where.path, mount);
    if (where.path === mount.path) throw errors.isDirectory(where.path, mount, 'write');
    const bytes = typeof content === 'string' ? Buffer.from(content, options.encoding ?? 'utf8') : Buffer.from(content);
    const node = await this.#lookup(where);
    if (node?.type === 'directory') throw errors.isDirectory(where.path, mount, 'write');

    const parent = parentOf(where.path);
    const parentNode = await this.#lookup(this.#table.resolve(parent));
    if (!parentNode) {
      if (!options.mkdir) throw errors.notFound(parent, mount);
    } else if (parentNode.type !== 'directory') {
      throw errors.notDirectory(parent, mount);
    }

    const inLayer = this.#layer.fileSize(where.path);
    const appendTo = options.append === true && node !== null ? node : null;
    const newSize = appendTo ? appendTo.size + bytes.length : bytes.length;
    this.#checkLimits(where.path, inLayer === undefined ? 1 : 0, newSize - (inLayer ?? 0));

    if (parentNode?.origin !== 'layer') await this.#ensureDirs(parent, mount);
    const host = this.#layer.hostPath(where.path);
    if (appendTo) {
      if (appendTo.origin !== 'layer') await this.#copyUp(where.path, appendTo);
      const handle = await open(host, 'a');
      try {
        await handle.write(bytes);
      } finally {
        await handle.close();
      }
    } else {
      await writeHost(host, bytes);
    }
    this.#layer.recordFile(where.path, newSize);
    return { bytes_written: bytes.length, size: newSize };
  }

  #checkLimits(path: string, newFiles: number, newBytes: number): void {
    const { maxFiles, diskQuota } = this.#config.limits;
    if (maxFiles !== undefined && newFiles > 0 && this.#layer.fileCount + newFiles > maxFiles) {
      throw errors.quotaExceeded(path, 'max_files', `${maxFiles} files in the world's layer`);
    }
    if (diskQuota !== undefined && newBytes > 0 && this.#layer.bytes + newBytes > diskQuota) {
      throw errors.quotaExceeded(path, 'disk_quota', `${this.#layer.bytes} + ${newBytes} bytes is over ${diskQuota}`);
    }
  }

  /** Makes `dir` and its missing ancestors (down from the mount root) directories in the layer. */
  async #ensureDirs(dir: string, mount: MountConfig): Promise<void> {
    const chain: string[] = [];
    for (let current = dir; ; current = parentOf(current)) {
      chain.push(current);
      if (current === mount.path || current === '/') break;
    }
    for (const current of chain.reverse()) {
      const node = await this.#lookup(this.#table.resolve(current));
      if (node && node.type !== 'directory') throw errors.notDirectory(current, mount);
    }
    await this.#layer.mkdirs(dir);
  }

  /** Copies a lower file whole into the layer (never a hard link: writes through it would reach the source). */
  async #copyUp(path: string, node: FileNode): Promise<string> {
    const host = this.#layer.hostPath(path);
    if (node.origin === 'layer') return host;
    this.#checkLimits(path, 1, node.size);
    await this.#layer.mkdirs(parentOf(path));
    if (node.origin === 'virtual') {
      await writeHost(host, virtualContent(node.file));
    } else {
      // FICLONE: a reflink where the filesystem has them, a plain copy elsewhere.
      await copyFile(node.host, host, constants.COPYFILE_FICLONE);
    }
    this.#layer.recordFile(path, node.size);
    return host;
  }

  async #remove(path: string, options: { recursive?: boolean }): Promise<void> {
    const where = this.resolve(path);
    await this.#beforeIo(where.path, 'remove');
    const node = await this.#lookup(where);
    if (!node) throw errors.notFound(where.path, where.mount);
    const { mount, rel } = this.#writableMount(where, 'remove');
    if (where.path === mount.path) throw errors.readOnly(where.path, mount, 'remove the mount point');
    if (node.type === 'directory' && !options.recursive && (await this.list(where.path)).length > 0) {
      throw errors.notEmpty(where.path, mount);
    }
    await this.#layer.removeTree(where.path);
    const hiddenAlready = this.#layer.isHidden(where.path, mount.path);
    if (!hiddenAlready && (await this.#lookupLower(mount, rel)) !== null) await this.#layer.addWhiteout(where.path);
  }
}

async function prepareMount(mount: MountConfig, index: number, random: WorldRandom): Promise<MountState> {
  if (mount.type !== 'virtual') {
    let sourceReal: string;
    try {
      sourceReal = await realpath(mount.source);
      if (!(await statHost(sourceReal)).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new KernelError(
        'INVALID_REQUEST',
        `mounts[${index}].source: "${mount.source}" is not a readable directory (${(error as Error).message})`,
        {
          field: `mounts[${index}].source`,
        },
      );
    }
    return { sourceReal };
  }
  const virtualFiles = new Map<string, VirtualFile>();
  const virtualDirs = new Map<string, Map<string, 'dir' | 'file'>>();
  const addChild = (dir: string, name: string, type: 'dir' | 'file') => {
    let children = virtualDirs.get(dir);
    if (!children) {
      children = new Map();
      virtualDirs.set(dir, children);
    }
    children.set(name, type);
  };
  virtualDirs.set('', new Map());
  for (const [fileIndex, file] of mount.files.entries()) {
    const where = `mounts[${index}].files[${fileIndex}]`;
    const worldPath = joinWorld(mount.path, file.name);
    let produce: () => string;
    if (file.generator !== undefined) {
      const generate = prepareGenerator(file.generator, file.options, where);
      const stream: RandomSource = random.fork(`fs:${worldPath}`);
      produce = () => generate(stream);
    } else {
      const text = file.content ?? '';
      produce = () => text;
    }
    if (virtualFiles.has(file.name)) {
      throw new KernelError('INVALID_REQUEST', `${where}.name: "${file.name}" is listed twice`, { field: `${where}.name` });
    }
    virtualFiles.set(file.name, { content: undefined, produce });
    const parts = file.name.split('/');
    for (let i = 0; i < parts.length; i++) {
      addChild(parts.slice(0, i).join('/'), parts[i]!, i === parts.length - 1 ? 'file' : 'dir');
    }
  }
  return { virtualFiles, virtualDirs };
}

function virtualContent(file: VirtualFile): Buffer {
  file.content ??= Buffer.from(file.produce());
  return file.content;
}

/** The real path of `rel` below a source, or null when it is missing or its symlinks lead outside the source. */
async function containedRealPath(sourceReal: string, rel: string): Promise<string | null> {
  let real: string;
  try {
    real = await realpath(rel === '' ? sourceReal : join(sourceReal, rel));
  } catch {
    return null;
  }
  return real === sourceReal || real.startsWith(sourceReal + sep) ? real : null;
}

async function listSource(sourceReal: string, rel: string): Promise<Map<string, EntryType>> {
  const out = new Map<string, EntryType>();
  const dir = await containedRealPath(sourceReal, rel);
  if (dir === null) return out;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) out.set(entry.name, 'file');
    else if (entry.isDirectory()) out.set(entry.name, 'directory');
    else if (entry.isSymbolicLink()) {
      const real = await containedRealPath(sourceReal, rel === '' ? entry.name : `${rel}/${entry.name}`);
      if (real === null) continue; // leads outside the source, or dangles: not in the world
      const info = await statHost(real);
      if (info.isFile()) out.set(entry.name, 'file');
      else if (info.isDirectory()) out.set(entry.name, 'directory');
    }
  }
  return out;
}

async function readRange(host: string, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  if (length === 0) return buffer;
  const handle = await open(host, 'r');
  let filled = 0;
  try {
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return buffer.subarray(0, filled);
}
