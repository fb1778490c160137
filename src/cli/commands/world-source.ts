/**
 * PRESET|FILE → a WORLD_CREATE request. A preset without overrides goes by name (the
 * kernel loads it). A file, or any definition with --seed / --time-scale, is checked here
 * with loadWorld() (so a bad key is reported against the file, with its key path), then
 * sent as `config`: the document as written, with the overrides applied and relative
 * mirror/readonly sources made absolute against the file's directory (the kernel would
 * otherwise resolve them against the caller's working directory). The loaded definition
 * itself is not sent: its quantities are already converted and would not validate again.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { WorldCreateRequest } from '../../protocol/schemas/worlds.js';
import { isPresetName, loadWorld, PRESET_DIR, validateWorldDefinition } from '../../worlds/definition/index.js';

export interface SourceOverrides {
  name?: string;
  params?: Record<string, string>;
  seed?: number;
  timeScale?: number;
}

export async function createRequest(presetOrFile: string, overrides: SourceOverrides): Promise<WorldCreateRequest> {
  const preset = isPresetName(presetOrFile);
  const params = overrides.params && Object.keys(overrides.params).length > 0 ? overrides.params : undefined;
  const base = {
    ...(overrides.name !== undefined ? { name: overrides.name } : {}),
    ...(params ? { params } : {}),
  };
  // Throws WorldDefinitionError naming the preset or file and each bad key path.
  await loadWorld(presetOrFile, params ? { params } : {});
  if (preset && overrides.seed === undefined && overrides.timeScale === undefined) return { ...base, preset: presetOrFile };

  const file = preset ? resolve(PRESET_DIR, `${presetOrFile}.yaml`) : resolve(presetOrFile);
  const document = parseYaml(await readFile(file, 'utf8')) as Record<string, unknown>;
  const config: Record<string, unknown> = { ...document };
  if (overrides.seed !== undefined) config.seed = overrides.seed;
  if (overrides.timeScale !== undefined) config.time_scale = overrides.timeScale;
  config.filesystem = absoluteSources(config.filesystem, dirname(file));
  // The overrides are checked too, so `--time-scale 0` is refused here, naming the key.
  validateWorldDefinition(config, {
    baseDir: dirname(file),
    origin: preset ? `preset "${presetOrFile}"` : file,
    ...(params ? { params } : {}),
  });
  return { ...base, config };
}

function absoluteSources(filesystem: unknown, baseDir: string): unknown {
  if (filesystem === null || typeof filesystem !== 'object') return filesystem;
  const mounts: Record<string, unknown> = {};
  for (const [point, mount] of Object.entries(filesystem)) {
    const source = (mount as { source?: unknown } | null)?.source;
    // A `${PARAM}` source is the caller's to make absolute (the kernel substitutes it).
    const relative = typeof source === 'string' && !isAbsolute(source) && !source.includes('${');
    mounts[point] = relative ? { ...(mount as object), source: resolve(baseDir, source) } : mount;
  }
  return mounts;
}
