/**
 * A process agent: its script run with the interpreter its extension names, in its own
 * process group (so signals and the final kill reach everything it started), isolated
 * when asked. It gets the kernel's socket, its id and a fresh one-use token; never the
 * kernel's own environment. Its stdout and stderr go to its bounded log.
 */
import { resolveLaunch } from '../../agents/interpreter.js';
import type { ProcessLaunch } from '../../agents/launch.js';
import type { OutputLog } from '../../agents/output-log.js';
import type { AgentRegistry } from '../../agents/registry.js';
import type { Logger } from '../../kernel/logger.js';
import type { IsolationReport } from '../../protocol/schemas/isolation.js';
import { prepareIsolation } from '../../sandbox/index.js';
import { baseEnvironment } from '../../syscalls/process.js';
import type { ProcessLauncher } from '../../workers/launcher.js';
import type { Runner } from './runner.js';

export interface ProcessRunnerDeps {
  registry: AgentRegistry;
  socketPath: string;
  allowDegradedIsolation: boolean;
  log: Logger;
  /** Spawns off the kernel's event loop (see src/workers/launcher.ts). */
  launcher: ProcessLauncher;
  /** The agent's output log, kept across its restarts. */
  outputOf(agentId: number): OutputLog | null;
  /** What isolation the last start applied, for the SPAWN reply. */
  onIsolation(agentId: number, report: IsolationReport): void;
}

const BASE_ENV = baseEnvironment();

/** How long an exit report waits for the killed rest of the agent's process group. */
const GROUP_GONE_MS = 1_000;

/** Resolves when no process is left in group `pgid` (signal 0 finds none), or after `timeoutMs`. */
async function groupGone(pgid: number | undefined, timeoutMs: number): Promise<void> {
  if (pgid === undefined) return;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export function processRunner(deps: ProcessRunnerDeps): Runner<ProcessLaunch> {
  return ({ input, sendBack, receive }) => {
    const launch = input.launch;
    const output = deps.outputOf(input.agentId);
    /** The launched process (bwrap's, when sandboxed), and whether it still runs. */
    let pid: number | undefined;
    let running = false;
    /** Where graceful signals go: the agent's own process group (inside bwrap, not bwrap's). */
    let target: number | undefined;
    let finished = false;
    let release: (() => Promise<unknown>) | undefined;
    const pending: NodeJS.Signals[] = [];

    const kill = (group: number, signal: NodeJS.Signals) => {
      try {
        process.kill(-group, signal);
      } catch {
        // The group is gone already.
      }
    };
    const signalGroup = (signal: NodeJS.Signals) => {
      if (pid === undefined || target === undefined) {
        pending.push(signal);
        return;
      }
      kill(target, signal);
      // SIGKILL also reaches the launcher's group (bwrap, which takes its namespace with it).
      if (signal === 'SIGKILL' && target !== pid) kill(pid, signal);
    };
    const report = (exitCode: number | null, signal: string | null, error?: string) => {
      if (finished) return;
      finished = true;
      output?.note(error ? `agent failed to run: ${error}` : `agent exited (${signal ? `signal ${signal}` : `code ${exitCode}`})`);
      sendBack({ type: 'run.exited', exitCode, signal, ...(error !== undefined && { error }) });
    };

    receive((command) => signalGroup(command.signal));

    const start = async () => {
      const { command, prefix } = await resolveLaunch(launch.script, launch.interpreter);
      const token = deps.registry.issueToken(input.agentId);
      const env: Record<string, string> = {
        ...BASE_ENV,
        ...launch.env,
        AGENTOS_SOCKET: deps.socketPath,
        AGENTOS_AGENT_ID: String(input.agentId),
        AGENTOS_AGENT_TOKEN: token,
      };
      const isolated = await prepareIsolation({
        sandboxed: launch.sandboxed,
        network: launch.network,
        limits: launch.limits,
        allowDegraded: deps.allowDegradedIsolation,
        command,
        // Run directly, the program is the command itself: its first argument is the socket, not its own path.
        args: [...prefix, ...(command === launch.script ? [] : [launch.script]), deps.socketPath, ...launch.args],
        cwd: launch.cwd,
        socketPath: deps.socketPath,
        agentName: `agent-${input.agentId}`,
        scriptPath: launch.script,
        writablePaths: launch.writablePaths,
        hiddenPaths: launch.hiddenPaths,
        unsandboxedBecause: launch.unsandboxedBecause,
      });
      release = isolated.release;
      deps.onIsolation(input.agentId, isolated.isolation);
      if (finished) return;
      let exited: { code: number | null; signal: string | null } | undefined;
      let failed: string | undefined;
      const spawnedPid = await new Promise<number | undefined>((resolve) => {
        deps.launcher.launch(
          { command: isolated.command, args: isolated.args, cwd: launch.cwd, env },
          {
            spawned: (launched) => {
              pid = launched;
              running = true;
              resolve(launched);
            },
            error: (message) => {
              failed = message;
              resolve(undefined);
            },
            output: (stream, chunk) => output?.write(stream, chunk),
            exit: (code, signal) => {
              exited = { code, signal };
              running = false;
              // No orphan outlives its agent: whatever the script started goes with it.
              if (pid !== undefined) {
                target ??= pid;
                signalGroup('SIGKILL');
              }
            },
            closed: () => {
              output?.flush();
              // Report once the rest of the group (sent SIGKILL at exit) is gone too, so a KILL's
              // reply or a restart never overlaps what the old run started.
              void groupGone(target ?? pid, GROUP_GONE_MS).then(() => {
                if (exited) report(exited.code, exited.signal);
                else report(null, null, failed ?? 'the process ended without an exit status');
              });
            },
          },
        );
      });
      if (spawnedPid === undefined) return;
      await isolated.attach(spawnedPid);
      target = await isolated.signalTarget(spawnedPid);
      output?.note(`agent started (pid ${spawnedPid}${input.restarts > 0 ? `, restart ${input.restarts}` : ''})`);
      sendBack({ type: 'run.started', pid: spawnedPid });
      for (const signal of pending.splice(0)) signalGroup(signal);
    };
    start().catch((error: unknown) => report(null, null, error instanceof Error ? error.message : String(error)));

    return () => {
      if (pid !== undefined && running) {
        target ??= pid;
        signalGroup('SIGKILL');
      }
      finished = true;
      deps.registry.revokeTokens(input.agentId);
      release?.().catch((error: unknown) => deps.log.warn({ err: error, agent_id: input.agentId }, 'could not release isolation'));
    };
  };
}
