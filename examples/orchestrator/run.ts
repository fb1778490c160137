// The whole example: a kernel (a private one, or yours with --socket), three workers
// SPAWNed as process agents, the orchestrator, the result and whether the crash was retried.
//
//   node --import tsx examples/orchestrator/run.ts                       # a private kernel in a temp dir
//   node --import tsx examples/orchestrator/run.ts --socket /tmp/agentos.sock [--data-dir DIR]
//
// Workers: node-a (mapper and reducer), node-b (mapper; crashes on its 2nd subtask, before
// completing it) and py (worker.py, a mapper speaking the wire protocol by hand). None is
// restarted (restart_policy "never"): node-b's exit is for good, so the kernel fails its
// running subtasks (outcome agent_exited) and reassigns them to another mapper.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { connectCli } from '../../src/cli/connect.js';
import { type Kernel, startKernel } from '../../src/index.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { DATA_DIR, type Outcome, orchestrate, report } from './orchestrator.js';

export interface RunOptions {
  /** A running kernel's socket; none: start a private kernel in a temp directory. */
  socket?: string;
  /** That kernel's data directory, for its admin token (SPAWN needs the right to spawn). */
  dataDir?: string;
  folder?: string;
  /** node-b exits on receiving this many subtasks (default 2). */
  crashAfter?: number;
  say?: (line: string) => void;
}

export interface RunOutcome extends Outcome {
  workers: { name: string; agent_id: number }[];
}

const LAUNCHER = 'orchestrator';

export async function runExample(options: RunOptions = {}): Promise<RunOutcome> {
  const say = options.say ?? (() => {});
  let kernel: Kernel | undefined;
  let dir: string | undefined;
  let client: AgentOSClient;
  if (options.socket === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'agentos-orchestrator-'));
    kernel = await startKernel(
      { socketPath: join(dir, 'agentos.sock'), dataDir: join(dir, 'data'), httpPort: null },
      { log: pino({ level: 'silent' }) },
    );
    say(`kernel ready on ${kernel.socketPath}`);
    // In-process and unrestricted: allowed to SPAWN (a socket client presents the admin token instead).
    client = await AgentOSClient.connect({ connection: kernel.connect({ name: LAUNCHER, level: 'unrestricted' }) });
  } else {
    client = await connectCli({ socket: options.socket, dataDir: options.dataDir }, LAUNCHER);
  }
  const workers: { name: string; agent_id: number }[] = [];
  try {
    const here = import.meta.dirname;
    const specs = [
      { name: 'node-a', script: join(here, 'worker.ts'), args: ['--roles', 'mapper,reducer', '--ready-to', LAUNCHER] },
      {
        name: 'node-b',
        script: join(here, 'worker.ts'),
        args: ['--roles', 'mapper', '--ready-to', LAUNCHER, '--crash-after', String(options.crashAfter ?? 2)],
      },
      { name: 'py', script: join(here, 'worker.py'), args: [LAUNCHER] },
    ];
    for (const spec of specs) {
      const reply = (await client.call('SPAWN', { ...spec, restart_policy: 'never' })) as { agent_id: number; pid: number };
      workers.push({ name: spec.name, agent_id: reply.agent_id });
      say(`spawned ${spec.name}: agent ${reply.agent_id}, pid ${reply.pid}`);
    }
    // Create the task only once every worker holds its roles, so the maps spread over all three.
    let ready = 0;
    const deadline = Date.now() + 20_000;
    while (ready < workers.length) {
      if (Date.now() > deadline) {
        throw new Error(`only ${ready} of ${workers.length} workers reported ready within 20 s:\n${await workerLogs(client, workers)}`);
      }
      const { messages } = (await client.call('RECV', { max: 10, wait_ms: 1000 })) as { messages: { message: { ready?: number } }[] };
      ready += messages.filter((m) => typeof m.message?.ready === 'number').length;
    }
    say('workers ready: node-a (mapper, reducer), node-b (mapper, crashes on its 2nd subtask), py (mapper)');
    const outcome = await orchestrate(client, options.folder ?? DATA_DIR, say);
    return { ...outcome, workers };
  } finally {
    for (const worker of workers) {
      await client.call('KILL', { id: worker.agent_id, signal: 'SIGKILL', grace_ms: 0 }).catch(() => {}); // node-b is gone already
    }
    await client.close();
    await kernel?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** The last lines each worker wrote (stderr included): why a worker never became ready. */
async function workerLogs(client: AgentOSClient, workers: { name: string; agent_id: number }[]): Promise<string> {
  const parts: string[] = [];
  for (const worker of workers) {
    const logs = (await client.call('LOGS', { id: worker.agent_id, lines: 20 }).catch(() => ({ lines: [] }))) as {
      lines: { text: string }[];
    };
    parts.push(`${worker.name}:\n${logs.lines.map((l) => `  ${l.text}`).join('\n')}`);
  }
  return parts.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { socket: { type: 'string' }, 'data-dir': { type: 'string' }, folder: { type: 'string' } } });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const outcome = await runExample({ socket: values.socket, dataDir: values['data-dir'], folder: values.folder, say });
  report(outcome, say);
  process.exitCode = outcome.correct ? 0 : 1;
}
