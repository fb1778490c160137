/**
 * File watching for FILE_CHANGED: one recursive `fs.watch` per watched directory (the
 * static prefix of a subscription's glob), shared and reference-counted across
 * subscriptions, closed when its last user releases it.
 *
 * `fs.watch` reports "something happened to this name"; the change is classified after
 * a per-path debounce by an `lstat`: present and unknown → create, present and known →
 * modify, gone → delete. Every bound is fixed: directories under a watched one, known
 * paths per watcher, paths waiting out their debounce.
 */
import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '../protocol/errors.js';

export type FileChange = 'create' | 'modify' | 'delete';
export type FileChangeListener = (path: string, change: FileChange) => void;

export interface FileWatchLimits {
  /** Directories under (and including) a watched directory; more is refused. */
  maxDirectories: number;
  /** Paths a watcher remembers to tell create from modify. */
  maxKnownPaths: number;
  /** Paths waiting out their debounce at once, per watcher; events beyond are dropped. */
  maxPending: number;
  debounceMs: number;
}

export const DEFAULT_FILE_WATCH_LIMITS: FileWatchLimits = Object.freeze({
  maxDirectories: 10_000,
  maxKnownPaths: 100_000,
  maxPending: 10_000,
  debounceMs: 50,
});

class DirectoryWatcher {
  refs = 0;
  readonly #dir: string;
  readonly #known: Set<string>;
  /** The known set hit its bound once: a vanished unknown path may have existed. */
  #overflowed: boolean;
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #limits: FileWatchLimits;
  readonly #listener: FileChangeListener;
  #watcher: FSWatcher | null;
  #closed = false;

  constructor(dir: string, known: Set<string>, overflowed: boolean, limits: FileWatchLimits, listener: FileChangeListener) {
    this.#dir = dir;
    this.#known = known;
    this.#overflowed = overflowed;
    this.#limits = limits;
    this.#listener = listener;
    this.#watcher = watch(dir, { recursive: true }, (_event, name) => {
      if (typeof name === 'string' && name.length > 0) this.#touched(join(dir, name));
    });
    // The directory went away or the watch failed: nothing more will come from it.
    this.#watcher.on('error', () => this.#stopWatching());
  }

  #touched(path: string): void {
    if (this.#closed) return;
    const timer = this.#pending.get(path);
    if (timer) {
      timer.refresh();
      return;
    }
    if (this.#pending.size >= this.#limits.maxPending) return;
    this.#pending.set(
      path,
      setTimeout(() => {
        this.#pending.delete(path);
        void this.#classify(path);
      }, this.#limits.debounceMs),
    );
  }

  async #classify(path: string): Promise<void> {
    let exists: boolean;
    try {
      await lstat(path);
      exists = true;
    } catch {
      exists = false;
    }
    if (this.#closed) return;
    if (exists) {
      if (this.#known.has(path)) return this.#listener(path, 'modify');
      if (this.#known.size < this.#limits.maxKnownPaths) this.#known.add(path);
      else this.#overflowed = true;
      return this.#listener(path, 'create');
    }
    if (this.#known.delete(path) || this.#overflowed) this.#listener(path, 'delete');
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }

  close(): void {
    this.#closed = true;
    this.#stopWatching();
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    this.#known.clear();
  }

  get dir(): string {
    return this.#dir;
  }
}

export class FileWatchers {
  readonly #watchers = new Map<string, DirectoryWatcher>();
  /** Watchers being set up (the directory walk), so concurrent users share one. */
  readonly #starting = new Map<string, Promise<DirectoryWatcher>>();
  readonly #limits: FileWatchLimits;
  readonly #listener: FileChangeListener;

  constructor(listener: FileChangeListener, limits: Partial<FileWatchLimits> = {}) {
    this.#listener = listener;
    this.#limits = { ...DEFAULT_FILE_WATCH_LIMITS, ...limits };
  }

  /** Open watchers (one per distinct watched directory). */
  get count(): number {
    return this.#watchers.size;
  }

  /**
   * Watches `dir` (recursively) for one more user; the returned function releases it
   * (once; calling it again does nothing). Refused (INVALID_REQUEST) when `dir` is not a
   * directory or holds more than `maxDirectories` directories.
   */
  async acquire(dir: string): Promise<() => void> {
    let watcher = this.#watchers.get(dir);
    if (!watcher) {
      let starting = this.#starting.get(dir);
      if (!starting) {
        starting = this.#start(dir).finally(() => this.#starting.delete(dir));
        this.#starting.set(dir, starting);
      }
      watcher = await starting;
    }
    const owner = watcher;
    owner.refs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--owner.refs > 0) return;
      owner.close();
      if (this.#watchers.get(owner.dir) === owner) this.#watchers.delete(owner.dir);
    };
  }

  /** Closes every watcher (kernel shutdown). */
  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  async #start(dir: string): Promise<DirectoryWatcher> {
    const info = await stat(dir).catch(() => null);
    if (!info?.isDirectory()) {
      throw new KernelError('INVALID_REQUEST', `SUBSCRIBE: filter.path must lie in an existing directory; ${dir} is not one`, {
        field: 'filter.path',
      });
    }
    const { known, overflowed } = await this.#walk(dir);
    const watcher = new DirectoryWatcher(dir, known, overflowed, this.#limits, this.#listener);
    this.#watchers.set(dir, watcher);
    return watcher;
  }

  /** The paths under `dir`, counting directories against the bound. */
  async #walk(dir: string): Promise<{ known: Set<string>; overflowed: boolean }> {
    const known = new Set<string>();
    let overflowed = false;
    let directories = 1;
    const queue = [dir];
    while (queue.length > 0) {
      const current = queue.pop() as string;
      const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = join(current, entry.name);
        if (known.size < this.#limits.maxKnownPaths) known.add(path);
        else overflowed = true;
        if (!entry.isDirectory()) continue;
        if (++directories > this.#limits.maxDirectories) {
          throw new KernelError(
            'INVALID_REQUEST',
            `SUBSCRIBE: filter.path would watch more than ${this.#limits.maxDirectories} directories under ${dir}; give a narrower glob`,
            { field: 'filter.path' },
          );
        }
        queue.push(path);
      }
    }
    return { known, overflowed };
  }
}
