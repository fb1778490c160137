/**
 * The network section of a world (worlds.md §3) as the simulator takes it. The world
 * definition's schema maps its `network:` key onto this shape (same names), so a
 * definition error and a direct-construction error name the same key path.
 */
import { z } from 'zod';
import { describeZodError } from '../../protocol/errors.js';

const Probability = z.number().min(0).max(1);
const Milliseconds = z.number().finite().min(0);

export const MockSpec = z.strictObject({
  /** `METHOD host/path`, `*` globs (see pattern.ts). */
  pattern: z.string().min(1),
  /** The body: a string is sent as is (text/plain), anything else as JSON. */
  response: z.unknown().optional(),
  status: z.number().int().min(100).max(599).default(200),
  headers: z.record(z.string(), z.string()).default({}),
  latency_ms: Milliseconds.default(0),
  fail_rate: Probability.default(0),
});
export type MockSpec = z.infer<typeof MockSpec>;
export type MockSpecInput = z.input<typeof MockSpec>;

export const NetworkConfig = z.strictObject({
  /** Hosts reached for real when no mock matches: exact names or `*` globs (`*.internal.test`). */
  allowed_hosts: z.array(z.string().min(1)).default([]),
  mocks: z.array(MockSpec).default([]),
  base_latency_ms: Milliseconds.default(0),
  jitter_ms: Milliseconds.default(0),
  packet_loss: Probability.default(0),
});
export type NetworkConfig = z.infer<typeof NetworkConfig>;
export type NetworkConfigInput = z.input<typeof NetworkConfig>;

/** Thrown for a bad network section: `path` is the offending key (`network.mocks[1].latency_ms`). */
export class NetworkConfigError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'NetworkConfigError';
    this.path = path;
  }
}

/** Validates and fills defaults; errors name the key path under `network`. */
export function parseNetworkConfig(input: unknown): NetworkConfig {
  const parsed = NetworkConfig.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const { message, field } = describeZodError(parsed.error, 'network section');
  const path = field ? `network.${field}` : 'network';
  throw new NetworkConfigError(path, message.replace(`field "${field}"`, `field "${path}"`));
}
