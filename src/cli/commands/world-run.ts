/**
 * `agentos world run PRESET|FILE --agent [NAME=]SCRIPT ... --duration 30s [--score]`:
 * create a world, spawn each script into it as a supervised process agent (restarted
 * when a crash event kills it), let it run for the duration (real time: with
 * --time-scale 60, 30s of real time is 30 world minutes), then print the scored report
 * and clean up: the agents are killed and the world destroyed (unless --keep), on
 * Ctrl-C too. With no kernel at --socket, one is started in this process for the run.
 */
import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { KernelEvent } from '../../protocol/schemas/events.js';
import type { AgentOSClient } from '../../sdk/client.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out, printJson, table } from '../output.js';
import { socketOption, socketPathFrom } from '../socket-option.js';
import { type EmbeddedKernel, startEmbeddedKernel } from './world-embedded.js';
import { formatWorldTime, renderScore, renderTimeline, scoreLabel, viewState, type WorldStateView } from './world-report.js';
import { collect, collectParam, describeFailure, durationOption, kernelListening, positiveNumber, seedOption } from './world-shared.js';
import { createRequest } from './world-source.js';

interface RunFlags extends ConnectFlags {
  agent: string[];
  duration: number;
  timeScale?: number;
  seed?: number;
  param?: Record<string, string>;
  name?: string;
  score?: boolean;
  json?: boolean;
  keep?: boolean;
  sandbox: boolean;
}

interface AgentSpec {
  name: string;
  script: string;
}

interface RunAgent extends AgentSpec {
  agentId: number;
  exits: number;
  restarts: number;
  state: string;
}

const TICK_MS = 1000;
/** Without a terminal, a status line this often instead of one redrawn line. */
const PLAIN_EVERY_MS = 5000;
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Crash events in a short run are many: the supervisor's default (5 in 300 s) would give up. */
const RESTARTS = { restart_policy: 'on-failure', max_restarts: 1000, restart_window: 60 } as const;

/** `NAME=SCRIPT` or `SCRIPT` (named after the file: `worker.py` → `worker`, twice → `worker-2`). */
async function agentSpecs(values: readonly string[]): Promise<AgentSpec[]> {
  const specs: AgentSpec[] = [];
  const taken = new Set<string>();
  for (const value of values) {
    const at = value.indexOf('=');
    const named = at > 0 && AGENT_NAME.test(value.slice(0, at));
    const script = resolve(named ? value.slice(at + 1) : value);
    const info = await stat(script).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`--agent ${value}: ${script} ${info ? 'is not a file' : 'does not exist'}`);
    let name = named
      ? value.slice(0, at)
      : basename(script, extname(script))
          .replace(/[^A-Za-z0-9._-]/g, '-')
          .slice(0, 60);
    if (taken.has(name)) {
      if (named) throw new Error(`--agent ${value}: the name "${name}" is given twice`);
      let n = 2;
      while (taken.has(`${name}-${n}`)) n++;
      name = `${name}-${n}`;
    }
    taken.add(name);
    specs.push({ name, script });
  }
  return specs;
}

/** One status line: redrawn in place on a terminal, printed every few seconds otherwise. */
class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #lastPlain = 0;

  show(line: string): void {
    if (this.#tty) {
      process.stderr.write(`\r\x1b[K${line}`);
    } else if (Date.now() - this.#lastPlain >= PLAIN_EVERY_MS) {
      this.#lastPlain = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.#tty) process.stderr.write('\r\x1b[K');
  }
}

class WorldRun {
  readonly agents: RunAgent[] = [];
  worldId: string | undefined;
  worldName = '';
  readonly #client: AgentOSClient;

  constructor(client: AgentOSClient) {
    this.#client = client;
  }

  async create(source: string, flags: RunFlags): Promise<void> {
    const request = await createRequest(source, {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.param ? { params: flags.param } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
    });
    const reply = await this.#client.worldCreate(request);
    this.worldId = reply.world_id;
    this.worldName = reply.name;
    // Exits are counted from the kernel's own events, restarts from LIST.
    await this.#client.subscribe(['AGENT_EXITED']);
  }

  async spawn(spec: AgentSpec, sandbox: boolean): Promise<void> {
    const worldId = this.worldId as string;
    const reply = (await this.#client.call('SPAWN', {
      name: spec.name,
      script: spec.script,
      world_id: worldId,
      env: { AGENTOS_WORLD_ID: worldId },
      network: true,
      ...(sandbox ? {} : { sandboxed: false }),
      ...RESTARTS,
    })) as { agent_id: number; world_id?: string };
    this.agents.push({ ...spec, agentId: reply.agent_id, exits: 0, restarts: 0, state: 'starting' });
    // An older kernel drops the unknown field and runs the agent on the host: refuse that run.
    if (reply.world_id !== worldId)
      throw new Error(`SPAWN ${spec.name}: this kernel did not put the agent in ${worldId} (no SPAWN world_id)`);
  }

  async state(): Promise<WorldStateView> {
    const { state } = await this.#client.worldState(this.worldId as string);
    return viewState(state);
  }

  /** Exit counts from AGENT_EXITED, restarts and machine state from LIST. */
  async refreshAgents(): Promise<void> {
    const { events } = await this.#client.pollEvents({ max: 1000, waitMs: 0 });
    for (const event of events as KernelEvent[]) {
      const agent = this.agents.find((a) => a.agentId === event.source_agent_id);
      if (agent) agent.exits++;
    }
    const listed = (await this.#client.list()) as { id: number; restarts: number; state: string }[];
    for (const agent of this.agents) {
      const info = listed.find((entry) => entry.id === agent.agentId);
      if (info) {
        agent.restarts = info.restarts;
        agent.state = info.state;
      } else agent.state = 'gone';
    }
  }

  up(): number {
    return this.agents.filter((agent) => /running/.test(agent.state)).length;
  }

  /** Kill what this run spawned and destroy its world (unless kept); every step is tried. */
  async cleanup(keep: boolean): Promise<string[]> {
    const problems: string[] = [];
    for (const agent of this.agents) {
      await this.#client.kill(agent.agentId, { signal: 'SIGTERM', graceMs: 2000 }).catch((error: unknown) => {
        if (!/not found|NOT_FOUND/i.test(String((error as Error).message))) problems.push(`kill ${agent.name}: ${describeFailure(error)}`);
      });
    }
    if (this.worldId !== undefined && !keep) {
      await this.#client.worldDestroy({ world_id: this.worldId, force: true }).catch((error: unknown) => {
        problems.push(`destroy ${this.worldId}: ${describeFailure(error)}`);
      });
    }
    return problems;
  }
}

function statusLine(state: WorldStateView, run: WorldRun, elapsedMs: number, durationMs: number): string {
  const fired = state.history.filter((entry) => entry.kind === 'fired').length;
  const clock = state.clock ? `${formatWorldTime(state.clock.world_ms)} ×${state.clock.time_scale}` : '-';
  return [
    `${run.worldId} ${clock}`,
    `events ${fired}`,
    `agents ${run.up()}/${run.agents.length} up`,
    `score ${scoreLabel(state.score)}`,
    `${Math.min(Math.round(elapsedMs / 1000), Math.round(durationMs / 1000))}s/${Math.round(durationMs / 1000)}s`,
  ].join(' | ');
}

function agentRows(agents: readonly RunAgent[]): string {
  return table(
    ['agent', 'id', 'state', 'exits', 'restarts', 'script'],
    agents.map((agent) => [agent.name, String(agent.agentId), agent.state, agent.exits, agent.restarts, agent.script]),
  );
}

function report(state: WorldStateView, run: WorldRun, flags: RunFlags, realMs: number, interrupted: boolean): string {
  const lines = [
    `world run: ${state.name} (${state.world_id}), seed ${state.seed ?? '-'}, ${Math.round(realMs / 1000)}s real = ${
      state.clock ? formatWorldTime(state.clock.world_ms) : '-'
    } world time at ×${state.clock?.time_scale ?? '-'}${interrupted ? ' (interrupted)' : ''}`,
  ];
  if (flags.score) lines.push('', 'score:', renderScore(state.score));
  const fired = state.history.filter((entry) => entry.kind === 'fired').length;
  lines.push('', `timeline (${fired} fired, ${state.history.length - fired} healed):`, renderTimeline(state.history));
  lines.push('', 'agents:', run.agents.length > 0 ? agentRows(run.agents) : '(none)');
  return lines.join('\n');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
  });
}

async function connectOrEmbed(flags: RunFlags): Promise<{ client: AgentOSClient; embedded?: EmbeddedKernel }> {
  if (await kernelListening(socketPathFrom(flags))) return { client: await connectCli(flags, 'agentos-world-run') };
  const embedded = await startEmbeddedKernel();
  process.stderr.write(
    `agentos: no kernel at ${socketPathFrom(flags)}; started one in this process for the run (socket ${embedded.socketPath}, log ${embedded.dir}/kernel.log), stopped at the end\n`,
  );
  const client = await connectCli({ socket: embedded.socketPath, dataDir: embedded.dataDir }, 'agentos-world-run');
  return { client, embedded };
}

async function runWorld(source: string, flags: RunFlags): Promise<number> {
  // Everything that can be checked before anything is created is checked first.
  const specs = await agentSpecs(flags.agent);
  await createRequest(source, {
    ...(flags.param ? { params: flags.param } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
  });
  const { client, embedded } = await connectOrEmbed(flags);
  if (embedded && flags.keep)
    process.stderr.write('agentos: --keep has no effect with a kernel started for the run: the world ends with it\n');
  const run = new WorldRun(client);
  const stop = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nagentos: interrupted; cleaning up (Ctrl-C again to quit at once)\n');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  const progress = new Progress();
  let failure: unknown;
  let final: WorldStateView | undefined;
  const started = Date.now();
  try {
    await run.create(source, flags);
    // At once: scheduled events due before an agent has joined find no target (crash_targets_missed).
    await Promise.all(specs.map((spec) => run.spawn(spec, flags.sandbox)));
    while (!stop.signal.aborted && Date.now() - started < flags.duration) {
      await sleep(Math.min(TICK_MS, flags.duration - (Date.now() - started)), stop.signal);
      await run.refreshAgents();
      progress.show(statusLine(await run.state(), run, Date.now() - started, flags.duration));
    }
    progress.done();
    await run.refreshAgents();
    final = await run.state();
  } catch (error) {
    progress.done();
    failure = error;
  }
  const problems = await run.cleanup((flags.keep ?? false) && !embedded);
  await client.close().catch(() => {});
  await embedded?.stop().catch((error: unknown) => problems.push(`stopping the kernel: ${describeFailure(error)}`));
  process.off('SIGINT', onSigint);
  for (const problem of problems) process.stderr.write(`agentos: cleanup: ${problem}\n`);
  if (failure !== undefined) throw failure;
  const state = final as WorldStateView;
  const realMs = Date.now() - started;
  if (flags.json) {
    printJson({
      world_id: state.world_id,
      name: state.name,
      real_ms: realMs,
      interrupted: stop.signal.aborted,
      kept: (flags.keep ?? false) && !embedded,
      score: state.score ?? null,
      timeline: state.history,
      agents: run.agents.map(({ name, script, agentId, state: agentState, exits, restarts }) => ({
        name,
        script,
        agent_id: agentId,
        state: agentState,
        exits,
        restarts,
      })),
      state,
    });
  } else {
    out(report(state, run, flags, realMs, stop.signal.aborted));
    if (flags.keep && !embedded) out(`\nkept ${state.world_id}: agentos world destroy ${state.world_id} --force`);
  }
  return stop.signal.aborted ? 130 : 0;
}

export function registerWorldRunCommand(world: Command): void {
  world
    .command('run')
    .description('run agents in a world for a while and print a report: score per objective, event timeline, agent restarts')
    .argument('<preset-or-file>', 'a preset name, or the path of a definition file')
    .requiredOption(
      '--agent <[name=]script>',
      'a script to run as an agent in the world (repeatable); named after the file unless NAME= is given',
      collect,
    )
    .requiredOption(
      '--duration <duration>',
      'how long to run, in real time, e.g. "30s" (world time is this × the time scale)',
      durationOption,
    )
    .option('--time-scale <x>', "override the definition's time scale (60 = one world minute per real second)", positiveNumber)
    .option('--seed <n>', "override the definition's seed", seedOption)
    .option('--param <name=value>', 'the value of a placeholder NAME in the definition (repeatable)', collectParam)
    .option('--name <name>', "the world's name (default: the definition's)")
    .option('--score', 'include the score per objective and the total in the report')
    .option('--keep', 'leave the world in place at the end (its agents are still stopped)')
    .option('--no-sandbox', 'run the agents without bubblewrap (trusted scripts only)')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'print the final report and world state as JSON (progress stays on stderr)')
    .action(async (source: string, flags: RunFlags) => {
      let code: number;
      try {
        code = await runWorld(source, flags);
      } catch (error) {
        fail(describeFailure(error));
      }
      if (code !== 0) process.exit(code);
    });
}
