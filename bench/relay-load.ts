/**
 * Questions (issue 8 item 8), against a kernel host linked to a relay process:
 *
 *   1. Latency the relay path adds: sequential NOOPs from a RemoteAgentClient (agent →
 *      relay → kernel → relay → agent) against sequential NOOPs from the SDK's client on
 *      the kernel's Unix socket (the floor), in alternating blocks so both see the same
 *      machine. Both go through the same SDK, so the difference is the path.
 *   2. Throughput of `--agents` remote agents through one relay, each keeping `--window`
 *      NOOPs in flight, against the same number of socket clients with the same window
 *      (the kernel's own capacity on this machine), alternating over `--rounds`.
 *
 * The relay must be started with rate limits above the load (relay-section.ts does it):
 * its defaults (50 calls/s per agent) are for untrusted agents, not for a benchmark.
 *
 * Usage: --socket PATH --relay-url URL --machine ID --token AGENT_TOKEN [--samples 2000]
 *        [--agents 64] [--window 16] [--duration-ms 2000] [--rounds 3]
 * Prints one JSON result line.
 */
import { performance } from 'node:perf_hooks';
import { AgentOSClient } from '../src/sdk/client.js';
import { RemoteAgentClient } from '../src/sdk/remote-client.js';
import { need, parseArgs, phase, report } from './lib/agnt.js';
import { type LatencySummary, median, round, Samples } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const relayUrl = need(args, 'relay-url');
const machineId = need(args, 'machine');
const token = need(args, 'token');
const SAMPLES = Number(args.samples ?? 2000);
const AGENTS = Number(args.agents ?? 64);
const WINDOW = Number(args.window ?? 16);
const DURATION_MS = Number(args['duration-ms'] ?? 2000);
const ROUNDS = Number(args.rounds ?? 3);
const BLOCK = 100;
const WARMUP = 300;

interface Noop {
  noop(): Promise<unknown>;
  close(): Promise<void>;
}

const local = (): Promise<Noop> => AgentOSClient.connect({ socketPath });
const remote = (name?: string): Promise<Noop> => RemoteAgentClient.connect({ relayUrl, token, machineId, ...(name ? { name } : {}) });

async function sequential(client: Noop, calls: number, into?: Samples): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const began = performance.now();
    await client.noop();
    into?.add(performance.now() - began);
  }
}

async function latency(): Promise<{ local: LatencySummary; remote: LatencySummary; added_p50_us: number }> {
  const [viaSocket, viaRelay] = await Promise.all([local(), remote('bench-latency')]);
  try {
    await sequential(viaSocket, WARMUP);
    await sequential(viaRelay, WARMUP);
    const floor = new Samples(SAMPLES);
    const measured = new Samples(SAMPLES);
    for (let done = 0; done < SAMPLES; done += BLOCK) {
      await sequential(viaSocket, BLOCK, floor);
      await sequential(viaRelay, BLOCK, measured);
    }
    const [a, b] = [floor.summary(), measured.summary()];
    return { local: a, remote: b, added_p50_us: round(b.p50_us - a.p50_us) };
  } finally {
    await Promise.all([viaSocket.close(), viaRelay.close()]);
  }
}

/** Calls completed per second by `clients`, each keeping WINDOW NOOPs in flight for DURATION_MS. */
async function window(clients: Noop[]): Promise<number> {
  let completed = 0;
  let running = true;
  const loop = async (client: Noop) => {
    while (running) {
      await client.noop();
      completed++;
    }
  };
  // Warm up, then count over the window only.
  const warm = clients.flatMap((client) => Array.from({ length: WINDOW }, () => loop(client)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = completed;
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  const counted = completed - before;
  const elapsed = performance.now() - began;
  running = false;
  await Promise.all(warm);
  return Math.round((counted / elapsed) * 1000);
}

async function throughput(): Promise<{
  rounds: { floor_per_s: number; relay_per_s: number }[];
  floor_per_s: number;
  relay_per_s: number;
  ratio: number;
}> {
  const rounds: { floor_per_s: number; relay_per_s: number }[] = [];
  const sockets = await Promise.all(Array.from({ length: AGENTS }, () => local()));
  const remotes = await Promise.all(Array.from({ length: AGENTS }, (_, i) => remote(`bench-${i}`)));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      phase(`throughput round ${r + 1}`);
      const floor = await window(sockets);
      const relay = await window(remotes);
      rounds.push({ floor_per_s: floor, relay_per_s: relay });
    }
  } finally {
    await Promise.all([...sockets, ...remotes].map((client) => client.close()));
  }
  const floorPerS = median(rounds.map((r) => r.floor_per_s));
  const relayPerS = median(rounds.map((r) => r.relay_per_s));
  return { rounds, floor_per_s: floorPerS, relay_per_s: relayPerS, ratio: round(relayPerS / floorPerS, 2) };
}

phase('latency');
const lat = await latency();
const put = await throughput();
report({ samples: SAMPLES, agents: AGENTS, window: WINDOW, duration_ms: DURATION_MS, latency: lat, throughput: put });
process.exit(0);
