/**
 * The relay process's options (docs/relay.md §10): one strict zod schema with every
 * default, parsed once by startRelay. The limits are the protocol's own schema.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { RelayLimits } from '../protocol/limits.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const RelayOptions = z.strictObject({
  host: z.string({ error: 'expected host as a string' }).min(1, 'expected a non-empty host').default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z
    .number({ error: 'expected port as a number' })
    .int('expected port as a whole number')
    .min(0, 'expected a port from 0 to 65535')
    .max(65535, 'expected a port from 0 to 65535')
    .default(7700),
  /** relay.db and admin.token live here. */
  dataDir: z.string({ error: 'expected dataDir as a string' }).min(1, 'expected a non-empty dataDir'),
  /** Given both, the relay serves https and wss. */
  tls: z
    .strictObject({
      certFile: z.string({ error: 'expected tls.certFile as a string' }).min(1),
      keyFile: z.string({ error: 'expected tls.keyFile as a string' }).min(1),
    })
    .optional(),
  /** Allows plain ws on a non-loopback interface (tokens then cross the network in clear). */
  insecure: z.boolean({ error: 'expected insecure as a boolean' }).default(false),
  limits: RelayLimits.prefault({}),
  logLevel: z.enum(LOG_LEVELS, { error: `expected logLevel: one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  logFile: z.string().min(1).optional(),
  /** How long the fleet API waits for a kernel's deploy_result or stop_result. */
  deployTimeoutMs: z
    .number({ error: 'expected deployTimeoutMs as a number' })
    .int('expected deployTimeoutMs as whole milliseconds')
    .min(1, 'expected deployTimeoutMs above 0')
    .max(600_000, 'expected deployTimeoutMs of at most 600000')
    .default(30_000),
});
export type RelayOptions = z.infer<typeof RelayOptions>;
export type RelayOptionsInput = z.input<typeof RelayOptions>;

/** Addresses only this machine can reach: a token sent there in clear stays on the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (bare.toLowerCase().startsWith('::ffff:')) return bare.slice(7).startsWith('127.');
  return false;
}

/** `host:port` for a URL: IPv6 addresses go in brackets. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
