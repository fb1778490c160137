/**
 * EXEC: a shell command run in a worker thread. Every program the command line would run
 * passes the agent's command rules first (src/security/commands; the worker checks them
 * before it starts anything); at the sandboxed level the command runs inside bubblewrap.
 */
import { homedir } from 'node:os';
import type { AgentRecord } from '../agents/registry.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import type { Permissions } from '../protocol/schemas/permissions.js';
import { ExecRequest } from '../protocol/schemas/process.js';
import { findBubblewrap, SandboxUnavailableError, sandboxPaths } from '../sandbox/index.js';
import { execRules } from '../security/commands/exec-rules.js';
import { checkEnvironment, commandRefusal } from '../security/commands/index.js';
import { authorizeAgentPath } from '../security/paths-authorize.js';
import type { ExecSandbox } from '../workers/exec-sandbox.js';
import { execInWorld } from '../worlds/exec-calls.js';

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

/** How a sandboxed agent's command is boxed; undefined when it runs unboxed (no bwrap, and the kernel allows degraded isolation). */
async function sandboxFor(
  agent: AgentRecord,
  permissions: Readonly<Permissions>,
  kernel: KernelServices,
): Promise<ExecSandbox | undefined> {
  const lookup = await findBubblewrap();
  if (!lookup.ok) {
    if (!kernel.options.allowDegradedIsolation) throw new SandboxUnavailableError(lookup.reason);
    kernel.log.warn({ agent_id: agent.id, problem: lookup.problem }, 'sandboxed EXEC runs without a sandbox (--allow-degraded-isolation)');
    return undefined;
  }
  return {
    bwrap: lookup.bwrap,
    network: permissions.can_network,
    ...sandboxPaths(permissions, { home: homedir(), dataDir: kernel.options.dataDir }),
  };
}

export const execSyscall = defineSyscall({
  name: 'EXEC',
  request: ExecRequest,
  handle: async (request, session, kernel) => {
    const { agent } = session;
    // `async: true` never reaches here: the router runs the call in the background and hands it `async: false`.
    const { exec: limits } = kernel.options;
    if (request.timeout > limits.maxTimeoutS) {
      throw new KernelError(
        'INVALID_REQUEST',
        `invalid EXEC request: field "timeout": expected at most ${limits.maxTimeoutS} seconds (the kernel's limit)`,
        { field: 'timeout' },
      );
    }
    // A member of a world runs the command in its world's sandbox, on its files (src/worlds/exec-calls.ts).
    const world = kernel.worlds.worldOf(agent.id);
    if (world) return execInWorld(world, request, session, kernel);
    // An explicit cwd passes the read rules (as SPAWN's does); the agent's own cwd is where it already is.
    const cwd =
      request.cwd === undefined
        ? agent.cwd
        : (await authorizeAgentPath(kernel, agent, request.cwd, 'read', { op: 'EXEC cwd', cancel: session.closed })).path;
    // One snapshot of the rights for the whole call: a SET_PERMS meanwhile applies to the next one.
    const permissions = agent.permissions;
    const checks = kernel.options.permissionChecks;
    const envDenial = request.env === undefined || !checks ? null : checkEnvironment(request.env, permissions);
    if (envDenial) throw commandRefusal('EXEC', envDenial);
    const sandbox = permissions.sandboxed ? await sandboxFor(agent, permissions, kernel) : undefined;
    // The command line itself is checked in the worker, before it starts anything.
    const result = await kernel.pool.run(
      'exec',
      {
        command: request.command,
        cwd,
        env: { ...BASE_ENV, ...request.env },
        timeoutMs: Math.round(request.timeout * 1000),
        maxOutputBytes: Math.min(request.max_output ?? limits.maxOutputBytes, limits.maxOutputBytes),
        killGraceMs: limits.killGraceMs,
        sandbox,
        rules: execRules(permissions, checks),
      },
      session.closed,
    );
    if ('denied' in result) throw commandRefusal('EXEC', result.denied);
    return { success: true as const, ...result };
  },
});
