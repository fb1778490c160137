/**
 * A process agent: its script run with the interpreter its extension names, in its own
 * process group (so signals and the final kill reach everything it started), isolated
 * when asked. It gets the kernel's socket, its id and a fresh one-use token; never the
 * kernel's own environment. Its stdout and stderr go to its bounded log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolveLaunch } from '../../agents/interpreter.js';
import type { ProcessLaunch } from '../../agents/launch.js';
import type { OutputLog } from '../../agents/output-log.js';
import type { AgentRegistry } from '../../agents/registry.js';
import type { Logger } from '../../kernel/logger.js';
import type { IsolationReport } from '../../protocol/schemas/isolation.js';
import { prepareIsolation } from '../../sandbox/index.js';
import { baseEnvironment } from '../../syscalls/process.js';
import type { Runner } from './runner.js';

export interface ProcessRunnerDeps {
  registry: AgentRegistry;
  socketPath: string;
  allowDegradedIsolation: boolean;
  log: Logger;
  /** The agent's output log, kept across its restarts. */
  outputOf(agentId: number): OutputLog | null;
  /** What isolation the last start applied, for the SPAWN reply. */
  onIsolation(agentId: number, report: IsolationReport): void;
}

/** After the main process exits, how long its output pipes may stay open before we stop waiting. */
const PIPE_GRACE_MS = 2_000;

const BASE_ENV = baseEnvironment();

export function processRunner(deps: ProcessRunnerDeps): Runner<ProcessLaunch> {
  return ({ input, sendBack, receive }) => {
    const launch = input.launch;
    const output = deps.outputOf(input.agentId);
    let child: ChildProcess | undefined;
    /** Where graceful signals go: the agent's own process group (inside bwrap, not bwrap's). */
    let target: number | undefined;
    let finished = false;
    let release: (() => Promise<unknown>) | undefined;
    const pending: NodeJS.Signals[] = [];

    const kill = (pid: number, signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const signalGroup = (signal: NodeJS.Signals) => {
      if (child?.pid === undefined || target === undefined) {
        pending.push(signal);
        return;
      }
      kill(target, signal);
      // SIGKILL also reaches the launcher's group (bwrap, which takes its namespace with it).
      if (signal === 'SIGKILL' && target !== child.pid) kill(child.pid, signal);
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
      });
      release = isolated.release;
      deps.onIsolation(input.agentId, isolated.isolation);
      if (finished) return;
      const spawned = spawn(isolated.command, isolated.args, {
        cwd: launch.cwd,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = spawned;
      spawned.stdout?.on('data', (chunk: Buffer) => output?.write('stdout', chunk));
      spawned.stderr?.on('data', (chunk: Buffer) => output?.write('stderr', chunk));
      spawned.once('error', (error) => report(null, null, error.message));
      let exited: { code: number | null; signal: string | null } | undefined;
      spawned.once('exit', (code, signal) => {
        exited = { code, signal };
        // No orphan outlives its agent: whatever the script started goes with it.
        signalGroup('SIGKILL');
        setTimeout(() => {
          spawned.stdout?.destroy();
          spawned.stderr?.destroy();
        }, PIPE_GRACE_MS).unref();
      });
      spawned.once('close', () => {
        output?.flush();
        if (exited) report(exited.code, exited.signal);
      });
      if (spawned.pid === undefined) return;
      await isolated.attach(spawned.pid);
      target = await isolated.signalTarget(spawned.pid);
      output?.note(`agent started (pid ${spawned.pid}${input.restarts > 0 ? `, restart ${input.restarts}` : ''})`);
      sendBack({ type: 'run.started', pid: spawned.pid });
      for (const signal of pending.splice(0)) signalGroup(signal);
    };
    start().catch((error: unknown) => report(null, null, error instanceof Error ? error.message : String(error)));

    return () => {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        target ??= child.pid;
        signalGroup('SIGKILL');
      }
      finished = true;
      deps.registry.revokeTokens(input.agentId);
      release?.().catch((error: unknown) => deps.log.warn({ err: error, agent_id: input.agentId }, 'could not release isolation'));
    };
  };
}
