/**
 * The path policy from the main thread: an agent's rules as a policy for a worker, and
 * the check of a path that a call uses without opening it (EXEC's cwd, SPAWN's script
 * and cwd, FILE_CHANGED's directory). The resolution runs in a worker thread, so the
 * event loop does no file-system walk.
 */
import { homedir } from 'node:os';
import type { AgentRecord } from '../agents/registry.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { resolveAgentPath } from '../syscalls/paths.js';
import { type PathAccess, type PathContext, type PathPolicy, pathPolicy, shown } from './paths.js';
import { realContext } from './paths-resolve.js';

/**
 * What `~` and the kernel rules mean for `agent`: the (real) home of the kernel's user,
 * and the kernel's data directory unless the agent is an admin.
 */
export function pathContextOf(agent: Pick<AgentRecord, 'admin'>, kernel: Pick<KernelServices, 'options'>): Promise<PathContext> {
  return realContext(homedir(), agent.admin ? null : kernel.options.dataDir);
}

/** The agent's path rules and context as plain data for a worker task. */
export async function pathPolicyOf(
  agent: Pick<AgentRecord, 'admin' | 'permissions'>,
  kernel: Pick<KernelServices, 'options'>,
): Promise<PathPolicy> {
  const policy = pathPolicy(agent.permissions, await pathContextOf(agent, kernel));
  return kernel.options.permissionChecks ? policy : { ...policy, key: `unchecked:${policy.key}`, unchecked: true };
}

/**
 * A path of a request, absolute (relative ones resolve against the agent's cwd). A NUL
 * byte is refused here, before the lexical resolution could drop it with a following
 * `..`: no file name holds one, so such a path is an attempt, answered PERMISSION_DENIED.
 */
export function requestPath(agent: Pick<AgentRecord, 'cwd'>, path: string, op: string): string {
  if (path.includes('\0')) {
    throw new KernelError(
      'PERMISSION_DENIED',
      `${op} denied: "${shown(path)}" holds a NUL byte, which no file name can; it cannot be checked`,
    );
  }
  return resolveAgentPath(agent as AgentRecord, path);
}

/**
 * Checks a request's `path` (relative ones resolve against the agent's cwd) for `access`
 * on the agent's behalf: the absolute path and its real path. Rejects with
 * PERMISSION_DENIED naming the rule (`op` names the call), which the router audits like
 * any denial. The path need not exist; the caller reports a missing one as it always did.
 */
export async function authorizeAgentPath(
  kernel: Pick<KernelServices, 'options' | 'pool'>,
  agent: Pick<AgentRecord, 'admin' | 'permissions' | 'cwd'>,
  path: string,
  access: PathAccess,
  options: { op: string; cancel?: AbortSignal },
): Promise<{ path: string; real: string }> {
  const absolute = requestPath(agent, path, options.op);
  const policy = await pathPolicyOf(agent, kernel);
  const { real } = await kernel.pool.run('authorizePath', { path: absolute, access, policy, op: options.op }, options.cancel);
  return { path: absolute, real };
}
