/**
 * WorldScorer with a driven clock: uptime from members going down and up, response_time
 * against target_ms, errors_handled from crashes and failed requests that later succeed,
 * weights, no-scoring worlds, and its state continuing identically.
 */
import { describe, expect, it } from 'vitest';
import { validateWorldDefinition } from '../../src/worlds/definition/index.js';
import type { RequestLogEntry } from '../../src/worlds/network/index.js';
import { WorldScorer } from '../../src/worlds/scoring.js';

const scoring = validateWorldDefinition(
  {
    name: 'scored',
    scoring: {
      objectives: [
        { name: 'uptime', weight: 2 },
        { name: 'response_time', target_ms: 100, weight: 1 },
        { name: 'errors_handled', weight: 1 },
      ],
    },
  },
  { baseDir: '/' },
).scoring;

let seq = 0;
function request(fields: Partial<RequestLogEntry>): RequestLogEntry {
  seq++;
  return {
    seq,
    at_ms: 0,
    agent_id: '1',
    method: 'GET',
    url: 'http://api.test/health',
    kind: 'mock',
    status: 200,
    latency_ms: 50,
    ...fields,
  };
}

function driven() {
  const clock = { ms: 0 };
  return { clock, scorer: new WorldScorer(scoring, () => clock.ms) };
}

const objective = (scorer: WorldScorer, name: string) => scorer.score()?.objectives.find((entry) => entry.name === name);

describe('WorldScorer', () => {
  it('uptime is the share of member time spent running; a crash lowers it until the restart', () => {
    const { clock, scorer } = driven();
    expect(objective(scorer, 'uptime')?.score).toBe(100); // nothing measured yet
    scorer.join(1);
    scorer.join(2);
    clock.ms = 1000;
    scorer.crashed(1);
    clock.ms = 2000;
    expect(objective(scorer, 'uptime')).toMatchObject({ score: 75, detail: { down_now: [1], up_ms: 3000, tracked_ms: 4000 } });
    scorer.up(1);
    clock.ms = 4000;
    // 1: up 3000 of 4000; 2: 4000 of 4000.
    expect(objective(scorer, 'uptime')?.score).toBe(87.5);
    scorer.leave(2);
    clock.ms = 8000;
    // 2's time stays counted after it leaves: (7000 + 4000) / (8000 + 4000).
    expect(objective(scorer, 'uptime')?.score).toBeCloseTo((11 / 12) * 100, 1);
    // An exit reported by the kernel counts the same; down twice is still down once.
    scorer.down(1);
    scorer.down(1);
    clock.ms = 10_000;
    expect(objective(scorer, 'uptime')?.detail).toMatchObject({ up_ms: 11_000, tracked_ms: 14_000 });
  });

  it('response_time: min(1, target / latency) per request, failures 0; blocked calls are not timed', () => {
    const { scorer } = driven();
    scorer.request(request({ latency_ms: 50 })); // 1
    scorer.request(request({ latency_ms: 200 })); // 0.5
    scorer.request(request({ kind: 'fail', error: 'connection_reset', latency_ms: 10 })); // 0
    scorer.request(request({ kind: 'passthrough', latency_ms: 0 })); // 1
    scorer.request(request({ kind: 'blocked', latency_ms: 0 }));
    expect(objective(scorer, 'response_time')).toMatchObject({ score: 62.5, detail: { requests: 4, target_ms: 100, mean_latency_ms: 65 } });
  });

  it('errors_handled: crashes recovered by a restart, failed requests by a later success to the same host', () => {
    const { scorer } = driven();
    scorer.join(1);
    scorer.crashed(1);
    expect(objective(scorer, 'errors_handled')).toMatchObject({ score: 0, detail: { failures: 1, recovered: 0 } });
    scorer.up(1);
    scorer.request(request({ kind: 'fail', error: 'timeout', url: 'http://db.test/q' }));
    scorer.request(request({ kind: 'fail', error: 'timeout', url: 'http://db.test/q' }));
    scorer.request(request({ url: 'http://api.test/other' })); // another host: no recovery
    scorer.request(request({ agent_id: '2', url: 'http://db.test/q' })); // another agent: none either
    expect(objective(scorer, 'errors_handled')).toMatchObject({ detail: { failures: 3, recovered: 1 } });
    scorer.request(request({ url: 'http://db.test/again' }));
    expect(objective(scorer, 'errors_handled')).toMatchObject({
      score: 100,
      detail: { failures: 3, recovered: 3, crashes_recovered: 1, requests_recovered: 2 },
    });
  });

  it('the total weighs each objective by its normalised weight; no scoring means no score', () => {
    const { clock, scorer } = driven();
    scorer.join(1);
    clock.ms = 1000;
    scorer.down(1);
    clock.ms = 2000; // uptime 50
    scorer.request(request({ latency_ms: 200 })); // response 50
    const score = scorer.score();
    expect(score?.objectives.map((entry) => [entry.name, entry.share])).toEqual([
      ['uptime', 0.5],
      ['response_time', 0.25],
      ['errors_handled', 0.25],
    ]);
    expect(score?.total).toBe(0.5 * 50 + 0.25 * 50 + 0.25 * 100);
    expect(new WorldScorer(undefined, () => 0).score()).toBeNull();
  });

  it('its state continues identically', () => {
    const { clock, scorer } = driven();
    scorer.join(1);
    scorer.request(request({ kind: 'fail', error: 'timeout' }));
    clock.ms = 500;
    scorer.crashed(1);
    const copy = new WorldScorer(scoring, () => clock.ms, JSON.parse(JSON.stringify(scorer.state())));
    for (const each of [scorer, copy]) {
      each.up(1);
      each.request(request({ latency_ms: 400 }));
    }
    clock.ms = 2000;
    expect(copy.score()).toEqual(scorer.score());
    expect(copy.state()).toEqual(scorer.state());
    expect(() => new WorldScorer(scoring, () => 0, { ...scorer.state(), targets: 'x' } as never)).toThrow();
  });
});
