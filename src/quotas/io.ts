/**
 * READ and WRITE against the `bytes_read` and `bytes_written` quotas and counters, so
 * the file syscalls need one line before and one after their worker task.
 */
import type { Session } from '../kernel/session.js';
import type { KernelServices } from '../kernel/syscall.js';

/** A READ's size is known only once read: refused (or held) when the window has no byte left. */
export function admitRead(kernel: KernelServices, session: Session): void | Promise<void> {
  return kernel.quotas.check(session.agent, 'bytes_read', 1, { signal: session.closed, op: 'READ' });
}

export function countRead(kernel: KernelServices, session: Session, bytes: number): void {
  kernel.quotas.record(session.agent, 'bytes_read', bytes);
  kernel.metrics.add(session.agent.id, 'bytes_read', bytes);
}

/** A WRITE's size is known before: admitted only when it fits in the window. */
export function admitWrite(kernel: KernelServices, session: Session, bytes: number): void | Promise<void> {
  return kernel.quotas.charge(session.agent, 'bytes_written', bytes, { signal: session.closed, op: 'WRITE' });
}

export function countWrite(kernel: KernelServices, session: Session, bytes: number): void {
  kernel.metrics.add(session.agent.id, 'bytes_written', bytes);
}
