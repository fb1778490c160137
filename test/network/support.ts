/**
 * Shared by the network tests (not a test file itself): a kernel with fixed host answers,
 * agents whose allowed_domains an admin sets, real HTTP servers on loopback that record
 * what reaches them, and the denials the kernel reports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KernelOptionsInput } from '../../src/kernel/options.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import type { Permissions } from '../../src/protocol/schemas/permissions.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

export type NetworkOptions = NonNullable<KernelOptionsInput['network']>;

/** A kernel whose network options (fixed host answers included) are `network`. */
export function startNetworkKernel(network: NetworkOptions = {}, overrides: KernelOptionsInput = {}): Promise<TestKernel> {
  return startTestKernel({ ...overrides, network });
}

/**
 * A client at the kernel's default level (standard: no network), given `permissions`
 * by an admin (the only one who may name loopback addresses on its behalf).
 */
export async function networkAgent(kernel: TestKernel, permissions: Partial<Permissions>, name = 'net'): Promise<AgentOSClient> {
  const agent = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name });
  await grant(kernel, agent.agentId as number, permissions);
  return agent;
}

/** An admin gives agent `agentId` can_network and `permissions` (SET_PERMS). */
export async function grant(kernel: TestKernel, agentId: number, permissions: Partial<Permissions>): Promise<void> {
  const admin = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: adminToken(kernel), name: 'net-admin' });
  try {
    await admin.call('SET_PERMS', { agent_id: agentId, permissions: { can_network: true, ...permissions } });
  } finally {
    await admin.close();
  }
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly port: number;
  /** Every request that reached the server, in arrival order, its body read in full. */
  readonly seen: SeenRequest[];
  /** Requests whose response was still open when the client went away. */
  readonly abandoned: string[];
  close(): Promise<void>;
}

export type Route = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

/** A real HTTP server on 127.0.0.1 (a free port) answering with `route`. */
export async function startServer(route: Route): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const abandoned: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      response.on('close', () => {
        if (!response.writableFinished) abandoned.push(request.url ?? '');
      });
      route(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    abandoned,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** SYSCALL_BLOCKED events from one agent, as the kernel's bus delivered them. */
export class Denials {
  readonly events: KernelEvent[] = [];
  readonly #off: () => void;

  constructor(kernel: TestKernel) {
    this.#off = kernel.events.on((event) => {
      if (event.type === 'SYSCALL_BLOCKED') this.events.push(event);
    });
  }

  of(agentId: number): KernelEvent[] {
    return this.events.filter((event) => event.source_agent_id === agentId);
  }

  stop(): void {
    this.#off();
  }
}
