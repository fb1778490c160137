/**
 * End to end with real processes, the links breaking: the relay killed and restarted on
 * its port and data dir (the kernel's tunnel and the remote agent come back by themselves),
 * the kernel restarted (remote calls fail with MACHINE_OFFLINE meanwhile, then work), and
 * one agent flooding under the relay's default limits while another's calls go through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOSError } from '../../src/sdk/errors.js';
import type { RemoteAgentClient } from '../../src/sdk/remote-client.js';
import {
  agentToken,
  eventually,
  type KernelProcess,
  type RelayProcess,
  remoteAgent,
  restartRelayProcess,
  startKernelProcess,
  startRelayProcess,
  stopAll,
  waitForTunnel,
} from './support.js';

const MACHINE = 'e2e-nas';

let relay: RelayProcess;
let kernel: KernelProcess;

beforeAll(async () => {
  relay = await startRelayProcess();
  kernel = await startKernelProcess({ relay, machineId: MACHINE });
}, 120_000);

afterAll(async () => {
  await stopAll();
}, 60_000);

/** The code a call fails with, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (!(error instanceof AgentOSError)) throw error;
    return error.code;
  }
}

describe('rate limits', () => {
  it("limits a flooding agent with RATE_LIMITED while another agent's calls go through", async () => {
    const { token } = await agentToken(relay, [MACHINE]);
    const flooder = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-flooder' });
    const calm = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-calm' });
    // Default limits: 50 calls/s, a burst of 100, 64 in flight.
    const flood = Promise.all(Array.from({ length: 400 }, (_, i) => outcome(flooder.fetch(`f${i}`))));
    const calmOutcomes: string[] = [];
    for (let i = 0; i < 10; i++) calmOutcomes.push(await outcome(calm.fetch(`c${i}`)));
    const floodOutcomes = await flood;
    expect(floodOutcomes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThan(0);
    expect(new Set(floodOutcomes)).toEqual(new Set(['ok', 'RATE_LIMITED']));
    expect(calmOutcomes).toEqual(Array(10).fill('ok'));
    // A rate-limited call is answered, not dropped: the flooder's link is still fine.
    expect(flooder.state).toBe('connected');
  });
});

describe('links that break', () => {
  let agent: RemoteAgentClient;

  beforeAll(async () => {
    const { token } = await agentToken(relay, [MACHINE]);
    agent = await remoteAgent(relay, { token, machineId: MACHINE, name: 'e2e-survivor' });
    await agent.store('before', 1);
  });

  it('the relay killed and restarted on the same port and data dir: the kernel and the agent come back by themselves', async () => {
    const before = await kernel.tunnelStatus();
    await relay.stop('SIGKILL');
    relay = await restartRelayProcess(relay);
    const status = await waitForTunnel(kernel, before.reconnects + 1);
    expect(status.reconnects).toBeGreaterThanOrEqual(1);
    // The agent's token lives in the relay's database, so the same client authenticates again.
    await eventually(async () => (await outcome(agent.fetch('before'))) === 'ok', 'a remote call to work again');
    expect(agent.state).toBe('connected');
  });

  it('the kernel restarted: remote calls fail with MACHINE_OFFLINE meanwhile, and work once it is back', async () => {
    const { dir, machineToken } = kernel;
    await kernel.stop();
    await eventually(async () => (await outcome(agent.fetch('k'))) === 'MACHINE_OFFLINE', 'MACHINE_OFFLINE while the kernel is down');
    kernel = await startKernelProcess({ relay, machineId: MACHINE, machineToken, dir });
    await eventually(async () => (await outcome(agent.fetch('k'))) === 'ok', 'a remote call to work again');
    // A new session is a new remote agent; the client learns its id again.
    const admin = await kernel.admin();
    await eventually(
      async () => (await admin.tunnelRemotes()).remotes.some((r) => r.agent_id === agent.agentId && r.session === agent.session),
      'the client to know its new agent id',
    );
  });
});
