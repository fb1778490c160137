/** Finding helper programs (bwrap, prlimit) and asking them whether they work, without blocking. */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The absolute path of `name` on PATH (or `name` itself when it has a slash), or null. */
export async function findExecutable(name: string, searchPath = process.env.PATH ?? DEFAULT_PATH): Promise<string | null> {
  const candidates = name.includes('/')
    ? [name]
    : searchPath
        .split(delimiter)
        .filter(isAbsolute)
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: try the next directory.
    }
  }
  return null;
}

export type ProbeResult = { ok: true; stdout: string; stderr: string } | { ok: false; problem: string };

/** Run `file args` once with a deadline; a failure comes back as one readable sentence. */
export function probe(file: string, args: readonly string[], timeoutMs = 5000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8', env: { PATH: DEFAULT_PATH } }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ ok: true, stdout, stderr });
        return;
      }
      const said = stderr.trim().split('\n').slice(-1)[0] ?? '';
      const how = error.killed
        ? `timed out after ${timeoutMs} ms`
        : typeof error.code === 'string'
          ? error.code
          : `exit code ${error.code}`;
      resolve({ ok: false, problem: said ? `${said} (${how})` : how });
    });
  });
}
