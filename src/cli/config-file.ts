/**
 * The CLI's own config file, `~/.agentos/config.yaml` (docs/relay.md §13): where the
 * relay is and the tokens to reach it with, for the fleet commands and the kernel's tunnel
 * at start. It holds secrets, so it is written 0600 in a 0700 directory, atomically (a
 * reader never sees half a file), and shown only masked.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatIssuePath } from '../protocol/errors.js';

const URL_SCHEMES = ['ws:', 'wss:', 'http:', 'https:'];

const RelayUrl = z.string({ error: 'expected a URL (a string)' }).refine((text) => {
  try {
    return URL_SCHEMES.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}, 'expected a ws://, wss://, http:// or https:// URL');

const Secret = (what: string) =>
  z
    .string({ error: `expected ${what} as a string` })
    .min(1, `expected a non-empty ${what}`)
    .max(512);

export const CliConfig = z.strictObject({
  relay: z
    .strictObject({
      url: RelayUrl.optional(),
      admin_token: Secret('an admin token').optional(),
      insecure: z.boolean({ error: 'expected true or false' }).optional(),
    })
    .optional(),
  machine: z
    .strictObject({
      id: z.string({ error: 'expected a machine id (a string)' }).min(1).max(128).optional(),
      token: Secret('a machine token').optional(),
    })
    .optional(),
});
export type CliConfig = z.infer<typeof CliConfig>;

/** Every key `config set` knows, dotted. */
export const CONFIG_KEYS = ['relay.url', 'relay.admin_token', 'relay.insecure', 'machine.id', 'machine.token'] as const;
const SECRET_KEYS = new Set(['relay.admin_token', 'machine.token']);

/** $AGENTOS_CONFIG, else $HOME/.agentos/config.yaml. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTOS_CONFIG || join(env.HOME || homedir(), '.agentos', 'config.yaml');
}

/** The config at `path`; a missing file is `{}`, a bad one an Error naming the file and the key. */
export async function readCliConfig(path: string = configPath()): Promise<CliConfig> {
  const text = await readText(path);
  if (text === undefined) return {};
  return validate(parseYaml(text, path).toJS() ?? {}, path);
}

/**
 * Sets one dotted key (`relay.url`) and writes the file back, keeping its comments. An
 * empty value removes the key. `relay.insecure` takes true/false (yes/no, 1/0).
 */
export async function setCliConfigValue(key: string, value: string, path: string = configPath()): Promise<CliConfig> {
  if (!(CONFIG_KEYS as readonly string[]).includes(key))
    throw new Error(`unknown config key "${key}" (expected one of: ${CONFIG_KEYS.join(', ')})`);
  const text = await readText(path);
  const document = parseYaml(text ?? '', path);
  validate(document.toJS() ?? {}, path);
  const keyPath = key.split('.');
  if (value === '') document.deleteIn(keyPath);
  else document.setIn(keyPath, key === 'relay.insecure' ? parseBoolean(value, key) : value);
  const config = validate(document.toJS() ?? {}, `the new value of ${key}`);
  await writeAtomically(path, document.toString());
  return config;
}

/** The config with its tokens cut to `aos_…` and their last four characters. */
export function maskedConfig(config: CliConfig): CliConfig {
  const masked: CliConfig = structuredClone(config);
  if (masked.relay?.admin_token !== undefined) masked.relay.admin_token = maskToken(masked.relay.admin_token);
  if (masked.machine?.token !== undefined) masked.machine.token = maskToken(masked.machine.token);
  return masked;
}

export function maskToken(token: string): string {
  const prefix = token.startsWith('aos_') ? 'aos_' : '';
  // A short secret would be mostly shown by its last four: show none of it.
  return token.length < 16 ? `${prefix}…` : `${prefix}…${token.slice(-4)}`;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`config file ${path}: ${(error as Error).message}`);
  }
}

function parseYaml(text: string, path: string): ReturnType<typeof parseDocument> {
  const document = parseDocument(text);
  const [first] = document.errors;
  if (first !== undefined) throw new Error(`config file ${path}: not valid YAML: ${first.message.split('\n')[0]}`);
  return document;
}

function validate(data: unknown, where: string): CliConfig {
  const parsed = CliConfig.safeParse(data);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const key = [formatIssuePath(issue?.path ?? []), ...keys.slice(0, 1)].filter(Boolean).join('.');
  const what = issue?.code === 'unrecognized_keys' ? 'unknown key' : (issue?.message ?? 'invalid');
  const prefix = where.startsWith('the new value') ? where : `config file ${where}`;
  throw new Error(`${prefix}: key "${key || '(top level)'}": ${what}`);
}

function parseBoolean(value: string, key: string): boolean {
  const lower = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(lower)) return true;
  if (['false', 'no', '0', 'off'].includes(lower)) return false;
  throw new Error(`config key "${key}": expected true or false, got "${value}"`);
}

/** Temp file beside the target (same filesystem), 0600 from creation, then rename over it. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
