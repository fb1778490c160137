/**
 * The FleetHub of the real relay (src/relay/fleet/hub.ts): deploy and stop settled by the
 * kernel peer's answers, TIMEOUT and MACHINE_OFFLINE, the deployments table, machine
 * views and removal, and shutdown as peers see it.
 */
import { afterEach, describe, expect, it } from 'vitest';

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import { cleanup, connectAgent, connectKernel, startTestRelay } from './server-helpers.js';

afterEach(cleanup);

describe('relay server: fleet hub', () => {
  it("deploys through the kernel's deploy_result and records it; stop marks it stopped", async () => {
    const { relay, machineToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const spec = { name: 'crawler', script: "print('hi')", filename: 'crawler.py', args: ['--fast'], ceiling: { can_network: true } };
    const pending = relay.hub.deploy('laptop-1', spec, 5000);
    const deploy = await kernel.next('deploy');
    expect(deploy).toEqual({ type: 'deploy', request_id: expect.any(Number), ...spec });
    kernel.send({ type: 'deploy_result', request_id: deploy.request_id, ok: true, name: 'crawler', agent_id: 1042 });
    expect(await pending).toEqual({ ok: true, agent_id: 1042 });
    expect(relay.hub.deployments()).toEqual([{ machine_id: 'laptop-1', name: 'crawler', agent_id: 1042, deployed_at: expect.any(Number) }]);
    expect(relay.hub.machine('laptop-1')).toMatchObject({ deployments: 1 });

    const refused = relay.hub.deploy('laptop-1', { name: 'crawler', script: 'x' }, 5000);
    const second = await kernel.next('deploy');
    expect(second.request_id).not.toBe(deploy.request_id);
    kernel.send({
      type: 'deploy_result',
      request_id: second.request_id,
      ok: false,
      code: 'CONFLICT',
      error: 'an agent named "crawler" is running',
    });
    expect(await refused).toEqual({ ok: false, code: 'CONFLICT', error: 'an agent named "crawler" is running' });

    const stopping = relay.hub.stop('laptop-1', 'crawler', 5000);
    const stop = await kernel.next('stop');
    expect(stop).toEqual({ type: 'stop', request_id: expect.any(Number), name: 'crawler' });
    // An answer of the wrong kind for that request is dropped.
    kernel.send({ type: 'deploy_result', request_id: stop.request_id, ok: true, name: 'crawler', agent_id: 1 });
    kernel.send({ type: 'stop_result', request_id: stop.request_id, ok: true, name: 'crawler' });
    expect(await stopping).toEqual({ ok: true });
    expect(relay.hub.deployments()).toEqual([]);
    expect(relay.hub.status()).toMatchObject({ deployments: 0, machines_known: 1, machines_online: 1 });
  });

  it("forgets a deployment the kernel reports ended (deployment_ended), and on a link's report of what runs", async () => {
    const { relay, machineToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const deployed = async (name: string, agentId: number) => {
      const pending = relay.hub.deploy('laptop-1', { name, script: 'x' }, 5000);
      const deploy = await kernel.next('deploy');
      kernel.send({ type: 'deploy_result', request_id: deploy.request_id, ok: true, name, agent_id: agentId });
      expect(await pending).toEqual({ ok: true, agent_id: agentId });
    };
    await deployed('one-shot', 7);
    await deployed('keeper', 8);
    await deployed('gone', 9);
    // A report about another agent of the same name changes nothing.
    kernel.send({ type: 'deployment_ended', name: 'one-shot', agent_id: 70 });
    kernel.send({ type: 'deployment_ended', name: 'one-shot', agent_id: 7 });
    await eventually(() => relay.hub.deployments().length === 2);
    expect(relay.hub.deployments().map((d) => d.name)).toEqual(['keeper', 'gone']);
    // What the kernel runs when it links (again): anything else is marked stopped.
    kernel.send({ type: 'deployments', agents: [{ name: 'keeper', agent_id: 8 }] });
    await eventually(() => relay.hub.deployments().length === 1);
    expect(relay.hub.deployments()).toEqual([{ machine_id: 'laptop-1', name: 'keeper', agent_id: 8, deployed_at: expect.any(Number) }]);
  });

  it('answers TIMEOUT when the kernel is silent, and MACHINE_OFFLINE when unlinked or when the link drops', async () => {
    const { relay, machineToken } = await startTestRelay();
    expect(await relay.hub.deploy('nas', { name: 'a', script: 'x' }, 5000)).toMatchObject({ ok: false, code: 'MACHINE_OFFLINE' });
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    expect(await relay.hub.stop('laptop-1', 'a', 100)).toEqual({
      ok: false,
      code: 'TIMEOUT',
      error: 'machine "laptop-1" did not answer the stop of "a" within 100 ms',
    });
    const pending = relay.hub.deploy('laptop-1', { name: 'a', script: 'x' }, 5000);
    await kernel.next('deploy');
    kernel.ws.terminate();
    expect(await pending).toMatchObject({ ok: false, code: 'MACHINE_OFFLINE' });
    expect(relay.hub.deployments()).toEqual([]);
  });

  it('lists machines online first, with their sessions, and removes one (tokens revoked, link closed)', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const gone = await connectKernel(relay, 'a-old', machineToken('a-old'));
    gone.ws.close();
    await gone.closed;
    await connectKernel(relay, 'b-live', machineToken('b-live'));
    machineToken('b-live');
    const { session } = await connectAgent(relay, 'b-live', agentToken(['b-live']).token, 'worker');
    // The close is seen by the relay asynchronously.
    while (relay.hub.onlineMachines().includes('a-old')) await new Promise((r) => setTimeout(r, 5));
    expect(relay.hub.machines().map((m) => [m.machine_id, m.online, m.sessions])).toEqual([
      ['b-live', true, 1],
      ['a-old', false, 0],
    ]);
    expect(relay.hub.sessions('b-live')).toEqual([
      {
        session,
        machine_id: 'b-live',
        name: 'worker',
        token_id: expect.any(String),
        connected_since: expect.any(Number),
        calls: 0,
        in_flight: 0,
      },
    ]);
    expect(relay.hub.removeMachine('b-live')).toEqual({ tokens_revoked: 2, link_closed: true });
    expect(relay.hub.machine('b-live')).toBeUndefined();
    expect(relay.hub.removeMachine('nope')).toBeUndefined();
    expect(relay.hub.status()).toMatchObject({ machines_known: 1, machines_online: 0, sessions: 0 });
  });

  it('shuts down: agents get SHUTTING_DOWN after their kernel hears relay_shutdown; kernels close with 1001', async () => {
    const { relay, machineToken, agentToken } = await startTestRelay();
    const kernel = await connectKernel(relay, 'laptop-1', machineToken('laptop-1'));
    const { agent, session } = await connectAgent(relay, 'laptop-1', agentToken('*').token);
    const pending = relay.hub.deploy('laptop-1', { name: 'a', script: 'x' }, 5000);
    await relay.close();
    expect(await agent.next('error')).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect((await agent.closed).code).toBe(1001);
    expect(await kernel.next('session_close')).toEqual({ type: 'session_close', session, reason: 'relay_shutdown' });
    expect((await kernel.closed).code).toBe(1001);
    expect(await pending).toMatchObject({ ok: false, code: 'SHUTTING_DOWN' });
  });
});
