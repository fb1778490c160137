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
