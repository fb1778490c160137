/**
 * Question: does a long syscall on one connection slow the others? Connection A runs
 * EXEC `sleep 2` (in the kernel's worker pool); meanwhile connection B makes sequential
 * NOOP calls, and we report B's latency over that window.
 *
 * Against the floor the EXEC frame is simply echoed at once, so B runs alone for the
 * same minimum window: the floor's NOOP p99 with nothing else going on.
 *
 * Usage: --socket PATH [--command "sleep 2"] [--min-window-ms 2000] [--payload 16]
 * Prints `{"phase":"measure",...}` / `{"phase":"end",...}` around the window, then a JSON result.
 */
import { performance } from 'node:perf_hooks';
import { call, connect, jsonFrame, need, noopFrame, OP_EXEC, OP_NOOP, parseArgs, phase, ReplyReader, report } from './lib/agnt.js';
import { round, Samples } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const command = args.command ?? 'sleep 2';
const minWindowMs = Number(args['min-window-ms'] ?? 2000);
const frame = noopFrame(Number(args.payload ?? 16));

const execSocket = await connect(socketPath);
const noopSocket = await connect(socketPath);

// Warm both paths (JIT, the worker's first task) before the measured window.
await call(execSocket, jsonFrame(OP_EXEC, { command: 'true', timeout: 10 }));
for (let i = 0; i < 2000; i++) await call(noopSocket, frame);

const samples = new Samples();
let execReply: { opcode: number; payload: Buffer; ms: number } | undefined;
phase('measure');
const windowStart = performance.now();
const execSent = performance.now();
const execDone = call(execSocket, jsonFrame(OP_EXEC, { command, timeout: 30 })).then((reply) => {
  execReply = { ...reply, ms: performance.now() - execSent };
});

await new Promise<void>((resolve, reject) => {
  let sentAt = 0;
  const reader = new ReplyReader((opcode) => {
    const now = performance.now();
    if (opcode !== OP_NOOP) return reject(new Error(`unexpected reply opcode ${opcode}`));
    samples.add(now - sentAt);
    if (execReply !== undefined && now - windowStart >= minWindowMs) return resolve();
    sentAt = performance.now();
    noopSocket.write(frame);
  });
  noopSocket.on('data', (chunk: Buffer) => reader.push(chunk));
  noopSocket.once('error', reject);
  sentAt = performance.now();
  noopSocket.write(frame);
});
const windowMs = performance.now() - windowStart;
phase('end');
await execDone;
execSocket.destroy();
noopSocket.destroy();

let exec: Record<string, unknown> = { opcode: execReply?.opcode, ms: round(execReply?.ms ?? Number.NaN) };
try {
  const body = JSON.parse(execReply?.payload.toString('utf8') ?? '{}') as Record<string, unknown>;
  // The floor echoes the request ({command, timeout}); the kernel answers {success, exit_code, ...}.
  exec = { ...exec, success: body.success ?? null, exit_code: body.exit_code ?? null, echoed: 'command' in body };
} catch {
  exec = { ...exec, unparsed: true };
}
report({ command, calls: samples.length, elapsed_ms: round(windowMs), exec, latency: samples.summary() });
process.exit(0);
