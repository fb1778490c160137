/** Shared set-up for the world filesystem tests: a real source tree and layer in a temp dir. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sandbox {
  root: string;
  source: string;
  configs: string;
  layerDir: string;
  outside: string;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'agentos-worldfs-'));
  const source = join(root, 'app');
  const configs = join(root, 'configs');
  const outside = join(root, 'secret');
  await mkdir(join(source, 'src', 'lib'), { recursive: true });
  await writeFile(join(source, 'README.md'), 'hello world\n');
  await writeFile(join(source, 'src', 'main.ts'), 'export const x = 1;\n');
  await writeFile(join(source, 'src', 'lib', 'util.ts'), 'export const y = 2;\n');
  await mkdir(configs);
  await writeFile(join(configs, 'prod.yaml'), 'replicas: 3\n');
  await mkdir(outside);
  await writeFile(join(outside, 'token.txt'), 'top secret');
  // Symlinks: one inside the tree (followed), two leading out (never followed).
  await symlink('src/main.ts', join(source, 'inner-link.ts'));
  await symlink('/etc', join(source, 'etc-link'));
  await symlink('../secret/token.txt', join(source, 'sibling-link'));
  await symlink('../secret', join(source, 'sibling-dir'));
  return { root, source, configs, outside, layerDir: join(root, 'world'), cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Every file under `dir` with a hash of its bytes (symlinks by target), to prove a tree unchanged. */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile())
      out[path] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    else if (entry.isSymbolicLink()) out[path] = 'link';
    else if (entry.isDirectory()) out[path] = 'dir';
  }
  return out;
}
