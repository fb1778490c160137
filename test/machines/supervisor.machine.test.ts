import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, waitFor } from 'xstate';
import { agentMachine, type RunCommand, type RunInput } from '../../src/machines/agent.machine.js';
import { type SupervisedChild, supervisorMachine } from '../../src/machines/supervisor.machine.js';
import { SupervisorFlags } from '../../src/supervision/spec.js';

/** A fake run: started at once; the test ends it with `crash(id)` or it ends when signalled. */
function harness() {
  const runs = new Map<string, { sendBack: (e: unknown) => void; signals: string[] }>();
  const starts: string[] = [];
  const run = fromCallback<RunCommand, RunInput>(({ input, sendBack, receive }) => {
    const entry = { sendBack: sendBack as (e: unknown) => void, signals: [] as string[] };
    runs.set(input.childId, entry);
    starts.push(input.childId);
    sendBack({ type: 'run.started', pid: null });
    receive((command) => {
      entry.signals.push(command.signal);
      if (command.signal === 'SIGTERM' || command.signal === 'SIGKILL') {
        queueMicrotask(() => sendBack({ type: 'run.exited', exitCode: null, signal: command.signal }));
      }
    });
  });
  const agent = agentMachine.provide({ actors: { run } });
  const machine = supervisorMachine.provide({ actors: { agent } });
  return {
    machine,
    starts,
    crash(id: string, exitCode = 1) {
      runs.get(id)?.sendBack({ type: 'run.exited', exitCode, signal: null });
    },
  };
}

const child = (id: string, restart: SupervisedChild['restart'] = 'permanent'): SupervisedChild => ({
  childId: id,
  agentId: 0,
  type: 'worker',
  restart,
  shutdown: 1000,
  backoff: { initial_ms: 0, max_ms: 0, factor: 1, jitter: 0, reset_after_ms: 60_000 },
  launch: null,
});

function start(h: ReturnType<typeof harness>, strategy: string, children: SupervisedChild[], intensity = 10) {
  const flags = SupervisorFlags.parse({ strategy, intensity, period: 5 });
  const actor = createActor(h.machine, { input: { name: 'test', agentId: 0, flags, children } });
  const emitted: string[] = [];
  actor.on('*', (e) => emitted.push(e.type));
  actor.start();
  return { actor, emitted };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
/** Poll until `done()` holds: restarts pass through timers, and a loaded machine is slow. */
async function until(done: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
/** The slots a supervisor holds (kept in its context, not in XState's children map). */
const slots = (actor: AnyActorRef): Map<string, { ref: AnyActorRef }> => actor.getSnapshot().context.byId;
const stateOf = (actor: AnyActorRef, id: string) => slots(actor).get(id)?.ref.getSnapshot().value;

describe('supervisor machine', () => {
  it('starts children in order', () => {
    const h = harness();
    start(h, 'one_for_one', [child('a'), child('b'), child('c')]);
    expect(h.starts).toEqual(['a', 'b', 'c']);
  });

  it('one_for_one restarts only the failed child', async () => {
    const h = harness();
    const { actor } = start(h, 'one_for_one', [child('a'), child('b'), child('c')]);
    h.crash('b');
    await until(() => h.starts.length === 4);
    expect(h.starts).toEqual(['a', 'b', 'c', 'b']);
    expect(stateOf(actor, 'b')).toEqual({ alive: 'running' });
  });

  it('one_for_all stops the others in reverse order and restarts all in order', async () => {
    const h = harness();
    const { actor } = start(h, 'one_for_all', [child('a'), child('b'), child('c')]);
    h.crash('b');
    await until(() => h.starts.length === 6);
    expect(h.starts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(actor.getSnapshot().value).toBe('supervising');
  });

  it('rest_for_one restarts the failed child and those after it', async () => {
    const h = harness();
    start(h, 'rest_for_one', [child('a'), child('b'), child('c')]);
    h.crash('b');
    await until(() => h.starts.length === 5);
    expect(h.starts).toEqual(['a', 'b', 'c', 'b', 'c']);
  });

  it('a temporary child is forgotten, a transient one restarted only after a crash', async () => {
    const h = harness();
    const { actor, emitted } = start(h, 'one_for_one', [child('t', 'temporary'), child('n', 'transient'), child('m', 'transient')]);
    h.crash('t');
    h.crash('n', 0);
    h.crash('m', 3);
    await settle();
    expect(h.starts).toEqual(['t', 'n', 'm', 'm']);
    expect([...slots(actor).keys()]).toEqual(['m']);
    expect(emitted.filter((t) => t === 'supervisor.childRemoved')).toHaveLength(2);
  });

  it('more than intensity restarts within the period escalates after stopping every child', async () => {
    const h = harness();
    const { actor, emitted } = start(h, 'one_for_one', [child('a'), child('b')], 1);
    h.crash('a');
    await settle();
    h.crash('a');
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.value).toBe('escalated');
    expect(done.output).toMatchObject({ escalated: true });
    expect(emitted).toContain('supervisor.escalated');
  });

  it('a child with its own window escalates alone', async () => {
    const h = harness();
    const own = { ...child('x'), window: { intensity: 0, period: 5 } };
    const { actor, emitted } = start(h, 'simple_one_for_one', [own], 0);
    h.crash('x');
    await settle();
    expect(actor.getSnapshot().status).toBe('active');
    expect([...slots(actor).keys()]).toEqual([]);
    expect(emitted).toEqual(expect.arrayContaining(['supervisor.escalated', 'supervisor.childRemoved']));
  });

  it('stop shuts children down in reverse order and ends stopped', async () => {
    const h = harness();
    const { actor } = start(h, 'one_for_one', [child('a'), child('b'), child('c')]);
    const order: string[] = [];
    for (const id of ['a', 'b', 'c']) {
      slots(actor)
        .get(id)
        ?.ref.on('agent.exited', () => order.push(id));
    }
    actor.send({ type: 'supervisor.stop' });
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.value).toBe('stopped');
    expect(order).toEqual(['c', 'b', 'a']);
  });

  it('terminateChild stops a permanent child for good', async () => {
    const h = harness();
    const { actor } = start(h, 'one_for_one', [child('a'), child('b')]);
    actor.send({ type: 'supervisor.terminateChild', childId: 'a' });
    await settle();
    expect([...slots(actor).keys()]).toEqual(['b']);
    expect(h.starts).toEqual(['a', 'b']);
  });

  it('auto_shutdown any_significant: a significant child ending by itself ends the supervisor', async () => {
    const h = harness();
    const flags = SupervisorFlags.parse({ strategy: 'one_for_one', intensity: 10, period: 5, auto_shutdown: 'any_significant' });
    const significant = { ...child('s', 'transient'), significant: true };
    const actor = createActor(h.machine, { input: { name: 'auto', agentId: 0, flags, children: [child('a'), significant] } }).start();
    h.crash('s', 0);
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.value).toBe('stopped');
    expect(done.output).toEqual({ escalated: false });
  });

  it('auto_shutdown all_significant waits for the last significant child', async () => {
    const h = harness();
    const flags = SupervisorFlags.parse({ strategy: 'one_for_one', intensity: 10, period: 5, auto_shutdown: 'all_significant' });
    const one = { ...child('s1', 'temporary'), significant: true };
    const two = { ...child('s2', 'temporary'), significant: true };
    const actor = createActor(h.machine, { input: { name: 'auto', agentId: 0, flags, children: [child('a'), one, two] } }).start();
    h.crash('s1', 0);
    await settle();
    expect(actor.getSnapshot().status).toBe('active');
    h.crash('s2', 1);
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.value).toBe('stopped');
  });
});
