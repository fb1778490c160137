/** FileWatchers on their own: the directory bound, reference counting and debounced classification. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileChange, FileWatchers } from '../../src/events/file-watch.js';
import { sleep, until } from '../agents/support.js';

let dir: string;
let watchers: FileWatchers;
const seen: [string, FileChange][] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-watch-'));
  seen.length = 0;
  watchers = new FileWatchers((path, change) => seen.push([path, change]), { maxDirectories: 3 });
});

afterEach(async () => {
  watchers.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileWatchers', () => {
  it('refuses a directory holding more directories than the bound, and a missing one', async () => {
    for (const name of ['a', 'b', 'c']) await mkdir(join(dir, name));
    await expect(watchers.acquire(dir)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'filter.path' } });
    await expect(watchers.acquire(join(dir, 'missing'))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(watchers.count).toBe(0);
  });

  it('counts references: one watcher per directory, closed by its last release (a second release does nothing)', async () => {
    const [first, second] = await Promise.all([watchers.acquire(dir), watchers.acquire(dir)]);
    expect(watchers.count).toBe(1);
    first();
    first();
    expect(watchers.count).toBe(1);
    second();
    expect(watchers.count).toBe(0);
  });

  it('debounces a burst of writes into one event per path', async () => {
    const release = await watchers.acquire(dir);
    const file = join(dir, 'burst.txt');
    for (let i = 0; i < 5; i++) await writeFile(file, `write ${i}`);
    await until(() => seen.length > 0, 'the create');
    await sleep(200);
    expect(seen).toEqual([[file, 'create']]);
    release();
  });
});
