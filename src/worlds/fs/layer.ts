/**
 * The world's own layer on disk: `upper/` holds copied-up and new files at their world
 * paths (`upper/app/config.json` for `/app/config.json`), `layer.json` the whiteouts
 * (deleted lower paths) and per-file corruption counts. An in-memory index of upper files
 * and directories answers "is it in the layer?" and the quota sums without touching the
 * disk on the hot path; it is rebuilt from disk at open.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssuePath, KernelError } from '../../protocol/errors.js';
import { isWithin, normalizeWorldPath, parentOf } from './paths.js';

const LayerPath = z
  .string()
  .refine((path) => path !== '/' && normalizeWorldPath(path) === path, 'expected a normalised absolute world path below /');

const LayerState = z.strictObject({
  whiteouts: z.array(LayerPath),
  /** How many times file_corruption hit each path: the next corruption's random stream label. */
  corruptions: z.record(z.string(), z.number().int().nonnegative()),
});
type LayerState = z.output<typeof LayerState>;

export const LAYER_SNAPSHOT_FORMAT = 'agentos-world-layer';
export const LAYER_SNAPSHOT_VERSION = 1;

/** The layer as data, for WORLD_SNAPSHOT/RESTORE: bounded by the world's disk_quota. */
export const LayerSnapshot = z.strictObject({
  format: z.literal(LAYER_SNAPSHOT_FORMAT),
  version: z.literal(LAYER_SNAPSHOT_VERSION),
  dirs: z.array(LayerPath),
  files: z.array(z.strictObject({ path: LayerPath, content: z.base64() })),
  ...LayerState.shape,
});
export type LayerSnapshot = z.output<typeof LayerSnapshot>;

export class Layer {
  readonly upperDir: string;
  readonly #stateFile: string;
  readonly #files = new Map<string, number>();
  readonly #dirs = new Set<string>();
  #whiteouts = new Set<string>();
  #corruptions = new Map<string, number>();
  #bytes = 0;

  private constructor(layerDir: string) {
    this.upperDir = join(layerDir, 'upper');
    this.#stateFile = join(layerDir, 'layer.json');
  }

  static async open(layerDir: string): Promise<Layer> {
    const layer = new Layer(layerDir);
    await mkdir(layer.upperDir, { recursive: true });
    let raw: string | undefined;
    try {
      raw = await readFile(layer.#stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (raw !== undefined) {
      const parsed = LayerState.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new KernelError('INTERNAL', `${layer.#stateFile}: ${formatIssuePath(issue.path)}: ${issue.message}`);
      }
      layer.#applyState(parsed.data);
    }
    await layer.#scan();
    return layer;
  }

  /** The host path of a world path in the layer; world paths are normalised, so this stays in `upper/`. */
  hostPath(path: string): string {
    return join(this.upperDir, path);
  }

  fileSize(path: string): number | undefined {
    return this.#files.get(path);
  }

  hasDir(path: string): boolean {
    return this.#dirs.has(path);
  }

  get fileCount(): number {
    return this.#files.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get whiteoutCount(): number {
    return this.#whiteouts.size;
  }

  /** True when `path` or an ancestor down to the mount root was deleted from the lower layer. */
  isHidden(path: string, mountPath: string): boolean {
    if (this.#whiteouts.size === 0) return false;
    for (let current = path; ; current = parentOf(current)) {
      if (this.#whiteouts.has(current)) return true;
      if (current === mountPath || current === '/') return false;
    }
  }

  isWhiteout(path: string): boolean {
    return this.#whiteouts.has(path);
  }

  /** Names directly below `dir` in the layer, with their kinds. */
  children(dir: string): Map<string, 'file' | 'directory'> {
    const out = new Map<string, 'file' | 'directory'>();
    // Scans the index: layers are bounded by max_files, and listing is not the hot path.
    for (const path of this.#files.keys()) if (parentOf(path) === dir) out.set(path.slice(path.lastIndexOf('/') + 1), 'file');
    for (const path of this.#dirs) if (path !== '/' && parentOf(path) === dir) out.set(path.slice(path.lastIndexOf('/') + 1), 'directory');
    return out;
  }

  async mkdirs(path: string): Promise<void> {
    await mkdir(this.hostPath(path), { recursive: true });
    this.#addDirs(path);
  }

  recordFile(path: string, size: number): void {
    this.#bytes += size - (this.#files.get(path) ?? 0);
    this.#files.set(path, size);
    this.#addDirs(parentOf(path));
  }

  /** Removes `path` and everything below it from the layer (not a whiteout: see `addWhiteout`). */
  async removeTree(path: string): Promise<void> {
    await rm(this.hostPath(path), { recursive: true, force: true });
    for (const [file, size] of this.#files) {
      if (isWithin(file, path)) {
        this.#files.delete(file);
        this.#bytes -= size;
      }
    }
    for (const dir of this.#dirs) if (isWithin(dir, path)) this.#dirs.delete(dir);
  }

  async addWhiteout(path: string): Promise<void> {
    // A whiteout hides everything below it, so the ones below are redundant.
    for (const existing of this.#whiteouts) if (isWithin(existing, path)) this.#whiteouts.delete(existing);
    this.#whiteouts.add(path);
    await this.persist();
  }

  /** The next corruption number for `path` (0, 1, ...), counted and saved. */
  async nextCorruption(path: string): Promise<number> {
    const count = this.#corruptions.get(path) ?? 0;
    this.#corruptions.set(path, count + 1);
    await this.persist();
    return count;
  }

  async persist(): Promise<void> {
    const state: LayerState = { whiteouts: [...this.#whiteouts].sort(), corruptions: Object.fromEntries(this.#corruptions) };
    // Write then rename, so a crash leaves the old state or the new, never half of one.
    const temp = `${this.#stateFile}.tmp`;
    await writeFile(temp, JSON.stringify(state));
    await rename(temp, this.#stateFile);
  }

  async export(): Promise<LayerSnapshot> {
    const files: LayerSnapshot['files'] = [];
    for (const path of [...this.#files.keys()].sort()) {
      files.push({ path, content: (await readFile(this.hostPath(path))).toString('base64') });
    }
    return {
      format: LAYER_SNAPSHOT_FORMAT,
      version: LAYER_SNAPSHOT_VERSION,
      dirs: [...this.#dirs].filter((dir) => dir !== '/').sort(),
      files,
      whiteouts: [...this.#whiteouts].sort(),
      corruptions: Object.fromEntries(this.#corruptions),
    };
  }

  /** Replaces the layer with a snapshot's (already validated) contents. */
  async import(snapshot: LayerSnapshot): Promise<void> {
    await rm(this.upperDir, { recursive: true, force: true });
    this.#files.clear();
    this.#dirs.clear();
    this.#bytes = 0;
    await this.mkdirs('/');
    for (const dir of snapshot.dirs) await this.mkdirs(dir);
    for (const file of snapshot.files) {
      const bytes = Buffer.from(file.content, 'base64');
      await this.mkdirs(parentOf(file.path));
      await writeFile(this.hostPath(file.path), bytes);
      this.recordFile(file.path, bytes.length);
    }
    this.#applyState(snapshot);
    await this.persist();
  }

  #applyState(state: LayerState): void {
    this.#whiteouts = new Set(state.whiteouts);
    this.#corruptions = new Map(Object.entries(state.corruptions));
  }

  #addDirs(path: string): void {
    for (let current = path; !this.#dirs.has(current); current = parentOf(current)) {
      this.#dirs.add(current);
      if (current === '/') break;
    }
  }

  /** Rebuilds the index from `upper/`; an explicit stack keeps memory flat on deep trees. */
  async #scan(): Promise<void> {
    this.#dirs.add('/');
    const stack = ['/'];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      for (const entry of await readdir(this.hostPath(dir), { withFileTypes: true })) {
        const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          this.#dirs.add(path);
          stack.push(path);
        } else if (entry.isFile()) {
          this.recordFile(path, (await stat(this.hostPath(path))).size);
        }
        // Anything else (a symlink) was not made by WorldFs: ignored, never followed.
      }
    }
  }
}
