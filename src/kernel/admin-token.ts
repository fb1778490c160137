/**
 * The admin token (protocol.md §6): a fresh secret written at every start to
 * `<data-dir>/admin.token`, readable by the kernel's user only. Whoever can read it may
 * present it in HELLO and act as admin; the CLI does so by itself.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin.token';

export async function writeAdminToken(dataDir: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  // writeFile keeps an existing file's mode: make sure it is private.
  await chmod(path, 0o600);
  return token;
}

/** The token in a data directory, or undefined when it cannot be read (not ours, no kernel). */
export async function readAdminToken(dataDir: string): Promise<string | undefined> {
  try {
    const token = (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
    return token || undefined;
  } catch {
    return undefined;
  }
}
