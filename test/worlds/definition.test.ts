import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkSources,
  loadWorld,
  PRESET_NAMES,
  parseDuration,
  parsePercent,
  parseSize,
  parseWorldDefinition,
  validateWorldDefinition,
  type WorldDefinition,
  WorldDefinitionError,
} from '../../src/worlds/definition/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-worlds-'));
  await mkdir(join(dir, 'my-application'));
  await mkdir(join(dir, 'configs', 'production'), { recursive: true });
  await writeFile(join(dir, 'a-file'), 'not a directory');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SPEC_EXAMPLE = `
name: chaos-production
description: "Simulated production with chaos events"
seed: 42
filesystem:
  /app:
    type: mirror
    source: ./my-application/
    writable: true
  /var/log:
    type: virtual
    files:
      - name: app.log
        generator: random_logs
        error_rate: 0.1
  /etc/config:
    type: readonly
    source: ./configs/production/
network:
  allowed_hosts: [api.internal.test, db.internal.test]
  mocks:
    - pattern: "GET api.internal.test/health"
      response: { status: healthy }
      latency_ms: 50
    - pattern: "POST api.internal.test/restart"
      response: { success: true }
      fail_rate: 0.1
  base_latency_ms: 20
  jitter_ms: 10
  packet_loss: 0.01
events:
  - at: "+30s"
    type: service_crash
    target: worker-1
  - at: "+1m"
    type: cpu_spike
    value: 95
    duration: 30s
  - at: "+2m"
    type: network_partition
    targets: [worker-1, worker-2]
    duration: 15s
  - at: "+3m"
    type: memory_pressure
    value: 90
  - at: random
    type: disk_full
    probability: 0.05
resources:
  memory_limit: 1GB
  cpu_limit: 200%
  max_agents: 20
  max_files: 10000
  disk_quota: 5GB
scoring:
  objectives:
    - name: uptime
      weight: 0.4
    - name: response_time
      target_ms: 100
      weight: 0.3
    - name: errors_handled
      weight: 0.3
`;

function parse(text: string, params?: Record<string, string>): WorldDefinition {
  return parseWorldDefinition(text, { baseDir: dir, ...(params ? { params } : {}) });
}

/** The problems of a definition that must fail, as `path: message` lines. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorldDefinitionError);
    return (error as WorldDefinitionError).problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
  }
  throw new Error('expected the definition to be refused');
}

/** A minimal definition plus `extra` (YAML lines at the top level). */
const withTop = (extra: string) => `name: w\n${extra}`;

describe('parseWorldDefinition: the worlds.md §1 example', () => {
  it('parses every section into numbers, tagged unions and absolute sources', () => {
    const world = parse(SPEC_EXAMPLE);
    expect(world.name).toBe('chaos-production');
    expect(world.seed).toBe(42);
    expect(world.time_scale).toBe(1);
    expect(world.filesystem['/app']).toEqual({ type: 'mirror', source: join(dir, 'my-application'), writable: true });
    expect(world.filesystem['/etc/config']).toEqual({ type: 'readonly', source: join(dir, 'configs', 'production') });
    expect(world.filesystem['/var/log']).toEqual({
      type: 'virtual',
      writable: true,
      files: [{ name: 'app.log', kind: 'generated', generator: 'random_logs', error_rate: 0.1, lines: 1000 }],
    });
    expect(world.network.allowed_hosts).toEqual(['api.internal.test', 'db.internal.test']);
    expect(world.network.mocks[0]).toEqual({
      pattern: 'GET api.internal.test/health',
      method: 'GET',
      host: 'api.internal.test',
      path: '/health',
      response: { status: 'healthy' },
      status: 200,
      headers: {},
      latency_ms: 50,
      fail_rate: 0,
    });
    expect(world.network.mocks[1]).toMatchObject({ method: 'POST', path: '/restart', fail_rate: 0.1, latency_ms: 0 });
    expect(world.network).toMatchObject({ base_latency_ms: 20, jitter_ms: 10, packet_loss: 0.01 });
    expect(world.events.map((e) => e.at)).toEqual([30_000, 60_000, 120_000, 180_000, 'random']);
    expect(world.events[1]).toMatchObject({ type: 'cpu_spike', value: 95, duration: 30_000 });
    expect(world.events[2]).toMatchObject({ targets: ['worker-1', 'worker-2'], duration: 15_000 });
    expect(world.events[4]).toMatchObject({ type: 'disk_full', probability: 0.05 });
    expect(world.resources).toEqual({ memory_limit: 2 ** 30, cpu_limit: 200, max_agents: 20, max_files: 10_000, disk_quota: 5 * 2 ** 30 });
    expect(world.scoring?.objectives.map((o) => o.share)).toEqual([0.4, 0.3, 0.3]);
  });

  it('fills defaults for a definition that gives only a name', () => {
    const world = parse('name: empty');
    expect(world).toEqual({
      name: 'empty',
      description: '',
      seed: 0,
      time_scale: 1,
      filesystem: {},
      network: { allowed_hosts: [], mocks: [], base_latency_ms: 0, jitter_ms: 0, packet_loss: 0 },
      events: [],
      resources: { max_agents: 20, max_files: 10_000, disk_quota: 256 * 2 ** 20 },
    });
  });

  it('reads JSON too, and validates an object given directly (WORLD_CREATE)', () => {
    expect(parse('{"name": "j", "seed": 3}').seed).toBe(3);
    const world = validateWorldDefinition({ name: 'o', filesystem: { '/src': { type: 'mirror', source: 'sub' } } }, { baseDir: '/base' });
    expect(world.filesystem['/src']).toEqual({ type: 'mirror', source: '/base/sub', writable: true });
  });
});

describe('parseWorldDefinition: field by field', () => {
  it('virtual files: static content, generator options, nested relative names', () => {
    const world = parse(
      withTop(`filesystem:
  /data:
    type: virtual
    writable: false
    files:
      - { name: a.txt, content: hello }
      - { name: logs/b.log, generator: random_logs, lines: 5 }`),
    );
    expect(world.filesystem['/data']).toEqual({
      type: 'virtual',
      writable: false,
      files: [
        { name: 'a.txt', kind: 'static', content: 'hello' },
        { name: 'logs/b.log', kind: 'generated', generator: 'random_logs', error_rate: 0.1, lines: 5 },
      ],
    });
  });

  it('mocks: status, headers, globs, any method, bare host', () => {
    const world = parse(
      withTop(`network:
  mocks:
    - { pattern: "* API.test/users/*", status: 404, headers: { x-a: b }, response: [1, 2] }
    - { pattern: "delete api.test" }`),
    );
    expect(world.network.mocks[0]).toMatchObject({
      method: '*',
      host: 'api.test',
      path: '/users/*',
      status: 404,
      headers: { 'x-a': 'b' },
      response: [1, 2],
    });
    expect(world.network.mocks[1]).toMatchObject({ method: 'DELETE', path: '/', response: null });
  });

  it('events: every, heal, value per type, clock_skew below zero', () => {
    const world = parse(
      withTop(`events:
  - { at: "+1h30m", type: latency_spike, value: 200, duration: 1m, every: 2h }
  - { at: "+0s", type: heal }
  - { at: "+5s", type: clock_skew, value: -5000 }
  - { at: "+5s", type: packet_loss, value: 0.5 }`),
    );
    expect(world.events[0]).toMatchObject({ at: 5_400_000, every: 7_200_000, duration: 60_000 });
    expect(world.events[1]).toEqual({ at: 0, type: 'heal' });
    expect(world.events[2]?.value).toBe(-5000);
  });

  it('scoring weights are relative and normalised into share', () => {
    const world = parse(withTop(`scoring:\n  objectives:\n    - { name: uptime, weight: 3 }\n    - { name: errors_handled, weight: 1 }`));
    expect(world.scoring?.objectives.map((o) => o.share)).toEqual([0.75, 0.25]);
  });

  it('resources accept bytes and bare percentages', () => {
    const world = parse(withTop(`resources: { memory_limit: 1048576, cpu_limit: 50, disk_quota: 1.5GB }`));
    expect(world.resources).toMatchObject({ memory_limit: 2 ** 20, cpu_limit: 50, disk_quota: 1.5 * 2 ** 30 });
  });

  it('curriculum stages with their own events and network', () => {
    const world = parse(
      withTop(`scoring: { objectives: [{ name: uptime, weight: 1 }] }
curriculum:
  - { name: easy, duration: 1m, pass_score: 50 }
  - name: hard
    duration: 2m
    pass_score: 90
    network: { packet_loss: 0.2 }
    events: [{ at: "+10s", type: agent_crash, target: a }]`),
    );
    expect(world.curriculum?.map((s) => [s.name, s.duration, s.pass_score, s.events.length])).toEqual([
      ['easy', 60_000, 50, 0],
      ['hard', 120_000, 90, 1],
    ]);
    expect(world.curriculum?.[1]?.network).toEqual({ packet_loss: 0.2 });
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${PARAM} placeholder
  it('substitutes ${NAME} parameters in string values', () => {
    const world = parse(withTop(`filesystem:\n  /p: { type: readonly, source: "\${ROOT}/x" }`), { ROOT: '/abs' });
    expect(world.filesystem['/p']).toEqual({ type: 'readonly', source: '/abs/x' });
  });
});

describe('parseWorldDefinition: bad input names the problem and its path', () => {
  it('invalid YAML, with line and column', () => {
    const [problem] = problemsOf(() => parse('name: w\nnetwork: [1, 2\n'));
    expect(problem).toMatch(/^invalid YAML: line \d+, column \d+: /);
    expect(problemsOf(() => parse('name: a\nname: b'))[0]).toMatch(/^invalid YAML: line 2, column 1: .*unique/i);
  });

  it('a document that is not a mapping', () => {
    expect(problemsOf(() => parse('- a\n- b'))).toEqual(['expected a mapping of keys (name, filesystem, network, ...)']);
    expect(problemsOf(() => parse(''))).toEqual(['expected a mapping of keys (name, filesystem, network, ...)']);
  });

  it('wrong types, reported all at once', () => {
    const problems = problemsOf(() =>
      parse(withTop(`seed: "x"\ntime_scale: fast\nnetwork:\n  mocks:\n    - { pattern: "GET a.test/", latency_ms: "50" }`)),
    );
    expect(problems).toEqual([
      'seed: expected a whole number from 0 to 4294967295',
      'time_scale: expected a number above 0 and at most 10000',
      'network.mocks[0].latency_ms: expected a number from 0 to 600000',
    ]);
  });

  it('a missing name', () => {
    expect(problemsOf(() => parse('seed: 1'))).toEqual(['name: expected a name']);
  });

  it('unknown keys, at every level, at their own path', () => {
    expect(
      problemsOf(() =>
        parse(
          withTop(`colour: red
network: { mocks: [{ pattern: "GET a.test/x", latncy_ms: 3 }] }
filesystem: { /a: { type: virtual, files: [{ name: f, content: x, mode: 1 }] } }
events: [{ at: "+1s", type: heal, when: now }]`),
        ),
      ),
    ).toEqual([
      // zod reports an object's unknown keys after its fields' problems.
      'filesystem["/a"].files[0].mode: unknown key',
      'network.mocks[0].latncy_ms: unknown key',
      'events[0].when: unknown key',
      'colour: unknown key',
    ]);
  });

  it('negative latencies', () => {
    expect(
      problemsOf(() => parse(withTop(`network:\n  base_latency_ms: -1\n  mocks:\n    - { pattern: "GET a.test/", latency_ms: -5 }`))),
    ).toEqual([
      'network.mocks[0].latency_ms: expected a number from 0 to 600000',
      'network.base_latency_ms: expected a number from 0 to 600000',
    ]);
  });

  it('probabilities over 1', () => {
    expect(
      problemsOf(() =>
        parse(
          withTop(`network:
  packet_loss: 1.5
  mocks: [{ pattern: "GET a.test/", fail_rate: 2 }]
events: [{ at: random, type: disk_full, probability: 1.01 }]
filesystem: { /l: { type: virtual, files: [{ name: a, generator: random_logs, error_rate: 3 }] } }`),
        ),
      ),
    ).toEqual([
      'filesystem["/l"].files[0].error_rate: expected a probability from 0 to 1',
      'network.mocks[0].fail_rate: expected a probability from 0 to 1',
      'network.packet_loss: expected a probability from 0 to 1',
      'events[0].probability: expected a probability from 0 to 1',
    ]);
  });

  it('events at an unparseable time, bad durations and type rules', () => {
    expect(
      problemsOf(() =>
        parse(
          withTop(`events:
  - { at: soon, type: heal }
  - { at: "+5x", type: heal }
  - { at: 30, type: heal }
  - { at: "+1s", type: cpu_spike, value: 95, duration: 30 }
  - { at: "+1s", type: explode }
  - { at: "+1s", type: service_crash }
  - { at: "+1s", type: cpu_spike, value: 150 }
  - { at: random, type: disk_full }
  - { at: "+1s", type: disk_full, probability: 0.1 }
  - { at: "+1s", type: agent_crash, target: a, duration: 1s }`),
        ),
      ),
    ).toEqual([
      'events[0].at: expected "+<duration>" such as "+30s" or "+1h30m", or "random", got "soon"',
      'events[1].at: expected a duration such as "500ms", "30s", "1m" or "1h30m", got "5x"',
      'events[2].at: expected "+<duration>" such as "+30s" or "+1h30m", or "random"',
      'events[3].duration: expected a duration such as "500ms", "30s", "1m" or "1h30m"',
      'events[4].type: expected one of: service_crash, agent_crash, network_partition, latency_spike, packet_loss, cpu_spike, memory_pressure, disk_full, disk_fail, slow_io, file_corruption, clock_skew, heal',
      'events[5].target: service_crash needs a "target" (or "targets")',
      'events[6].value: expected percent of the world CPU, from 0 to 100',
      'events[7].probability: at: random needs a "probability" (chance per minute, 0 to 1)',
      'events[8].probability: only allowed with at: random',
      'events[9].duration: agent_crash is instant and takes no duration',
    ]);
  });

  it('mount points: relative, non-canonical, "..", nested; mount types and files', () => {
    expect(
      problemsOf(() =>
        parse(
          withTop(`filesystem:
  app: { type: virtual }
  /var/log/: { type: virtual }
  /a/../b: { type: virtual }
  /srv: { type: virtual }
  /srv/data: { type: virtual }
  /x: { type: tmpfs }
  /y: { type: virtual, files: [{ name: ../escape, content: "" }, { name: f }, { name: g, content: a, generator: random_logs }] }
  /z: { type: virtual, files: [{ name: f, content: a, lines: 3 }, { name: f, content: b }] }`),
        ),
      ),
    ).toEqual([
      'filesystem["/x"].type: expected one of: mirror, virtual, readonly',
      'filesystem["/y"].files[0].name: expected a relative file path such as "app.log" or "logs/app.log" (no leading "/", no "." or ".." parts)',
      'filesystem["/y"].files[1]: expected exactly one of "content" or "generator"',
      'filesystem["/y"].files[2]: expected exactly one of "content" or "generator"',
      'filesystem["/z"].files[0].lines: only allowed with generator: random_logs',
      'filesystem["/z"].files[1].name: duplicate file "f"',
      'filesystem.app: mount point must be an absolute path such as "/app"',
      'filesystem["/var/log/"]: mount point must be written "/var/log"',
      'filesystem["/a/../b"]: mount point may not contain "." or ".." parts',
      'filesystem["/srv/data"]: mounts may not nest: "/srv/data" is inside "/srv"',
    ]);
  });

  it('mocks: malformed patterns and statuses', () => {
    expect(
      problemsOf(() =>
        parse(withTop(`network: { mocks: [{ pattern: "FETCH a.test/x" }, { pattern: "GET" }, { pattern: "GET a/", status: 700 }] }`)),
      ),
    ).toEqual([
      'network.mocks[0].pattern: expected "METHOD host/path" such as "GET api.internal.test/health" (* globs allowed); methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, *; got "FETCH a.test/x"',
      'network.mocks[1].pattern: expected "METHOD host/path" such as "GET api.internal.test/health" (* globs allowed); methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, *; got "GET"',
      'network.mocks[2].status: expected an HTTP status from 100 to 599',
    ]);
  });

  it('resources and scoring', () => {
    expect(
      problemsOf(() =>
        parse(
          withTop(`resources: { memory_limit: 1XB, cpu_limit: "-5%", max_agents: 0, disk_quota: 0 }
scoring: { objectives: [{ name: uptime, weight: 0 }, { name: response_time, weight: 1 }, { name: uptime, weight: 1, target_ms: 5 }] }`),
        ),
      ),
    ).toEqual([
      'resources.memory_limit: expected a size such as "512MB", "1GB" or a number of bytes, got "1XB"',
      'resources.cpu_limit: expected a percentage such as "50%" or "200%", got "-5%"',
      'resources.max_agents: expected a whole number from 1 to 10000',
      'resources.disk_quota: expected a size above 0 and at most 1PB, got 0',
      'scoring.objectives[0].weight: expected a number above 0',
      'scoring.objectives[1].target_ms: response_time needs "target_ms"',
      'scoring.objectives[2].target_ms: only allowed for response_time',
      'scoring.objectives[2].name: duplicate objective "uptime"',
    ]);
  });

  it('a curriculum without scoring, and a missing parameter', () => {
    expect(problemsOf(() => parse(withTop(`curriculum: [{ name: s, duration: 1m, pass_score: 101 }]`)))).toEqual([
      'curriculum[0].pass_score: expected a score from 0 to 100',
      'scoring: a curriculum needs "scoring" (stages pass on score)',
    ]);
    expect(problemsOf(() => parse(withTop(`curriculum: [{ name: s, duration: 1m, pass_score: 50 }]`)))).toEqual([
      'scoring: a curriculum needs "scoring" (stages pass on score)',
    ]);
    expect(problemsOf(() => parse(withTop(`filesystem: { /p: { type: readonly, source: "\${SRC}" } }`)))).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${PARAM} placeholder
      'filesystem["/p"].source: parameter ${SRC} is not set (pass it in params)',
    ]);
  });

  it('the error message lists every problem', () => {
    expect(() => parse(withTop('seed: -1\ncolour: red'))).toThrow(
      'invalid world definition:\n  seed: expected a whole number from 0 to 4294967295\n  colour: unknown key',
    );
  });
});

describe('checkSources', () => {
  it('accepts existing directories', async () => {
    await expect(checkSources(parse(SPEC_EXAMPLE))).resolves.toBeUndefined();
  });

  it('names the mount whose source is missing or is a file', async () => {
    const world = parse(
      withTop(
        `filesystem:\n  /gone: { type: mirror, source: ./nope }\n  /file: { type: readonly, source: a-file }\n  /v: { type: virtual }`,
      ),
    );
    const error = await checkSources(world).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorldDefinitionError);
    expect((error as WorldDefinitionError).problems).toEqual([
      { path: 'filesystem["/file"].source', message: `${join(dir, 'a-file')} is a file, expected a directory` },
      { path: 'filesystem["/gone"].source', message: `${join(dir, 'nope')} does not exist` },
    ]);
  });
});

describe('units', () => {
  it('durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s250ms')).toBe(90_250);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('7d')).toMatchObject({ error: expect.stringContaining('got "7d"') });
    expect(parseDuration('169h')).toMatchObject({ error: expect.stringContaining('at most 7 days') });
    expect(parseDuration('30s1m')).toMatchObject({ error: expect.stringContaining('largest first') });
    expect(parseDuration('1s1s')).toMatchObject({ error: expect.stringContaining('largest first') });
    for (const bad of ['', '30', 's', '-1s', '1 s', '1.s']) expect(parseDuration(bad)).toHaveProperty('error');
  });

  it('sizes (binary multiples)', () => {
    expect(parseSize('1GB')).toBe(2 ** 30);
    expect(parseSize('1gib')).toBe(2 ** 30);
    expect(parseSize('512 MB')).toBe(512 * 2 ** 20);
    expect(parseSize('10k')).toBe(10_240);
    expect(parseSize('100')).toBe(100);
    expect(parseSize('2TB')).toBe(2 * 2 ** 40);
    expect(parseSize('2048TB')).toHaveProperty('error');
    for (const bad of ['', 'GB', '1XB', '-1GB', '1e3']) expect(parseSize(bad)).toHaveProperty('error');
  });

  it('percentages', () => {
    expect(parsePercent('200%')).toBe(200);
    expect(parsePercent('12.5 %')).toBe(12.5);
    for (const bad of ['200', '%', '-1%', 'x%']) expect(parsePercent(bad)).toHaveProperty('error');
  });
});

describe('loadWorld', () => {
  it('loads and validates every shipped preset', async () => {
    for (const name of PRESET_NAMES) {
      const world = await loadWorld(name, { params: { SOURCE: dir } });
      expect(world.name).toBe(name);
    }
  });

  it('presets match worlds.md §7', async () => {
    const dev = await loadWorld('dev');
    expect(Object.values(dev.filesystem).every((m) => m.type === 'virtual')).toBe(true);
    expect(dev.network.allowed_hosts).toEqual([]);
    expect(dev.time_scale).toBeGreaterThan(1);
    expect((await loadWorld('staging')).network.mocks.length).toBeGreaterThan(0);
    const chaos = await loadWorld('chaos');
    expect(chaos.events.some((e) => e.at === 'random')).toBe(true);
    expect(chaos.network.packet_loss).toBeGreaterThan(0);
    const shadow = await loadWorld('shadow', { params: { SOURCE: dir } });
    expect(shadow.filesystem['/project']).toEqual({ type: 'readonly', source: dir });
    expect((await loadWorld('benchmark')).scoring).toBeDefined();
    const training = await loadWorld('training');
    const passScores = training.curriculum?.map((s) => s.pass_score) ?? [];
    expect(passScores.length).toBeGreaterThan(2);
    expect([...passScores].sort((a, b) => a - b)).toEqual(passScores);
  });

  it('shadow without SOURCE says which parameter is missing', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${PARAM} placeholder
    await expect(loadWorld('shadow')).rejects.toThrow('filesystem["/project"].source: parameter ${SOURCE} is not set');
  });

  it('an unknown preset lists the known ones', async () => {
    await expect(loadWorld('nope')).rejects.toThrow(/unknown preset "nope"; presets: .*chaos.*training/);
  });

  it('loads a file by path, resolving its sources against its own directory, and checks them', async () => {
    await writeFile(join(dir, 'w.yaml'), SPEC_EXAMPLE);
    const world = await loadWorld('w.yaml', { cwd: dir });
    expect(world.filesystem['/app']).toMatchObject({ source: join(dir, 'my-application') });
    await writeFile(join(dir, 'bad.yaml'), withTop(`filesystem: { /m: { type: mirror, source: ./missing } }`));
    await expect(loadWorld(join(dir, 'bad.yaml'))).rejects.toThrow(`filesystem["/m"].source: ${join(dir, 'missing')} does not exist`);
    await expect(loadWorld(join(dir, 'bad.yaml'), { checkSources: false })).resolves.toMatchObject({ name: 'w' });
    await expect(loadWorld(join(dir, 'absent.yaml'))).rejects.toThrow('absent.yaml does not exist');
    await expect(loadWorld(`${dir}/`)).rejects.toThrow('is a directory, expected a YAML or JSON file');
  });
});
