// A supervision subtree: kernel.supervise({ name, strategy, intensity, period, children })
// builds an OTP supervisor under the kernel's `agents` supervisor. Here one_for_all: when
// `flaky` crashes, `store` is stopped too (reverse order) and both start again (in order).
// Run: node --import tsx examples/agents/run.ts subtree
import { fromPromise } from 'xstate';
import type { Kernel } from '../../src/index.js';

/** Stays up until stopped. */
const store = fromPromise<void>(({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())));

/** Crashes 50 ms into its first run; stays up after that. */
function flakyOnce() {
  let runs = 0;
  return fromPromise<void>(
    ({ signal }) =>
      new Promise<void>((resolve, reject) => {
        if (++runs === 1) setTimeout(() => reject(new Error('flaky: lost its connection')), 50);
        signal.addEventListener('abort', () => resolve());
      }),
  );
}

export async function runSubtreeExample(kernel: Kernel, say: (line: string) => void, showTree: () => Promise<void>): Promise<void> {
  const seen: string[] = [];
  let restarted!: () => void;
  const bothBack = new Promise<void>((resolve) => {
    restarted = resolve;
  });
  const off = kernel.events.on((event) => {
    const name = String(event.data.name ?? '');
    if (!name.startsWith('pipeline.')) return;
    const child = name.slice('pipeline.'.length);
    if (event.type === 'AGENT_SPAWNED') seen.push(`${child} started`);
    if (event.type === 'AGENT_EXITED') seen.push(`${child} exited (${event.data.reason})`);
    if (event.type === 'AGENT_RESTARTING') seen.push(`${child} restarting`);
    if (event.type === 'AGENT_SPAWNED' && event.data.restarts === 1 && child === 'flaky') restarted();
  });
  const handle = await kernel.supervise({
    name: 'pipeline',
    strategy: 'one_for_all',
    intensity: 3,
    period: 10,
    backoff: { initial_ms: 10 },
    children: [
      { id: 'store', actor: store },
      { id: 'flaky', restart: 'permanent', actor: flakyOnce() },
    ],
  });
  say(`[subtree] supervisor agent ${handle.id} "pipeline" (one_for_all) with children store, flaky`);
  await bothBack;
  say(`[subtree] ${seen.join(', ')}`);
  await showTree();
  await handle.stop();
  off();
  say(`[subtree] stopped: ${seen.slice(-2).join(', ')}`);
}
