/**
 * Question: how long from spawning the process until its socket accepts a connection?
 * The orchestrator spawns the server and poll-connects the socket every 2 ms; the clock
 * runs from just before spawn() to the first successful connect. The first trial of each
 * command is a discarded warm-up (tsx's transform cache, the page cache).
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ROOT_DIR, rssMb, sleep, watchLines } from './lib/proc.js';
import { median, round } from './lib/stats.js';

export interface StartupResult {
  /** Spawn to first accepted connection, per measured trial (ms). */
  accept_ms: number[];
  median_accept_ms: number;
  /** Spawn to the "ready" line on stdout, per measured trial (ms). */
  ready_line_ms: number[];
  /** VmRSS after the last trial was ready and had settled (MB). */
  idle_rss_mb: number;
}

function tryConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `nodeArgs` are the arguments after `node`; `socketPath` is the socket they listen on. */
export async function measureStartup(nodeArgs: string[], socketPath: string, trials: number, settleMs: number): Promise<StartupResult> {
  const accept: number[] = [];
  const ready: number[] = [];
  let idleRss = Number.NaN;
  for (let trial = 0; trial <= trials; trial++) {
    await rm(socketPath, { force: true });
    const t0 = performance.now();
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let readyAt = 0;
    let stderr = () => '';
    const readyLine = new Promise<void>((resolve) => {
      stderr = watchLines(child, (line) => {
        if (line.includes('ready socket=') && readyAt === 0) {
          readyAt = performance.now();
          resolve();
        }
      }).stderr;
    });
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        resolve();
      }),
    );
    let acceptedAt = 0;
    while (!exited && performance.now() - t0 < 15_000) {
      if (await tryConnect(socketPath)) {
        acceptedAt = performance.now();
        break;
      }
      await sleep(2);
    }
    if (acceptedAt === 0) throw new Error(`${nodeArgs.join(' ')}: the socket never accepted a connection; stderr: ${stderr()}`);
    await readyLine;
    if (trial > 0) {
      accept.push(round(acceptedAt - t0));
      ready.push(round(readyAt - t0));
    }
    if (trial === trials) {
      await sleep(settleMs);
      idleRss = await rssMb(child.pid as number);
    }
    child.kill('SIGTERM');
    await exit;
  }
  return { accept_ms: accept, median_accept_ms: round(median(accept)), ready_line_ms: ready, idle_rss_mb: idleRss };
}
