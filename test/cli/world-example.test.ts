/**
 * examples/chaos-sre end to end, as its README runs it (shorter): two workers and the SRE
 * agent in the chaos-sre world, through `agentos world run`. The score must be earned:
 * crashes fire and are recovered, requests are timed, and the SRE agent restarts the service.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { type CliRun, ROOT, runCli } from './run-cli.js';

const EXAMPLE = join(ROOT, 'examples', 'chaos-sre');

let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted' });
});

afterAll(async () => {
  await kernel?.cleanup();
});

function agentos(args: string[]): Promise<CliRun> {
  return runCli(args, { timeoutMs: 120_000 });
}

interface Report {
  score: { total: number; objectives: { name: string; score: number; detail: Record<string, number> }[] };
  timeline: { type: string; kind: string; target?: string }[];
  agents: { name: string; exits: number; restarts: number }[];
}

it('the SRE agent keeps api.svc.test up through crashes and partitions, for a score that is earned', async () => {
  const run = await agentos([
    'world',
    'run',
    join(EXAMPLE, 'world.yaml'),
    '--agent',
    `worker-1=${join(EXAMPLE, 'worker.ts')}`,
    '--agent',
    `worker-2=${join(EXAMPLE, 'worker.ts')}`,
    '--agent',
    `sre=${join(EXAMPLE, 'sre.ts')}`,
    '--duration',
    '10s',
    '--score',
    '--json',
    '--socket',
    kernel.socketPath,
    '--data-dir',
    kernel.options.dataDir,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout) as Report;
  const objective = (name: string) => report.score.objectives.find((o) => o.name === name);
  expect(report.score.objectives.map((o) => o.name)).toEqual(['uptime', 'response_time', 'errors_handled']);
  // Ten real seconds at ×60: the crash at +1m and the partition at +3m have fired.
  expect(report.timeline).toContainEqual(expect.objectContaining({ kind: 'fired', type: 'service_crash', target: 'worker-1' }));
  expect(report.timeline).toContainEqual(expect.objectContaining({ kind: 'fired', type: 'network_partition' }));
  expect(report.agents.find((agent) => agent.name === 'worker-1')?.restarts).toBeGreaterThan(0);
  expect(objective('errors_handled')?.detail.crashes_recovered).toBeGreaterThan(0);
  expect(objective('response_time')?.detail.requests).toBeGreaterThan(5);
  // Earned, not given: chaos cost something, and the agents recovered most of it.
  expect(report.score.total).toBeGreaterThan(30);
  expect(report.score.total).toBeLessThan(100);
}, 150_000);
