/** EXEC: a shell command run in a worker thread. */

import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { ExecRequest } from '../protocol/schemas/process.js';
import { resolveAgentPath } from './paths.js';

/**
 * The only variables a command inherits from the kernel: enough to find programs and
 * a home. Everything else (API keys, tokens) stays in the kernel unless the request's
 * `env` passes it explicitly.
 */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'LOGNAME'] as const;

export function baseEnvironment(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const name of INHERITED) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

const BASE_ENV = baseEnvironment();

export const execSyscall = defineSyscall({
  name: 'EXEC',
  request: ExecRequest,
  handle: async (request, session, kernel) => {
    const { agent } = session;
    if (request.async) {
      throw new KernelError(
        'UNSUPPORTED_OPCODE',
        'field "async": asynchronous EXEC needs ASYNC_POLL, which this kernel does not serve yet; send it without "async"',
      );
    }
    if (agent.permissions.sandboxed) {
      throw new KernelError(
        'PERMISSION_DENIED',
        'EXEC denied: the sandboxed level runs commands in an OS sandbox, which this kernel does not provide yet',
      );
    }
    const { exec: limits } = kernel.options;
    if (request.timeout > limits.maxTimeoutS) {
      throw new KernelError(
        'INVALID_REQUEST',
        `invalid EXEC request: field "timeout": expected at most ${limits.maxTimeoutS} seconds (the kernel's limit)`,
        { field: 'timeout' },
      );
    }
    const result = await kernel.pool.run(
      'exec',
      {
        command: request.command,
        cwd: request.cwd === undefined ? agent.cwd : resolveAgentPath(agent, request.cwd),
        env: { ...BASE_ENV, ...request.env },
        timeoutMs: Math.round(request.timeout * 1000),
        maxOutputBytes: Math.min(request.max_output ?? limits.maxOutputBytes, limits.maxOutputBytes),
        killGraceMs: limits.killGraceMs,
      },
      session.closed,
    );
    return { success: true as const, ...result };
  },
});
