/** What the `agentos world` subcommands share: option parsers, error text, name → id. */
import { createConnection } from 'node:net';
import { InvalidArgumentError } from 'commander';
import type { AgentOSClient } from '../../sdk/client.js';
import { AgentOSError } from '../../sdk/errors.js';
import { WorldDefinitionError } from '../../worlds/definition/index.js';
import { parseDuration } from '../../worlds/definition/units.js';

/** `--duration 30s`: the definition's own duration syntax, so "30" (seconds? ms?) is refused. */
export function durationOption(value: string): number {
  const ms = parseDuration(value);
  if (typeof ms !== 'number') throw new InvalidArgumentError(ms.error);
  if (ms <= 0) throw new InvalidArgumentError('expected a duration above 0, such as "30s"');
  return ms;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

export function seedOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffff_ffff) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295');
  return n;
}

export function numberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** `--param K=V`, repeatable: collected into one object. */
export function collectParam(value: string, into: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected NAME=VALUE, got "${value}"`);
  return { ...into, [value.slice(0, at)]: value.slice(at + 1) };
}

export function collect(value: string, into: string[] = []): string[] {
  return [...into, value];
}

/** The text a person should see for a failure: the kernel's message, a definition's problems, or the error itself. */
export function describeFailure(error: unknown): string {
  if (error instanceof AgentOSError || error instanceof WorldDefinitionError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether anything listens at `socketPath`: a bare connect, so "no kernel" is told apart
 * from a kernel that refuses us (the SDK reports both as UNAVAILABLE).
 */
export function kernelListening(socketPath: string): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(socketPath, () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolvePromise(false);
      else reject(error);
    });
  });
}

const WORLD_ID = /^world-\d+$/;

/** A world id as given, or the id of the live world with that name (WORLD_LIST). */
export async function resolveWorld(client: AgentOSClient, idOrName: string): Promise<string> {
  if (WORLD_ID.test(idOrName)) return idOrName;
  const { worlds } = await client.worldList();
  const found = worlds.find((world) => world.name === idOrName);
  if (found) return found.world_id;
  const known = worlds.map((world) => `${world.world_id} (${world.name})`).join(', ');
  throw new AgentOSError('NOT_FOUND', `no world with id or name "${idOrName}"; live worlds: ${known || 'none'}`);
}
