/** Why a sandboxed spawn is refused: a KernelError, so the router replies UNAVAILABLE with this sentence. */
import { KernelError } from '../protocol/errors.js';

export class SandboxUnavailableError extends KernelError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
    this.name = 'SandboxUnavailableError';
  }
}

export const NOT_INSTALLED_MESSAGE =
  'bubblewrap (bwrap) is not installed: install the Debian package bubblewrap, or start the kernel with --allow-degraded-isolation to run sandboxed agents without it';

/** bwrap exists but cannot build a sandbox here (e.g. user namespaces disabled). */
export function unusableMessage(path: string, problem: string): string {
  return `bubblewrap (${path}) cannot create a sandbox on this machine: ${problem}; fix that, or start the kernel with --allow-degraded-isolation to run sandboxed agents without it`;
}

/**
 * The refusal of a SPAWN that is sandboxed only by default (rights short of unrestricted,
 * no "sandboxed" in the request): `problem` says what is wrong with bwrap, and opting out
 * is a third way to proceed.
 */
export function defaultSandboxMessage(problem: string): string {
  return (
    `${problem}, and this agent would run sandboxed by default: its rights are not unrestricted, and an unsandboxed agent ` +
    "is a process of the kernel's user that can read the kernel's admin token and become admin. To proceed: install " +
    'bubblewrap (the Debian package bubblewrap); or pass "sandboxed": false to run this agent unsandboxed, knowing its ' +
    'permissions then bind only its syscalls (for trusted code); or start the kernel with --allow-degraded-isolation ' +
    'to run sandboxed agents without a sandbox'
  );
}
