/**
 * The kernel under test: `startKernel` in this process, exactly as the CLI starts it,
 * plus the bench side channel (event-loop delay on request over the IPC channel, see
 * lib/eld-channel.ts). Runs from the TypeScript sources through tsx.
 *
 * Two more side-channel commands, idle unless asked (crash-storm.ts's second storm, which
 * needs the in-kernel API because SPAWN carries no backoff):
 *   storm.start {agents, script}  `kernel.supervise()` of `agents` process children running
 *                                 `sh script`, one_for_one, backoff 0, intensity 100,000/s
 *   storm.stop                    SIGKILL the subtree; answers the restarts it made
 *
 * Usage: node --import tsx bench/kernel-host.ts --socket PATH --data-dir DIR [--state-durability process|power]
 *        [--permission-checks off] [--relay URL --machine-id ID --machine-token TOKEN (the tunnel, at start)]
 * Prints `kernel ready socket=PATH` once the socket accepts connections.
 */
import { performance } from 'node:perf_hooks';
import type { AgentHandle } from '../src/agents/code-api.js';
import { startKernel } from '../src/kernel/kernel.js';
import { need, parseArgs } from './lib/agnt.js';
import { installSideChannel } from './lib/eld-channel.js';

const args = parseArgs(process.argv.slice(2));
const kernel = await startKernel({
  socketPath: need(args, 'socket'),
  dataDir: need(args, 'data-dir'),
  httpPort: 0,
  logLevel: 'warn',
  ...(args['state-durability'] ? { stateDurability: args['state-durability'] as 'process' | 'power' } : {}),
  // Only to measure what the checks cost (the perms section): every agent is unrestricted then.
  ...(args['permission-checks'] === 'off' ? { permissionChecks: false } : {}),
  ...(args.relay ? { tunnel: { relayUrl: args.relay, machineId: need(args, 'machine-id'), token: need(args, 'machine-token') } } : {}),
});
process.stdout.write(`kernel ready socket=${kernel.socketPath} http=${kernel.httpUrl ?? 'off'}\n`);

let storm: { handle: AgentHandle; off: () => void; restarts: number; began: number } | undefined;
installSideChannel(() => kernel.stop(), {
  'storm.start': async (arg) => {
    if (storm) throw new Error('a storm is already running');
    const { agents, script } = arg as { agents: number; script: string };
    const counting = { restarts: 0 };
    // Counted only while the storm runs: no listener on the bus otherwise.
    const off = kernel.events.on((event) => {
      if (event.type === 'AGENT_RESTARTING') counting.restarts++;
    });
    const began = performance.now();
    const handle = await kernel.supervise({
      name: 'bench-storm',
      strategy: 'one_for_one',
      intensity: 100_000,
      period: 1,
      backoff: { initial_ms: 0 },
      children: Array.from({ length: agents }, (_, i) => ({ id: `crash-${i}`, process: { script, interpreter: 'sh' } })),
    });
    storm = {
      handle,
      off,
      began,
      get restarts() {
        return counting.restarts;
      },
    };
    return { agent_id: handle.id, start_ms: Math.round(performance.now() - began) };
  },
  'storm.stop': async () => {
    if (!storm) throw new Error('no storm is running');
    const { handle, off } = storm;
    const restarts = storm.restarts;
    const seconds = (performance.now() - storm.began) / 1000;
    storm = undefined;
    const t0 = performance.now();
    await handle.stop({ signal: 'SIGKILL', graceMs: 0 });
    off();
    const left = kernel.agents().filter((agent) => agent.name?.startsWith('bench-storm')).length;
    return { restarts, restarts_per_s: Math.round(restarts / seconds), stop_ms: Math.round(performance.now() - t0), agents_left: left };
  },
});
const onSignal = () => {
  kernel.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
