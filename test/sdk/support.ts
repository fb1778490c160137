/**
 * Shared by the SDK tests (not a test file itself): clients over each transport, and a
 * strict check that a reply has exactly the fields its schema names.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

export type Transport = 'socket' | 'websocket' | 'in-process';

/** Clients made by `connect`, for `closeAll` after each test. */
const open: AgentOSClient[] = [];

/** A client of `kernel` over `transport`, with HELLO (no token: the kernel's default level). */
export async function connect(kernel: TestKernel, transport: Transport = 'socket', name?: string): Promise<AgentOSClient> {
  const client =
    transport === 'socket'
      ? await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name })
      : transport === 'websocket'
        ? await AgentOSClient.connect({ url: kernel.httpUrl as string, token: null, name })
        : await AgentOSClient.connect({ connection: kernel.connect({ name }), token: null });
  open.push(client);
  return client;
}

/** A client of `kernel` that presented the admin token (over the socket, or the WebSocket). */
export async function connectAdmin(
  kernel: TestKernel,
  transport: 'socket' | 'websocket' = 'socket',
  name = 'sdk-admin',
): Promise<AgentOSClient> {
  const token = adminToken(kernel);
  const client =
    transport === 'socket'
      ? await AgentOSClient.connect({ socketPath: kernel.socketPath, token, name })
      : await AgentOSClient.connect({ url: kernel.httpUrl as string, token, name });
  open.push(client);
  return client;
}

export async function closeAll(): Promise<void> {
  for (const client of open.splice(0)) await client.close().catch(() => {});
}

/** The reply parses under its schema with no field missing and none extra (the schema and the handler agree). */
export function expectShape(schema: z.ZodObject, reply: unknown): void {
  const parsed = z.strictObject(schema.shape).safeParse(reply);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
}
