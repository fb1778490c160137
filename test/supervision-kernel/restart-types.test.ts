/**
 * Restart types against the three kinds of exit, with real in-kernel actors: permanent
 * is always restarted, transient only after a crash, temporary never. The same rules hold
 * for a subtree's children and for agents started with kernel.spawn, and SPAWN's
 * restart_policy (always, on-failure, never) maps onto them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdminToken } from '../../src/kernel/admin-token.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import type { RestartType } from '../../src/supervision/index.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, idOf, NO_BACKOFF, Puppets, until } from './support.js';

let kernel: TestKernel;
let events: EventLog;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
});
afterAll(async () => {
  events.close();
  await kernel.cleanup();
});

type Exit = 'normal' | 'crash' | 'shutdown';
const RESTART_TYPES: RestartType[] = ['permanent', 'transient', 'temporary'];

/** OTP's table (sup_princ.md, `restart`). */
const RESTARTED: Record<RestartType, Record<Exit, boolean>> = {
  permanent: { normal: true, crash: true, shutdown: true },
  transient: { normal: false, crash: true, shutdown: false },
  temporary: { normal: false, crash: false, shutdown: false },
};

/** End the current run of `label` (agent `agentId`) the way `exit` says. */
function end(puppets: Puppets, label: string, agentId: number, exit: Exit): void {
  if (exit === 'normal') puppets.finish(label);
  else if (exit === 'crash') puppets.crash(label);
  else {
    // Stopped on purpose without being removed: the supervisor sees a `shutdown` exit.
    const slot = kernel.agents().find((agent) => agent.id === agentId)?.runtime?.slot;
    if (!slot) throw new Error(`agent ${agentId} has no slot`);
    slot.send({ type: 'agent.stop' });
  }
}

/** Wait until the agent has either started again or been forgotten; say which. */
async function outcome(agentId: number): Promise<'restarted' | 'forgotten'> {
  await until(
    () => events.of('AGENT_SPAWNED', agentId).length === 2 || !kernel.agents().some((agent) => agent.id === agentId),
    `agent ${agentId} restarted or forgotten`,
  );
  return events.of('AGENT_SPAWNED', agentId).length === 2 ? 'restarted' : 'forgotten';
}

describe.each(['normal', 'crash', 'shutdown'] as const)('a %s exit', (exit) => {
  it(`of a subtree child: ${RESTART_TYPES.map((t) => `${t} ${RESTARTED[t][exit] ? 'restarted' : 'not restarted'}`).join(', ')}`, async () => {
    const puppets = new Puppets();
    const name = `types-${exit}`;
    const handle = await kernel.supervise({
      name,
      strategy: 'one_for_one',
      intensity: 10,
      backoff: NO_BACKOFF,
      children: RESTART_TYPES.map((restart) => ({ id: restart, restart, actor: puppets.actor(restart) })),
    });
    await until(() => RESTART_TYPES.every((t) => puppets.running(t)), 'children running');
    for (const restart of RESTART_TYPES) {
      const id = idOf(kernel, `${name}.${restart}`);
      end(puppets, restart, id, exit);
      expect(await outcome(id), `${restart} child after a ${exit} exit`).toBe(RESTARTED[restart][exit] ? 'restarted' : 'forgotten');
      expect(events.of('AGENT_EXITED', id)[0]?.data.reason).toBe(exit);
    }
    // One child's exit never touched its siblings (one_for_one): only the stopped child itself saw a stop.
    expect(puppets.entries('stop')).toEqual(exit === 'shutdown' ? RESTART_TYPES : []);
    await handle.stop();
  });

  it(`of a kernel.spawn agent follows the same table`, async () => {
    const puppets = new Puppets();
    for (const restart of RESTART_TYPES) {
      const label = `spawned-${restart}-${exit}`;
      const handle = await kernel.spawn(puppets.actor(label), { name: label, restart, backoff: NO_BACKOFF });
      await until(() => puppets.running(label), `${label} running`);
      end(puppets, label, handle.id, exit);
      const result = await outcome(handle.id);
      expect(result, `${restart} agent after a ${exit} exit`).toBe(RESTARTED[restart][exit] ? 'restarted' : 'forgotten');
      if (result === 'restarted') {
        // Same id, same name.
        expect(events.of('AGENT_SPAWNED', handle.id).map((e) => [e.data.name, e.data.restarts])).toEqual([
          [label, 0],
          [label, 1],
        ]);
        await handle.stop();
      }
      expect(kernel.agents().some((agent) => agent.id === handle.id)).toBe(false);
    }
  });
});

describe('restart types under a strategy', () => {
  it('a temporary sibling stopped by one_for_all is not started again; the others are', async () => {
    const puppets = new Puppets();
    const handle = await kernel.supervise({
      name: 'temp-sibling',
      strategy: 'one_for_all',
      backoff: NO_BACKOFF,
      children: [
        { id: 'a', actor: puppets.actor('a') },
        { id: 'tmp', restart: 'temporary', actor: puppets.actor('tmp') },
        { id: 'c', restart: 'transient', actor: puppets.actor('c') },
      ],
    });
    await until(() => ['a', 'tmp', 'c'].every((label) => puppets.running(label)), 'children running');
    const [a, tmp, c] = ['a', 'tmp', 'c'].map((label) => idOf(kernel, `temp-sibling.${label}`)) as [number, number, number];
    puppets.clear();
    puppets.crash('a');
    await events.wait('AGENT_SPAWNED', c, 2);
    expect(puppets.journal).toEqual(['crash:a', 'stop:c', 'stop:tmp', 'start:a', 'start:c']);
    expect(events.of('AGENT_SPAWNED', a)).toHaveLength(2);
    expect(events.of('AGENT_SPAWNED', tmp)).toHaveLength(1);
    expect(kernel.agents().some((agent) => agent.id === tmp)).toBe(false);
    await handle.stop();
  });

  it('a permanent agent stopped through its handle (or KILL) ends for good', async () => {
    const puppets = new Puppets();
    const handle = await kernel.spawn(puppets.actor('killed'), { name: 'killed', restart: 'permanent', backoff: NO_BACKOFF });
    await until(() => puppets.running('killed'), 'running');
    // Not its descendant: KILL needs the admin token.
    const token = await readAdminToken(kernel.options.dataDir);
    const client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'killer' }), token: token ?? null });
    const { agent_id } = (await client.call('KILL', { name: 'killed' })) as { agent_id: number };
    expect(agent_id).toBe(handle.id);
    expect(kernel.agents().some((agent) => agent.id === handle.id)).toBe(false);
    expect(events.of('AGENT_RESTARTING', handle.id)).toEqual([]);
    expect(events.of('AGENT_EXITED', handle.id).map((e) => e.data.reason)).toEqual(['shutdown']);
    await client.close();
  });
});

describe("SPAWN's restart_policy", () => {
  it('always, on-failure and never are permanent, transient and temporary for process agents', async () => {
    // Exits with the code given as its first argument, after a moment.
    const script = join(kernel.dir, 'exit-with.mjs');
    await writeFile(script, 'setTimeout(() => process.exit(Number(process.argv[3])), 150);\n');
    const admin = await AgentOSClient.connect({ connection: kernel.connect({ name: 'spawner', level: 'unrestricted' }) });
    const cases = [
      { policy: 'always', code: 0, restarted: true },
      { policy: 'always', code: 1, restarted: true },
      { policy: 'on-failure', code: 0, restarted: false },
      { policy: 'on-failure', code: 1, restarted: true },
      { policy: 'never', code: 0, restarted: false },
      { policy: 'never', code: 1, restarted: false },
    ] as const;
    const spawned = await Promise.all(
      cases.map(async ({ policy, code }) => {
        const reply = (await admin.call('SPAWN', {
          name: `policy-${policy}-${code}`,
          script,
          args: [String(code)],
          restart_policy: policy,
          max_restarts: 3,
        })) as { agent_id: number; restart_policy: string };
        expect(reply.restart_policy).toBe(policy);
        return reply.agent_id;
      }),
    );
    const results = await Promise.all(spawned.map((id) => outcome(id)));
    expect(results).toEqual(cases.map((c) => (c.restarted ? 'restarted' : 'forgotten')));
    for (const [index, id] of spawned.entries()) {
      expect(events.of('AGENT_EXITED', id)[0]?.data.reason).toBe(cases[index]!.code === 0 ? 'normal' : 'crash');
      if (results[index] === 'restarted') await admin.call('KILL', { id, signal: 'SIGKILL' });
    }
    await admin.close();
  });
});
