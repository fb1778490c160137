/**
 * How fleet commands reach the relay's REST API (docs/relay.md §11, §13): which relay
 * (--relay, else config relay.url, else $AGENTOS_RELAY_URL; ws:// becomes http://), which
 * admin token (--admin-token or --admin-token-file, else $AGENTOS_RELAY_ADMIN_TOKEN, else
 * config relay.admin_token), and one request helper whose failures are one clear line.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { isLoopbackHost } from '../../../relay/server/options.js';
import { type CliConfig, configPath, readCliConfig } from '../../config-file.js';

export interface FleetFlags {
  relay?: string;
  adminToken?: string;
  adminTokenFile?: string;
  insecure?: boolean;
  json?: boolean;
}

/** A failure meant for the user as it is: one line, no stack. */
export class FleetCliError extends Error {
  override name = 'FleetCliError';
}

/** A deploy waits up to 30 s on the relay; give it that and some. */
const REQUEST_TIMEOUT_MS = 60_000;

export function addFleetOptions(command: Command): Command {
  return command
    .addOption(new Option('--relay <url>', 'the relay (default: config relay.url, then $AGENTOS_RELAY_URL)'))
    .addOption(
      new Option('--admin-token <token>', "the relay's admin token (default: $AGENTOS_RELAY_ADMIN_TOKEN, then config relay.admin_token)"),
    )
    .addOption(new Option('--admin-token-file <file>', 'read the admin token from this file (e.g. <relay data dir>/admin.token)'))
    .addOption(new Option('--insecure', 'allow sending the admin token over plain http to a non-loopback relay'))
    .option('--json', 'print JSON');
}

export interface FleetTarget {
  /** The REST base, e.g. http://127.0.0.1:7700 (no trailing slash). */
  baseUrl: string;
  token: string;
  /** Where the token came from, for a 401's message. */
  tokenSource: string;
}

/** ws(s):// becomes http(s)://; a /kernel or /agent endpoint path is dropped. */
export function restBaseUrl(relay: string): string {
  let url: URL;
  try {
    url = new URL(relay);
  } catch {
    throw new FleetCliError(`--relay: expected a URL like http://127.0.0.1:7700, got "${relay}"`);
  }
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (scheme === undefined) throw new FleetCliError(`relay URL ${relay}: expected ws://, wss://, http:// or https://`);
  const path = url.pathname.replace(/\/+$/, '').replace(/\/(kernel|agent)$/, '');
  return `${scheme}//${url.host}${path}`;
}

export async function resolveFleetTarget(flags: FleetFlags, env: NodeJS.ProcessEnv = process.env): Promise<FleetTarget> {
  let config: CliConfig;
  try {
    config = await readCliConfig();
  } catch (error) {
    throw new FleetCliError((error as Error).message);
  }
  const relay = flags.relay ?? config.relay?.url ?? (env.AGENTOS_RELAY_URL || undefined);
  if (relay === undefined)
    throw new FleetCliError(`no relay: pass --relay URL, or run "agentos config set relay.url URL", or set $AGENTOS_RELAY_URL`);
  const baseUrl = restBaseUrl(relay);
  const { token, tokenSource } = await adminToken(flags, env, config);
  const url = new URL(baseUrl);
  const insecure = flags.insecure === true || config.relay?.insecure === true;
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !insecure)
    throw new FleetCliError(`refusing to send the admin token over plain http to ${url.host}: use https, or pass --insecure`);
  return { baseUrl, token, tokenSource };
}

async function adminToken(flags: FleetFlags, env: NodeJS.ProcessEnv, config: CliConfig): Promise<{ token: string; tokenSource: string }> {
  if (flags.adminToken !== undefined && flags.adminTokenFile !== undefined)
    throw new FleetCliError('pass --admin-token or --admin-token-file, not both');
  if (flags.adminToken !== undefined) return { token: flags.adminToken, tokenSource: '--admin-token' };
  if (flags.adminTokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.adminTokenFile, 'utf8');
    } catch (error) {
      throw new FleetCliError(
        `--admin-token-file ${flags.adminTokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    return { token: text.trim(), tokenSource: `--admin-token-file ${flags.adminTokenFile}` };
  }
  if (env.AGENTOS_RELAY_ADMIN_TOKEN) return { token: env.AGENTOS_RELAY_ADMIN_TOKEN, tokenSource: '$AGENTOS_RELAY_ADMIN_TOKEN' };
  if (config.relay?.admin_token !== undefined)
    return { token: config.relay.admin_token, tokenSource: `relay.admin_token in ${configPath()}` };
  throw new FleetCliError(
    'no admin token: pass --admin-token or --admin-token-file, set $AGENTOS_RELAY_ADMIN_TOKEN, or run "agentos config set relay.admin_token TOKEN"',
  );
}

interface ErrorBody {
  code?: string;
  error?: string;
  field?: string;
}

export class FleetClient {
  readonly target: FleetTarget;

  constructor(target: FleetTarget) {
    this.target = target;
  }

  static async from(flags: FleetFlags): Promise<FleetClient> {
    return new FleetClient(await resolveFleetTarget(flags));
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = `${this.target.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.target.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new FleetCliError(`cannot reach the relay at ${this.target.baseUrl}: ${networkReason(error)}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new FleetCliError(
        `the relay at ${this.target.baseUrl} answered ${res.status} with something that is not JSON (is it a relay?)`,
      );
    }
    if (res.ok) return parsed as T;
    const { code, error, field } = (parsed ?? {}) as ErrorBody;
    if (res.status === 401)
      throw new FleetCliError(
        `the relay at ${this.target.baseUrl} refused the admin token from ${this.target.tokenSource}: ${error ?? 'unauthorized'}`,
      );
    if (res.status === 404 && code === undefined)
      throw new FleetCliError(`${this.target.baseUrl} has no fleet API (${res.status}): is it an AgentOS relay?`);
    const where = field ? ` (field "${field}")` : '';
    throw new FleetCliError(`${error ?? `HTTP ${res.status}`}${where} [${code ?? res.status}]`);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
