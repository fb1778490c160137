/** The world network simulator: precedence, blocking, rates, latency, determinism, effects, non-blocking waits, snapshots. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  NetworkConfigError,
  type NetworkConfigInput,
  NetworkSimulator,
  type NetworkSimulatorOptions,
} from '../../src/worlds/network/index.js';
import { WorldRandom } from '../../src/worlds/random.js';

const config: NetworkConfigInput = {
  allowed_hosts: ['api.internal.test', '*.cdn.test'],
  mocks: [
    { pattern: 'GET api.internal.test/users/*', response: { who: 'glob' } },
    { pattern: '* api.internal.test/users/me', response: { who: 'any-method exact' } },
    { pattern: 'GET api.internal.test/users/me', response: { who: 'exact' }, latency_ms: 50 },
    { pattern: 'GET api.internal.test/users/me', response: { who: 'exact, listed second' } },
    { pattern: 'POST api.internal.test/restart', response: 'restarting', status: 202 },
    { pattern: 'GET mock-only.test', response: { anywhere: true } },
  ],
};

class Clock {
  ms = 0;
  now = () => this.ms;
}

function make(input: NetworkConfigInput = config, seed = 42, options: Partial<NetworkSimulatorOptions> = {}) {
  const clock = new Clock();
  const simulator = new NetworkSimulator(input, WorldRandom.fromSeed(seed).fork('network'), { worldName: 'w1', clock, ...options });
  return { simulator, clock };
}

const get = (url: string, agentId = 'a1', agentName?: string) => ({ agentId, agentName, method: 'GET', url });

describe('NetworkSimulator: matching', () => {
  it('exact path beats a glob, a named method beats *, the first listed wins among equals', () => {
    const { simulator } = make();
    const me = simulator.decide(get('https://api.internal.test/users/me'));
    expect(me).toMatchObject({ kind: 'mock', status: 200, body: '{"who":"exact"}', headers: { 'content-type': 'application/json' } });
    expect(simulator.decide(get('https://api.internal.test/users/42'))).toMatchObject({ kind: 'mock', body: '{"who":"glob"}' });
    expect(simulator.decide({ agentId: 'a1', method: 'delete', url: 'https://api.internal.test/users/me' })).toMatchObject({
      kind: 'mock',
      body: '{"who":"any-method exact"}',
    });
  });

  it('matches the method, normalizes host case, trailing dot and port, ignores the query', () => {
    const { simulator } = make();
    expect(simulator.decide({ agentId: 'a', method: 'post', url: 'http://API.Internal.Test.:8443/restart?now=1' })).toMatchObject({
      kind: 'mock',
      status: 202,
      body: 'restarting',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    // GET /restart has no mock, but the host is allowed: passthrough.
    expect(simulator.decide(get('http://api.internal.test/restart')).kind).toBe('passthrough');
  });

  it('a pattern without a path covers every path of its host, allowed or not', () => {
    const { simulator } = make();
    expect(simulator.decide(get('https://mock-only.test/a/b/c')).kind).toBe('mock');
    expect(simulator.decide({ agentId: 'a', method: 'PUT', url: 'https://mock-only.test/' }).kind).toBe('blocked');
  });

  it('passes allowed hosts through (exact and globbed) and blocks everything else, naming the world', () => {
    const { simulator } = make();
    expect(simulator.decide(get('https://api.internal.test/other')).kind).toBe('passthrough');
    expect(simulator.decide(get('https://img.cdn.test/x.png')).kind).toBe('passthrough');
    const blocked = simulator.decide(get('https://evil.test/steal'));
    expect(blocked).toMatchObject({ kind: 'blocked', latency_ms: 0 });
    expect(blocked.kind === 'blocked' && blocked.message).toContain('world "w1"');
    expect(simulator.decide(get('https://cdn.test/')).kind).toBe('blocked'); // *.cdn.test needs a label before
    expect(simulator.decide(get('ftp://api.internal.test/')).kind).toBe('blocked');
    expect(simulator.decide(get('not a url')).kind).toBe('blocked');
    expect(simulator.counters()).toEqual({ intercepted: 6, mocked: 0, passed_through: 2, failed: 0, dropped: 0, blocked: 4 });
  });

  it('refuses bad configs naming the key path', () => {
    const bad = (input: unknown) => () => make(input as NetworkConfigInput);
    expect(bad({ mocks: [{ pattern: 'GET a.test/x' }, { pattern: 'GET a.test/x', latency_ms: 'slow' }] })).toThrow(
      /network\.mocks\[1\]\.latency_ms/,
    );
    expect(bad({ mocks: [{ pattern: 'a.test/x' }] })).toThrow(/network\.mocks\[0\]\.pattern/);
    expect(bad({ mocks: [{ pattern: 'GET a.test/x?y=1' }] })).toThrow(/queries/);
    expect(bad({ allowed_hosts: ['a.test:80'] })).toThrow(/network\.allowed_hosts\[0\]/);
    expect(bad({ packet_loss: 2 })).toThrow(NetworkConfigError);
    expect(bad({ unknown_key: 1 })).toThrow(/unknown_key/);
  });
});

describe('NetworkSimulator: rates, latency, determinism', () => {
  const N = 10_000;
  // Binomial(10 000, p): 5 standard deviations is far beyond chance, yet catches a wrong rate.
  const within = (count: number, p: number) => expect(Math.abs(count - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));

  it('packet loss drops the configured share of requests', () => {
    const { simulator } = make({ allowed_hosts: ['a.test'], packet_loss: 0.1 }, 7);
    for (let i = 0; i < N; i++) simulator.decide(get('https://a.test/'));
    within(simulator.counters().dropped, 0.1);
    expect(simulator.counters().passed_through + simulator.counters().dropped).toBe(N);
  });

  it('fail_rate fails the configured share of mocked requests', () => {
    const { simulator } = make({ mocks: [{ pattern: 'GET a.test/x', fail_rate: 0.25 }] }, 8);
    for (let i = 0; i < N; i++) simulator.decide(get('https://a.test/x'));
    within(simulator.counters().failed, 0.25);
    expect(simulator.counters().mocked + simulator.counters().failed).toBe(N);
  });

  it('latency stays within mock + base ± jitter, clamped at 0, and covers the range', () => {
    const { simulator } = make({ mocks: [{ pattern: 'GET a.test/x', latency_ms: 50 }], base_latency_ms: 20, jitter_ms: 10 }, 9);
    const latencies = Array.from({ length: 2000 }, () => simulator.decide(get('https://a.test/x')).latency_ms);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...latencies)).toBeLessThanOrEqual(80);
    expect(Math.min(...latencies)).toBeLessThan(62);
    expect(Math.max(...latencies)).toBeGreaterThan(78);
    const { simulator: clamped } = make({ allowed_hosts: ['a.test'], base_latency_ms: 5, jitter_ms: 50 }, 9);
    const low = Array.from({ length: 500 }, () => clamped.decide(get('https://a.test/')).latency_ms);
    expect(Math.min(...low)).toBe(0);
  });

  it('two simulators with the same seed and requests decide identically; another seed differs', () => {
    const lossy: NetworkConfigInput = { ...config, packet_loss: 0.2, jitter_ms: 30, base_latency_ms: 10 };
    const run = (seed: number) => {
      const { simulator } = make(lossy, seed);
      const urls = ['https://api.internal.test/users/me', 'https://img.cdn.test/', 'https://evil.test/'];
      return Array.from({ length: 300 }, (_, i) => simulator.decide(get(urls[i % urls.length]!)));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it('effects do not shift the random stream: decisions after heal match a run without effects', () => {
    const input: NetworkConfigInput = { allowed_hosts: ['a.test'], packet_loss: 0.3, jitter_ms: 20 };
    const { simulator: calm } = make(input, 3);
    const { simulator: stormy } = make(input, 3);
    stormy.partition('all');
    for (let i = 0; i < 10; i++) {
      calm.decide(get('https://a.test/'));
      expect(stormy.decide(get('https://a.test/')).kind).toBe('fail');
    }
    stormy.heal();
    for (let i = 0; i < 50; i++) expect(stormy.decide(get('https://a.test/'))).toEqual(calm.decide(get('https://a.test/')));
  });
});

describe('NetworkSimulator: chaos effects', () => {
  it('partitions cut off targets by id or name, or the whole world, until healed or expired', () => {
    const { simulator, clock } = make();
    simulator.partition(['worker-1'], 15_000);
    const cut = simulator.decide(get('https://api.internal.test/users/me', 'id-1', 'worker-1'));
    expect(cut).toMatchObject({ kind: 'fail', error: 'connection_reset', cause: 'partition' });
    expect(cut.kind === 'fail' && cut.message).toContain('world "w1"');
    expect(simulator.decide(get('https://api.internal.test/users/me', 'id-2', 'worker-2')).kind).toBe('mock');
    expect(simulator.decide(get('https://evil.test/', 'worker-1')).kind).toBe('fail'); // by id too, before blocking

    clock.ms = 15_000;
    expect(simulator.decide(get('https://api.internal.test/users/me', 'id-1', 'worker-1')).kind).toBe('mock');
    expect(simulator.effects().partitions).toEqual([]);

    simulator.partition('all');
    expect(simulator.decide(get('https://api.internal.test/users/me', 'anyone')).kind).toBe('fail');
    simulator.heal();
    expect(simulator.decide(get('https://api.internal.test/users/me', 'anyone')).kind).toBe('mock');
    expect(simulator.counters().failed).toBe(3);
  });

  it('latency spikes add up and expire; packet_loss overrides the configured rate until healed', () => {
    const { simulator, clock } = make({ allowed_hosts: ['a.test'], base_latency_ms: 10 });
    simulator.addLatency(100, 1000);
    simulator.addLatency(50);
    expect(simulator.decide(get('https://a.test/')).latency_ms).toBe(160);
    clock.ms = 1000;
    expect(simulator.decide(get('https://a.test/')).latency_ms).toBe(60);

    simulator.setPacketLoss(1);
    const lost = simulator.decide({ ...get('https://a.test/'), timeoutMs: 5000 });
    expect(lost).toMatchObject({ kind: 'fail', error: 'timeout', cause: 'packet_loss', latency_ms: 5000 });
    expect(simulator.decide(get('https://a.test/'))).toMatchObject({ kind: 'fail', latency_ms: 30_000 });
    simulator.heal();
    expect(simulator.decide(get('https://a.test/'))).toEqual({ kind: 'passthrough', latency_ms: 10 });
    expect(simulator.counters().dropped).toBe(2);
    expect(() => simulator.setPacketLoss(1.5)).toThrow(/packet_loss/);
    expect(() => simulator.addLatency(-1)).toThrow(/latency_spike/);
  });
});

describe('NetworkSimulator: simulate', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the latency on timers: two concurrent requests overlap instead of queueing', async () => {
    vi.useFakeTimers();
    const { simulator } = make({ mocks: [{ pattern: 'GET a.test/x', latency_ms: 100, response: { ok: true } }] });
    const done: string[] = [];
    const first = simulator.simulate(get('https://a.test/x', 'a1')).then(() => done.push('a1'));
    const second = simulator.simulate(get('https://a.test/x', 'a2')).then(() => done.push('a2'));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, second]);
    expect(done).toEqual(['a1', 'a2']);
  });

  it('does not block the event loop while a request travels (real timers)', async () => {
    const { simulator } = make({ mocks: [{ pattern: 'GET a.test/x', latency_ms: 30, response: { ok: true } }] });
    const order: string[] = [];
    const pending = simulator.simulate(get('https://a.test/x')).then((decision) => order.push(`response:${decision.kind}`));
    await new Promise((resolve) => setImmediate(resolve));
    order.push('event loop ran');
    await pending;
    expect(order).toEqual(['event loop ran', 'response:mock']);
  });

  it('is cancelled by its signal, and an aborted signal decides nothing', async () => {
    const sleeps: number[] = [];
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((_, reject) => {
        sleeps.push(ms);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    const { simulator } = make({ allowed_hosts: ['a.test'], base_latency_ms: 40 }, 1, { sleep });
    const controller = new AbortController();
    const pending = simulator.simulate(get('https://a.test/'), { signal: controller.signal });
    controller.abort(new Error('agent gave up'));
    await expect(pending).rejects.toThrow('agent gave up');
    expect(sleeps).toEqual([40]);
    await expect(simulator.simulate(get('https://a.test/'), { signal: controller.signal })).rejects.toThrow('agent gave up');
    expect(simulator.counters().intercepted).toBe(1);
  });

  it('returns blocked at once, without a timer', async () => {
    const sleep = vi.fn(async () => {});
    const { simulator } = make(config, 1, { sleep });
    expect((await simulator.simulate(get('https://evil.test/'))).kind).toBe('blocked');
    expect(sleep).not.toHaveBeenCalled();
  });
});

describe('NetworkSimulator: log and state', () => {
  it('logs every request in a bounded ring', () => {
    const { simulator, clock } = make(config, 1, { logCapacity: 3 });
    for (let i = 0; i < 5; i++) {
      clock.ms = i * 10;
      simulator.decide(get(`https://api.internal.test/users/${i}`, 'id', 'worker'));
    }
    const log = simulator.log();
    expect(log.map((entry) => entry.seq)).toEqual([3, 4, 5]);
    expect(log[2]).toEqual({
      seq: 5,
      at_ms: 40,
      agent_id: 'id',
      agent_name: 'worker',
      method: 'GET',
      url: 'https://api.internal.test/users/4',
      kind: 'mock',
      status: 200,
      latency_ms: 0,
    });
    expect(simulator.counters().intercepted).toBe(5);
  });

  it('restores from state() (through JSON) and continues identically with the same random stream', () => {
    const input: NetworkConfigInput = { ...config, packet_loss: 0.2, jitter_ms: 15 };
    const random = WorldRandom.fromSeed(5).fork('network');
    const clock = new Clock();
    const original = new NetworkSimulator(input, random, { worldName: 'w1', clock });
    for (let i = 0; i < 20; i++) original.decide(get('https://api.internal.test/users/me'));
    original.partition(['worker-9'], 60_000);
    original.addLatency(25);

    const saved = JSON.parse(JSON.stringify(original.state()));
    const restored = NetworkSimulator.fromState(input, WorldRandom.fromState(random.state()), saved, { worldName: 'w1', clock });
    expect(restored.state()).toEqual(original.state());
    for (let i = 0; i < 50; i++) {
      const request = get('https://api.internal.test/users/me', i % 5 === 0 ? 'worker-9' : 'x');
      expect(restored.decide(request)).toEqual(original.decide(request));
    }
    expect(restored.state()).toEqual(original.state());
  });

  it('refuses another state version and a malformed state, naming the field', () => {
    const { simulator } = make();
    const state = simulator.state();
    const restore = (value: unknown) => () => NetworkSimulator.fromState(config, WorldRandom.fromSeed(1), value, { worldName: 'w1' });
    expect(restore({ ...state, version: 2 })).toThrow(/version 2 is not supported/);
    expect(restore({ ...state, counters: { ...state.counters, mocked: -1 } })).toThrow(/counters\.mocked/);
  });
});
