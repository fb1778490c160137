/**
 * Tokens presented in HELLO: the admin token makes the connection an admin; a spawned
 * agent's one-use token binds the connection to its SPAWN record, so one id serves the
 * process, its connection, its mailbox and its metrics.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Session } from '../kernel/session.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { PRESETS } from '../protocol/schemas/permissions.js';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function presentToken(token: string, session: Session, kernel: KernelServices): void {
  // A remote agent's rights are its relay token's ceiling, nothing more: no kernel token
  // (admin, or a spawned agent's) may lift them or swap its identity for a local agent's.
  if (session.agent.kind === 'remote') {
    throw new KernelError(
      'PERMISSION_DENIED',
      "HELLO tokens are refused over the relay: a remote agent's rights come from its relay token's ceiling",
    );
  }
  if (kernel.adminToken !== null && sameSecret(token, kernel.adminToken)) {
    const { agent } = session;
    agent.admin = true;
    agent.level = 'unrestricted';
    agent.permissions = PRESETS.unrestricted;
    // Who held admin power, and when: never the token itself.
    kernel.audit.record({
      category: 'admin',
      agent_id: agent.id,
      agent_name: agent.name,
      op: 'HELLO',
      detail: { admin_token: 'presented', transport: agent.transport },
    });
    return;
  }
  const spawned = kernel.agents.redeemToken(token);
  if (spawned === undefined) {
    throw new KernelError('PERMISSION_DENIED', 'the token presented in HELLO is not one this kernel issued (spawn tokens work once)');
  }
  const previous = session.agent;
  session.agent = spawned;
  // The connection's provisional client identity ends here; its id is not reused.
  if (previous.kind === 'client' && previous !== spawned) kernel.agents.remove(previous.id);
}
