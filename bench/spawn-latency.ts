/**
 * Question: how much later does a spawned agent make its first syscall than the bare
 * interpreter would reach a socket? The same script (agents/hello-agent.mjs or
 * agents/hello_agent.py: connect, one HELLO, wait for the reply) runs two ways, trials
 * alternating:
 *
 *   floor   this process spawns `node hello-agent.mjs` / `python3 -u hello_agent.py`
 *           itself (detached, piped stdio, as the kernel does) and answers the HELLO
 *           from a bare listener of its own: spawn() → the reply reaches the agent.
 *   kernel  SPAWN over the kernel's socket (as admin): SPAWN sent → the kernel's reply
 *           to the agent's HELLO (its first syscall, with its spawn token) reaches it.
 *
 * Both clocks are CLOCK_MONOTONIC (process.hrtime here, hrtime / time.monotonic_ns in
 * the agent), which every process on the machine shares. The agent sends its times to a
 * report socket of this process, then exits; a trial ends when that connection closes.
 * The first trial of each kind is a discarded warm-up (the page cache).
 *
 * Usage: --socket PATH --data-dir DIR [--trials 10] [--interpreters node,python]
 * Prints one JSON result line.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { baseEnvironment } from '../src/syscalls/process.js';
import { call, connect, encodeFrameBuffer, jsonFrame, need, OP_HELLO, parseArgs, ReplyReader, report } from './lib/agnt.js';
import { BENCH_DIR } from './lib/proc.js';
import { median, round } from './lib/stats.js';

const OP_SPAWN = 0x10;

const args = parseArgs(process.argv.slice(2));
const kernelSocket = need(args, 'socket');
const dataDir = need(args, 'data-dir');
const trials = Number(args.trials ?? 10);
const interpreters = (args.interpreters ?? 'node,python').split(',') as Interpreter[];

type Interpreter = 'node' | 'python';
const SCRIPTS: Record<Interpreter, { script: string; command: string; prefix: string[] }> = {
  node: { script: join(BENCH_DIR, 'agents/hello-agent.mjs'), command: process.execPath, prefix: [] },
  // The kernel runs .py files as `python3 -u` (src/agents/interpreter.ts).
  python: { script: join(BENCH_DIR, 'agents/hello_agent.py'), command: 'python3', prefix: ['-u'] },
};

/** What the agent reports (its own clock, ms). */
interface AgentTimes {
  pid: number;
  started: number;
  sent: number;
  replied: number;
  ok: boolean;
}

/** One trial, every time from the trial's start (spawn() or SPAWN sent), in ms. */
interface Trial {
  /** The agent's first line of its own code ran. */
  started_ms: number;
  /** It wrote its HELLO. */
  sent_ms: number;
  /** The reply to its HELLO reached it: the measured figure. */
  first_syscall_ms: number;
  /** Floor only: the listener here had the whole HELLO frame. */
  frame_received_ms?: number;
  /** Kernel only: the SPAWN reply reached this client (the kernel answers once the process runs). */
  spawn_reply_ms?: number;
}

/**
 * Agents get the kernel's PATH (src/syscalls/process.ts). Where `python3` on it is a
 * shim (pyenv's is a bash script, 0.2-0.5 s on a loaded machine), both sides would time
 * the shim; so both get the real interpreter's directory first (SPAWN's `env`, and the
 * floor's spawn), and the comparison is the interpreter's start against the kernel's.
 */
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { env: baseEnvironment(), encoding: 'utf8' });
const realPython = python.stdout.trim();
if (python.status !== 0 || !realPython) throw new Error(`python3 did not run: ${python.stderr}`);
const agentPath = `${dirname(realPython)}:${baseEnvironment().PATH}`;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const dir = await mkdtemp(join(tmpdir(), 'agentos-spawn-'));
const floorSocket = join(dir, 'floor.sock');
const reportSocket = join(dir, 'report.sock');

// The floor's listener: answers each HELLO with the frame itself (the floor-echo-server's work).
let frameReceivedAt = 0;
const floorServer = createServer((socket: Socket) => {
  socket.on('error', () => socket.destroy());
  const reader = new ReplyReader((opcode, payload) => {
    frameReceivedAt = now();
    socket.write(encodeFrameBuffer(0, opcode, payload ?? Buffer.alloc(0)));
  }, true);
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
});

// The report listener: one JSON line per agent; the trial ends when the agent's connection closes.
let onReport: ((times: AgentTimes) => void) | undefined;
const reportServer = createServer((socket: Socket) => {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('close', () => {
    const line = text.trim();
    if (line) onReport?.(JSON.parse(line) as AgentTimes);
  });
});
const listen = (server: Server, path: string) => new Promise<void>((resolve) => server.listen(path, resolve));
await Promise.all([listen(floorServer, floorSocket), listen(reportServer, reportSocket)]);

function nextReport(timeoutMs = 20_000): Promise<AgentTimes> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report from the agent after ${timeoutMs} ms`)), timeoutMs);
    onReport = (times) => {
      clearTimeout(timer);
      onReport = undefined;
      resolve(times);
    };
  });
}

async function floorTrial(interpreter: Interpreter): Promise<Trial> {
  const { script, command, prefix } = SCRIPTS[interpreter];
  const reported = nextReport();
  frameReceivedAt = 0;
  const t0 = now();
  const child: ChildProcess = spawn(command, [...prefix, script, floorSocket, reportSocket], {
    env: { ...baseEnvironment(), PATH: agentPath, AGENTOS_SOCKET: floorSocket, AGENTOS_AGENT_TOKEN: 'floor' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // An agent that fails never reports: its exit ends the wait (a clean exit still waits for the report).
  const failed = exited.then((code) =>
    code === 0 ? reported : Promise.reject(new Error(`${interpreter} floor agent exited ${code}: ${stderr}`)),
  );
  const times = await Promise.race([reported, failed]);
  await exited;
  if (!times.ok) throw new Error(`${interpreter} floor agent: bad reply`);
  return {
    started_ms: round(times.started - t0, 2),
    sent_ms: round(times.sent - t0, 2),
    first_syscall_ms: round(times.replied - t0, 2),
    frame_received_ms: round(frameReceivedAt - t0, 2),
  };
}

// The kernel: one admin connection making the SPAWNs.
const admin = await connect(kernelSocket);
const adminToken = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
const hello = await call(admin, jsonFrame(OP_HELLO, { token: adminToken, client: 'agentos-bench' }));
if (JSON.parse(hello.payload.toString('utf8')).admin !== true) throw new Error('the admin token was refused');
let spawned = 0;

async function kernelTrial(interpreter: Interpreter): Promise<Trial> {
  const { script } = SCRIPTS[interpreter];
  const reported = nextReport();
  const request = jsonFrame(OP_SPAWN, {
    name: `spawn-${interpreter}-${++spawned}`,
    script,
    args: [reportSocket],
    env: { PATH: agentPath },
    restart_policy: 'never',
  });
  const t0 = now();
  const reply = await call(admin, request);
  const spawnReplyAt = now();
  const body = JSON.parse(reply.payload.toString('utf8')) as { success?: boolean; pid?: number; error?: string };
  if (body.success !== true) throw new Error(`SPAWN failed: ${reply.payload.toString('utf8')}`);
  const times = await reported;
  if (!times.ok) throw new Error(`${interpreter} agent: the kernel refused its HELLO token`);
  if (times.pid !== body.pid) throw new Error(`report from pid ${times.pid}, SPAWN said ${body.pid}`);
  return {
    started_ms: round(times.started - t0, 2),
    sent_ms: round(times.sent - t0, 2),
    first_syscall_ms: round(times.replied - t0, 2),
    spawn_reply_ms: round(spawnReplyAt - t0, 2),
  };
}

interface Side {
  trials: Trial[];
  median_first_syscall_ms: number;
  median_started_ms: number;
}
const summarize = (list: Trial[]): Side => ({
  trials: list,
  median_first_syscall_ms: round(median(list.map((t) => t.first_syscall_ms)), 2),
  median_started_ms: round(median(list.map((t) => t.started_ms)), 2),
});

const results: Record<
  string,
  { floor: Side; kernel: Side; overhead_ms: number; paired_overhead_ms: number; median_spawn_reply_ms: number }
> = {};
try {
  for (const interpreter of interpreters) {
    // Warm-ups, discarded: the page cache, the kernel's first SPAWN.
    await floorTrial(interpreter);
    await kernelTrial(interpreter);
    const floor: Trial[] = [];
    const kernel: Trial[] = [];
    for (let trial = 0; trial < trials; trial++) {
      // Alternate which goes first, so drift in the machine's load favours neither.
      if (trial % 2 === 0) {
        floor.push(await floorTrial(interpreter));
        kernel.push(await kernelTrial(interpreter));
      } else {
        kernel.push(await kernelTrial(interpreter));
        floor.push(await floorTrial(interpreter));
      }
    }
    const f = summarize(floor);
    const k = summarize(kernel);
    results[interpreter] = {
      floor: f,
      kernel: k,
      overhead_ms: round(k.median_first_syscall_ms - f.median_first_syscall_ms, 2),
      // The median of each back-to-back pair's difference: another view of the same trials.
      paired_overhead_ms: round(median(kernel.map((t, i) => t.first_syscall_ms - (floor[i] as Trial).first_syscall_ms)), 2),
      median_spawn_reply_ms: round(median(kernel.map((t) => t.spawn_reply_ms as number)), 2),
    };
  }
} finally {
  admin.destroy();
  floorServer.close();
  reportServer.close();
  await rm(dir, { recursive: true, force: true });
}

report({ trials, calls: 0, elapsed_ms: 0, python3: realPython, interpreters: results });
process.exit(0);
