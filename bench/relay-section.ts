/**
 * The `relay` section of `npm run bench` (issue 8 item 8). A relay process (the CLI's
 * `agentos relay`, from the sources) and a kernel host linked to it at start; then
 *   - relay-load.ts: the latency the relay path adds over the local socket, and the
 *     throughput of many remote agents through one relay against as many socket clients;
 *   - reconnects: the relay is killed (SIGKILL) and started again on the same port and
 *     data directory, and the time from its ready line to the kernel's tunnel being
 *     connected again is measured (polling TUNNEL_STATUS every 5 ms), with the default
 *     backoff. The floor is the relay's own start (spawn → ready line).
 * run.ts only calls runRelaySection and relayRows.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentOSClient } from '../src/sdk/client.js';
import { runClient, type Server, sleep, spawnTs, waitForLine } from './lib/proc.js';
import { type LatencySummary, median, round } from './lib/stats.js';
import { type Row, row } from './lib/table.js';

const MACHINE = 'bench-machine';

export interface RelaySectionContext {
  startHost: (hostArgs: string[]) => Promise<Server>;
  stopHost: (host: Server) => Promise<void>;
  dir: string;
  samples: number;
  agents: number;
  window: number;
  durationMs: number;
  rounds: number;
  reconnects: number;
  progress: (text: string) => void;
}

interface LoadResult {
  samples: number;
  agents: number;
  window: number;
  latency: { local: LatencySummary; remote: LatencySummary; added_p50_us: number };
  throughput: { rounds: { floor_per_s: number; relay_per_s: number }[]; floor_per_s: number; relay_per_s: number; ratio: number };
}

export interface RelaySectionResult extends LoadResult {
  reconnect: {
    trials: number;
    start_ms: number[];
    reconnect_ms: number[];
    start_median_ms: number;
    reconnect_median_ms: number;
    reconnect_max_ms: number;
  };
}

interface RelayProcess {
  child: ChildProcess;
  url: string;
  httpUrl: string;
  adminToken: string;
  startMs: number;
}

async function startRelay(dataDir: string, configFile: string, port: number): Promise<RelayProcess> {
  const began = performance.now();
  const child = spawnTs('relay-process.ts', [
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--config',
    configFile,
    '--json',
    '--log-level',
    'warn',
  ]);
  const line = await waitForLine(child, (text) => text.startsWith('{'));
  const startMs = performance.now() - began;
  const ready = JSON.parse(line) as { url: string; http_url: string; admin_token_file: string };
  const adminToken = (await readFile(ready.admin_token_file, 'utf8')).trim();
  return { child, url: ready.url, httpUrl: ready.http_url, adminToken, startMs };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function createToken(relay: RelayProcess, body: unknown): Promise<string> {
  const response = await fetch(`${relay.httpUrl}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${relay.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || answer.token === undefined) throw new Error(`POST /v1/tokens: ${response.status} ${answer.error ?? ''}`);
  return answer.token;
}

/** An admin client of the kernel host (its admin token is in its data directory). */
async function adminClient(host: Server, dataDir: string): Promise<AgentOSClient> {
  const client = await AgentOSClient.connect({ socketPath: host.socketPath });
  await client.call('HELLO', { token: (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim() });
  return client;
}

async function tunnelConnectedSince(admin: AgentOSClient): Promise<number | null> {
  const status = (await admin.call('TUNNEL_STATUS')) as { connected?: boolean; connected_since?: number | null };
  return status.connected ? (status.connected_since ?? 0) : null;
}

export async function runRelaySection(context: RelaySectionContext): Promise<RelaySectionResult> {
  const relayDir = join(context.dir, 'relay-server-data');
  const configFile = join(context.dir, 'relay-limits.yaml');
  // Far above the load: the default limits are for untrusted agents, not for a benchmark.
  await writeFile(
    configFile,
    'agent_calls_per_second: 100000\nagent_burst: 1000000\nagent_max_in_flight: 4096\nmax_sessions_per_token: 1000\n',
  );
  let relay = await startRelay(relayDir, configFile, 0);
  const port = Number(new URL(relay.url).port);
  // run.ts's agentHost('relay-kernel') keeps its data here.
  const kernelDir = join(context.dir, 'relay-kernel-data');
  let host: Server | undefined;
  let admin: AgentOSClient | undefined;
  try {
    const machineToken = await createToken(relay, { kind: 'machine', machine_id: MACHINE, label: 'bench' });
    const agentToken = await createToken(relay, { kind: 'agent', machines: [MACHINE], label: 'bench' });
    host = await context.startHost(['--relay', relay.url, '--machine-id', MACHINE, '--machine-token', machineToken]);
    admin = await adminClient(host, kernelDir);
    while ((await tunnelConnectedSince(admin)) === null) await sleep(20);

    context.progress(
      `relay: ${context.samples} sequential NOOPs via the relay vs the socket; ${context.agents} remote agents x ${context.window} in flight vs as many socket clients, ${context.rounds} rounds`,
    );
    const load = await runClient<LoadResult>('relay-load.ts', [
      '--socket',
      host.socketPath,
      '--relay-url',
      relay.url,
      '--machine',
      MACHINE,
      '--token',
      agentToken,
      '--samples',
      String(context.samples),
      '--agents',
      String(context.agents),
      '--window',
      String(context.window),
      '--duration-ms',
      String(context.durationMs),
      '--rounds',
      String(context.rounds),
    ]);

    context.progress(`relay: ${context.reconnects} relay restarts (SIGKILL, same port and data), time until the kernel's tunnel is back`);
    const startMs: number[] = [];
    const reconnectMs: number[] = [];
    for (let trial = 0; trial < context.reconnects; trial++) {
      const before = await tunnelConnectedSince(admin);
      await kill(relay.child);
      relay = await startRelay(relayDir, configFile, port);
      const ready = performance.now();
      startMs.push(round(relay.startMs));
      for (;;) {
        const since = await tunnelConnectedSince(admin);
        if (since !== null && since !== before) break;
        await sleep(5);
      }
      reconnectMs.push(round(performance.now() - ready));
    }
    return {
      ...load,
      reconnect: {
        trials: context.reconnects,
        start_ms: startMs,
        reconnect_ms: reconnectMs,
        start_median_ms: round(median(startMs)),
        reconnect_median_ms: round(median(reconnectMs)),
        reconnect_max_ms: Math.max(...reconnectMs),
      },
    };
  } finally {
    await admin?.close();
    if (host) await context.stopHost(host);
    await kill(relay.child);
  }
}

export function relayRows(result: RelaySectionResult): Row[] {
  const { latency, throughput, reconnect } = result;
  return [
    row(
      'NOOP p50 via the relay (floor: the same SDK on the Unix socket); target is the added time',
      'us',
      latency.local.p50_us,
      latency.remote.p50_us,
      '<= +1 ms',
      latency.added_p50_us <= 1000,
    ),
    row('  NOOP p99 via the relay', 'us', latency.local.p99_us, latency.remote.p99_us, '-', null),
    row(
      `NOOP/s, ${result.agents} remote agents x ${result.window} in flight via one relay (floor: as many socket clients)`,
      '/s',
      throughput.floor_per_s,
      throughput.relay_per_s,
      '>= 20,000/s',
      throughput.relay_per_s >= 20_000,
      throughput.ratio,
    ),
    row(
      'relay restart: ready -> kernel tunnel connected, median (floor: relay start-up)',
      'ms',
      reconnect.start_median_ms,
      reconnect.reconnect_median_ms,
      '<= 2 s',
      reconnect.reconnect_max_ms <= 2000,
    ),
    row('  relay restart, worst of the trials', 'ms', Math.max(...reconnect.start_ms), reconnect.reconnect_max_ms, '-', null),
  ];
}
