/** Shared by the audit tests (not a test file itself): admin and ordinary clients, and paging helpers. */
import type { AuditEntry } from '../../src/protocol/schemas/audit.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

/** A socket client that presented the admin token in HELLO. */
export function adminClient(kernel: TestKernel): Promise<AgentOSClient> {
  return AgentOSClient.connect({ socketPath: kernel.socketPath, token: adminToken(kernel), name: 'auditor' });
}

/** A socket client at the kernel's default level, without a token. */
export function plainClient(kernel: TestKernel, name = 'plain'): Promise<AgentOSClient> {
  return AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name });
}

/** An in-process client at `level` (an agent that will be denied what its level lacks). */
export function levelClient(kernel: TestKernel, level: 'minimal' | 'readonly' | 'standard' | 'unrestricted'): Promise<AgentOSClient> {
  return AgentOSClient.connect({ connection: kernel.connect({ level }) });
}

/** Every entry matching `filter`, read from the kernel's log page by page. */
export function entries(kernel: TestKernel, filter: { category?: AuditEntry['category']; agent_id?: number } = {}): AuditEntry[] {
  const found: AuditEntry[] = [];
  let since = 0;
  for (;;) {
    const page = kernel.audit.query({ ...filter, since_id: since, limit: 1000 });
    if (page.count === 0) return found;
    found.push(...page.entries);
    since = page.next_since_id;
  }
}
