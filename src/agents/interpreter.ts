/**
 * How a script is run: by its extension (.py → python3, .js/.mjs/.cjs → node,
 * .ts → node with tsx) or directly when it is executable, unless the request names
 * an interpreter. Never a shell line: an argv.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, extname } from 'node:path';
import { KernelError } from '../protocol/errors.js';

export interface Launch {
  command: string;
  /** Arguments before the script path (e.g. `--import tsx`). */
  prefix: string[];
}

const require = createRequire(import.meta.url);

/** tsx's loader, resolved from the kernel's own dependencies so agents need not install it. */
function tsxLoader(): string {
  return require.resolve('tsx');
}

const KNOWN_INTERPRETERS = new Set(['python3', 'python', 'node', 'tsx', 'bash', 'sh', 'ruby', 'perl', 'deno', 'bun']);

/** What runs `script`, or a KernelError a person can act on. */
export async function resolveLaunch(script: string, interpreter: string | undefined): Promise<Launch> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(script);
  } catch {
    throw new KernelError('NOT_FOUND', `SPAWN: script "${script}" does not exist`);
  }
  if (info.isDirectory()) throw new KernelError('INVALID_REQUEST', `SPAWN: "${script}" is a directory, not a script`, { field: 'script' });
  if (!info.isFile()) throw new KernelError('INVALID_REQUEST', `SPAWN: "${script}" is not a regular file`, { field: 'script' });

  if (interpreter !== undefined) return explicitInterpreter(interpreter);

  switch (extname(script).toLowerCase()) {
    case '.py':
      return { command: 'python3', prefix: ['-u'] };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { command: process.execPath, prefix: [] };
    case '.ts':
    case '.mts':
    case '.cts':
      return { command: process.execPath, prefix: ['--import', pathToImport(tsxLoader())] };
    default:
      try {
        await access(script, constants.X_OK);
      } catch {
        throw new KernelError(
          'INVALID_REQUEST',
          `SPAWN: "${script}" is not executable and its extension names no interpreter; make it executable or pass "interpreter"`,
          { field: 'interpreter' },
        );
      }
      return { command: script, prefix: [] };
  }
}

/** Python buffers its output when it is not a terminal: -u keeps LOGS current. */
const unbuffered = (command: string): string[] => (/^python[\d.]*$/.test(basename(command)) ? ['-u'] : []);

function explicitInterpreter(interpreter: string): Launch {
  if (interpreter.startsWith('/')) return { command: interpreter, prefix: unbuffered(interpreter) };
  if (!KNOWN_INTERPRETERS.has(interpreter)) {
    throw new KernelError(
      'INVALID_REQUEST',
      `SPAWN: unknown interpreter "${interpreter}"; use one of ${[...KNOWN_INTERPRETERS].join(', ')} or an absolute path`,
      { field: 'interpreter' },
    );
  }
  if (interpreter === 'node') return { command: process.execPath, prefix: [] };
  if (interpreter === 'tsx') return { command: process.execPath, prefix: ['--import', pathToImport(tsxLoader())] };
  return { command: interpreter, prefix: unbuffered(interpreter) };
}

function pathToImport(path: string): string {
  return new URL(`file://${path}`).href;
}
