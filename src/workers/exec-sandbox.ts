/**
 * EXEC at the sandboxed level: the bubblewrap argv around `/bin/sh -c command`, built in
 * the worker because it needs the file system (which write paths exist, their real
 * paths, which hidden paths a bind would show). The command is one argv element, as
 * without the sandbox; nothing else from the request reaches the argv.
 *
 * Inside: the system directories read-only, a private /tmp, the agent's write paths
 * that exist (bound read-write at their real paths), the working directory (read-only
 * unless writable), no network unless the agent has can_network; the kernel's data
 * directory and the agent's blocked paths are covered where a bind would show them.
 * What is bound and covered is decided once for EXEC and process agents alike
 * (src/sandbox/mounts.ts), and bubblewrapArgv places the masks after every bind.
 */
import { type Bubblewrap, bubblewrapArgv, type SandboxSpec } from '../sandbox/bubblewrap.js';
import { masksFor, realPathOf, writableBinds } from '../sandbox/mounts.js';

export interface ExecSandbox {
  bwrap: Bubblewrap;
  network: boolean;
  /** Absolute paths the command may write, where they exist. `/` and `/tmp` are never bound (the sandbox's /tmp is private). */
  writable: string[];
  /** Absolute paths that must stay out of sight where a bind would show them. */
  hidden: string[];
}

const SHELL = '/bin/sh';

/** The full argv (bwrap first) that runs `command` sandboxed in `cwd`. */
export async function sandboxedShellArgv(sandbox: ExecSandbox, command: string, cwd: string): Promise<string[]> {
  const spec: SandboxSpec = {
    command: SHELL,
    args: ['-c', command],
    cwd: (await realPathOf(cwd)) ?? cwd,
    network: sandbox.network,
    writablePaths: await writableBinds(sandbox.writable),
  };
  return bubblewrapArgv({ ...spec, masks: await masksFor(spec, sandbox.hidden) }, sandbox.bwrap);
}
