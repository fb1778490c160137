/**
 * Find a world definition by preset name ("chaos") or file path and load it. Presets live
 * in the package's `worlds/` directory, three levels above this module both in src/
 * (tests, tsx) and in dist/ (after `npm run build`), and `worlds` is in package.json "files".
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSources, MAX_DEFINITION_BYTES, parseWorldDefinition, WorldDefinitionError } from './parse.js';
import type { WorldDefinition } from './schema.js';

export const PRESET_DIR = fileURLToPath(new URL('../../../worlds/', import.meta.url));
/** The presets shipped with AgentOS (worlds.md §7). */
export const PRESET_NAMES = ['dev', 'staging', 'chaos', 'shadow', 'benchmark', 'training'] as const;

export interface LoadOptions {
  /** Values for `${NAME}` placeholders, e.g. `{ SOURCE: '/abs/project' }` for shadow. */
  params?: Readonly<Record<string, string>>;
  /** Where a relative file path is looked up; default process.cwd(). */
  cwd?: string;
  /** Check mirror/readonly sources on disk (default true). */
  checkSources?: boolean;
}

/** A bare word is a preset name; anything with a slash or a .yaml/.yml/.json ending is a path. */
export function isPresetName(nameOrPath: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/i.test(nameOrPath);
}

export async function loadWorld(nameOrPath: string, options: LoadOptions = {}): Promise<WorldDefinition> {
  const preset = isPresetName(nameOrPath);
  const file = preset ? resolve(PRESET_DIR, `${nameOrPath}.yaml`) : resolve(options.cwd ?? process.cwd(), nameOrPath);
  const origin = preset ? `preset "${nameOrPath}"` : file;
  const text = await readDefinition(file, origin, preset ? nameOrPath : undefined);
  const definition = parseWorldDefinition(text, { baseDir: dirname(file), origin, ...(options.params ? { params: options.params } : {}) });
  if (options.checkSources !== false) await checkSources(definition, origin);
  return definition;
}

/** Names of the presets present in PRESET_DIR (the shipped ones and any added there). */
export async function listPresets(): Promise<string[]> {
  const entries = await readdir(PRESET_DIR).catch(() => [] as string[]);
  return entries
    .filter((entry) => entry.endsWith('.yaml'))
    .map((entry) => entry.slice(0, -'.yaml'.length))
    .sort();
}

async function readDefinition(file: string, origin: string, presetName: string | undefined): Promise<string> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (presetName !== undefined && code === 'ENOENT') {
      const known = await listPresets();
      throw new WorldDefinitionError([{ path: '', message: `unknown preset "${presetName}"; presets: ${known.join(', ')}` }]);
    }
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory, expected a YAML or JSON file'
          : `cannot be read (${code})`;
    throw new WorldDefinitionError([{ path: '', message: `${file} ${reason}` }], origin);
  }
  if (buffer.length > MAX_DEFINITION_BYTES) {
    throw new WorldDefinitionError([{ path: '', message: `a definition may be at most ${MAX_DEFINITION_BYTES} bytes` }], origin);
  }
  return buffer.toString('utf8');
}
