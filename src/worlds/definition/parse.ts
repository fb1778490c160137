/**
 * From text to a validated world definition: YAML (or JSON, which YAML reads too) →
 * `${PARAM}` substitution → the zod schema → sources resolved against the file's
 * directory. Every problem found is reported at once, each as `path: message`.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { WorldDefinition } from './schema.js';

/** A definition larger than this is refused before parsing: real ones are a few KB. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;
/** Problems listed in one error; more are counted, not listed. */
const MAX_PROBLEMS = 50;

export interface DefinitionProblem {
  /** `network.mocks[1].latency_ms`, `filesystem["/app"].source`; '' for the whole document. */
  path: string;
  message: string;
}

/** A definition that cannot be used, with every problem found. Tests match on `problems`. */
export class WorldDefinitionError extends Error {
  readonly code = 'INVALID_WORLD_DEFINITION';
  readonly problems: readonly DefinitionProblem[];

  constructor(problems: readonly DefinitionProblem[], origin?: string) {
    const listed = problems.slice(0, MAX_PROBLEMS).map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    const more = problems.length > MAX_PROBLEMS ? [`(and ${problems.length - MAX_PROBLEMS} more)`] : [];
    super(`invalid world definition${origin ? ` ${origin}` : ''}:\n  ${[...listed, ...more].join('\n  ')}`);
    this.name = 'WorldDefinitionError';
    this.problems = problems.slice(0, MAX_PROBLEMS);
  }
}

export interface ParseOptions {
  /** Directory relative mirror/readonly sources resolve against: the definition file's own. */
  baseDir: string;
  /** Values for `${NAME}` placeholders in string values (e.g. the shadow preset's SOURCE). */
  params?: Readonly<Record<string, string>>;
  /** Named in the error message (a file path or preset name). */
  origin?: string;
}

/** `a.b[2]["/var/log"]`: keys that are not identifiers are quoted, so mount points read clearly. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key))) out += out ? `.${String(key)}` : String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Parse and validate a YAML or JSON definition. Throws WorldDefinitionError. */
export function parseWorldDefinition(text: string, options: ParseOptions): WorldDefinition {
  if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES) {
    throw new WorldDefinitionError([{ path: '', message: `a definition may be at most ${MAX_DEFINITION_BYTES} bytes` }], options.origin);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // Only the first error: the rest usually follow from it.
  if (document.errors.length > 0) {
    throw new WorldDefinitionError(
      document.errors.slice(0, 1).map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        const where = `line ${at.line}, column ${at.col}: `;
        return { path: '', message: `invalid YAML: ${where}${error.message.split('\n')[0]}` };
      }),
      options.origin,
    );
  }
  // maxAliasCount bounds the "billion laughs" expansion of aliases.
  return validateWorldDefinition(document.toJS({ maxAliasCount: 100 }), options);
}

/** Validate an already-parsed definition (WORLD_CREATE's JSON object). Throws WorldDefinitionError. */
export function validateWorldDefinition(value: unknown, options: ParseOptions): WorldDefinition {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WorldDefinitionError([{ path: '', message: 'expected a mapping of keys (name, filesystem, network, ...)' }], options.origin);
  }
  const problems: DefinitionProblem[] = [];
  const substituted = substitute(value, options.params ?? {}, [], problems);
  const parsed = WorldDefinition.safeParse(substituted);
  if (!parsed.success) problems.push(...describeIssues(parsed.error));
  if (problems.length > 0 || !parsed.success) throw new WorldDefinitionError(problems, options.origin);
  return resolveSources(parsed.data, options.baseDir);
}

/** One problem per issue; an unknown key is reported at its own path, with the keys allowed. */
function describeIssues(error: z.ZodError): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
      // Zod's own wording, for a required key left out: say which.
      problems.push({ path: formatPath(issue.path), message: issue.input === undefined ? 'required' : `expected ${issue.expected}` });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replace `${NAME}` in every string value (not keys); a missing parameter is a problem at its path. */
function substitute(value: unknown, params: Readonly<Record<string, string>>, path: PropertyKey[], problems: DefinitionProblem[]): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (whole, name: string) => {
      const replacement = Object.hasOwn(params, name) ? params[name] : undefined;
      if (replacement !== undefined) return replacement;
      problems.push({ path: formatPath(path), message: `parameter ${whole} is not set (pass it in params)` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, params, [...path, index], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, params, [...path, key], problems)]));
  }
  return value;
}

function resolveSources(definition: WorldDefinition, baseDir: string): WorldDefinition {
  const filesystem: WorldDefinition['filesystem'] = {};
  for (const [point, mount] of Object.entries(definition.filesystem)) {
    filesystem[point] =
      mount.type === 'virtual'
        ? mount
        : { ...mount, source: isAbsolute(mount.source) ? resolve(mount.source) : resolve(baseDir, mount.source) };
  }
  return { ...definition, filesystem };
}

/**
 * Check that every mirror and readonly source exists and is a directory. Separate from
 * parsing (which touches no disk) so it runs where file work belongs: async, or in a worker.
 */
export async function checkSources(definition: WorldDefinition, origin?: string): Promise<void> {
  const problems: DefinitionProblem[] = [];
  await Promise.all(
    Object.entries(definition.filesystem).map(async ([point, mount]) => {
      if (mount.type === 'virtual') return;
      const path = formatPath(['filesystem', point, 'source']);
      try {
        const info = await stat(mount.source);
        if (!info.isDirectory()) problems.push({ path, message: `${mount.source} is a file, expected a directory` });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (error as Error).message})`;
        problems.push({ path, message: `${mount.source} ${reason}` });
      }
    }),
  );
  if (problems.length > 0) {
    problems.sort((a, b) => a.path.localeCompare(b.path));
    throw new WorldDefinitionError(problems, origin);
  }
}
