/**
 * The fleet API's admin token (docs/relay.md §10): made on the relay's first start in
 * `<data-dir>/admin.token` (0600, 32 random bytes base64url) and read from there after,
 * so scripts and the CLI keep working across restarts. Unlike the kernel's, it is not
 * renewed at each start.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RELAY_ADMIN_TOKEN_FILE = 'admin.token';

/** The token and its file; creates it when absent or empty. */
export async function ensureAdminToken(dataDir: string): Promise<{ token: string; file: string }> {
  const file = join(dataDir, RELAY_ADMIN_TOKEN_FILE);
  const existing = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw new Error(`cannot read the admin token ${file}: ${error.message}`);
    },
  );
  if (existing !== '') {
    // Someone may have loosened it by hand; the token is the key to the fleet.
    await chmod(file, 0o600);
    return { token: existing, file };
  }
  const token = randomBytes(32).toString('base64url');
  // 'wx': two relays starting on one new directory must not each write a different token.
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw new Error(`cannot write the admin token ${file}: ${error.message}`);
  });
  const written = (await readFile(file, 'utf8')).trim();
  if (written === '') throw new Error(`the admin token file ${file} is empty; delete it to make a new one`);
  return { token: written, file };
}
