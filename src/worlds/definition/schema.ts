/**
 * The schema of a world definition (worlds.md §1). Every object is strict, so a misspelt
 * key is an error rather than a silently ignored setting. Quantities written for people
 * ("30s", "1GB", "200%", "+1m") come out as numbers (ms, bytes, percent), and the shapes
 * the engine branches on (a virtual file's content or generator, a mock's method, host
 * and path) come out already split. Types are inferred from here, never written twice.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { EffectType } from '../chaos/effects.js';
import { EventTime, Percent, PositiveDuration, Size } from './units.js';

// Caps keep one definition's cost bounded: it is parsed inside the kernel.
export const LIMITS = {
  mounts: 64,
  virtualFiles: 10_000,
  contentBytes: 1024 * 1024,
  generatedLines: 100_000,
  hosts: 1000,
  mocks: 1000,
  events: 1000,
  stages: 100,
  latencyMs: 10 * 60 * 1000,
  timeScale: 10_000,
  agents: 10_000,
} as const;

/** A number in [min, max] whose error says exactly that. */
function numberIn(min: number, max: number, options: { int?: boolean; what?: string } = {}) {
  const what = options.what ?? (options.int ? 'a whole number' : 'a number');
  const message =
    max === Number.POSITIVE_INFINITY
      ? `expected ${what} ≥ ${min}`
      : min === 0 && max === 1
        ? `expected ${what} from 0 to 1`
        : `expected ${what} from ${min} to ${max}`;
  const base = z.number({ error: message });
  return (options.int ? base.int({ error: message }) : base).min(min, { error: message }).max(max, { error: message });
}

const Probability = numberIn(0, 1, { what: 'a probability' });
const Milliseconds = numberIn(0, LIMITS.latencyMs);

const Name = z.string({ error: 'expected a name' }).regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, {
  error: 'expected a name of letters, digits, "-" and "_" (at most 64, starting with a letter or digit)',
});

// ---------------------------------------------------------------------------------------
// Filesystem (§2)

const Source = z.string({ error: 'expected a directory path' }).min(1, { error: 'expected a directory path' });

const MirrorMount = z.strictObject({
  type: z.literal('mirror'),
  /** Resolved to an absolute path against the definition's directory by parseWorldDefinition. */
  source: Source,
  /** Writes land in the world's own layer, never in source; false makes the mount read-only. */
  writable: z.boolean({ error: 'expected true or false' }).default(true),
});

const ReadonlyMount = z.strictObject({ type: z.literal('readonly'), source: Source });

/** A relative file path inside a virtual mount: no leading "/", no "." or ".." segments. */
const VirtualFileName = z
  .string({ error: 'expected a file name' })
  .refine((name) => name !== '' && !name.startsWith('/') && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), {
    error: 'expected a relative file path such as "app.log" or "logs/app.log" (no leading "/", no "." or ".." parts)',
  });

const GENERATORS = ['random_logs'] as const;

/**
 * Written flat as in worlds.md (`{name, generator, error_rate}` or `{name, content}`), read
 * as a tagged union so the filesystem never checks which keys happen to be present.
 */
const VirtualFile = z
  .strictObject({
    name: VirtualFileName,
    content: z
      .string({ error: 'expected text' })
      .max(LIMITS.contentBytes, { error: `expected at most ${LIMITS.contentBytes} characters` })
      .optional(),
    generator: z.enum(GENERATORS, { error: `expected one of: ${GENERATORS.join(', ')}` }).optional(),
    /** random_logs: share of ERROR lines. */
    error_rate: Probability.optional(),
    /** random_logs: how many lines. */
    lines: numberIn(1, LIMITS.generatedLines, { int: true }).optional(),
  })
  .superRefine((file, ctx) => {
    if ((file.content === undefined) === (file.generator === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "content" or "generator"' });
    }
    if (file.generator === undefined) {
      for (const key of ['error_rate', 'lines'] as const) {
        if (file[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only allowed with generator: random_logs' });
      }
    }
  })
  .transform((file) =>
    file.generator === undefined
      ? { name: file.name, kind: 'static' as const, content: file.content ?? '' }
      : {
          name: file.name,
          kind: 'generated' as const,
          generator: file.generator,
          error_rate: file.error_rate ?? 0.1,
          lines: file.lines ?? 1000,
        },
  );

const VirtualMount = z.strictObject({
  type: z.literal('virtual'),
  files: z
    .array(VirtualFile, { error: 'expected a list of files' })
    .max(LIMITS.virtualFiles, { error: `expected at most ${LIMITS.virtualFiles} files` })
    .default([])
    .superRefine((files, ctx) => {
      const seen = new Set<string>();
      files.forEach((file, index) => {
        if (seen.has(file.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate file "${file.name}"` });
        seen.add(file.name);
      });
    }),
  writable: z.boolean({ error: 'expected true or false' }).default(true),
});

export const Mount = z.discriminatedUnion('type', [MirrorMount, VirtualMount, ReadonlyMount], {
  error: (issue) =>
    issue.code === 'invalid_union' || issue.code === 'invalid_value' ? 'expected one of: mirror, virtual, readonly' : undefined,
});

/**
 * A mount point must be written in canonical form ("/var/log", not "/var/log/" or
 * "/var/./log"), so two spellings can never name one mount. Mounts may not nest: with
 * "/app" and "/app/logs" every path under /app/logs would belong to two layers, and no
 * precedence rule would be obvious to the person reading the file.
 */
function checkMountPoints(mounts: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const points = Object.keys(mounts);
  if (points.length > LIMITS.mounts) ctx.addIssue({ code: 'custom', message: `expected at most ${LIMITS.mounts} mounts` });
  for (const point of points) {
    const canonical = posix.normalize(point);
    if (!point.startsWith('/')) {
      ctx.addIssue({ code: 'custom', path: [point], message: 'mount point must be an absolute path such as "/app"' });
    } else if (point.split('/').some((part) => part === '..' || part === '.')) {
      ctx.addIssue({ code: 'custom', path: [point], message: 'mount point may not contain "." or ".." parts' });
    } else if (canonical !== point || (point.length > 1 && point.endsWith('/'))) {
      ctx.addIssue({ code: 'custom', path: [point], message: `mount point must be written "${canonical.replace(/(.)\/$/, '$1')}"` });
    }
  }
  for (const inner of points) {
    const outer = points.find((other) => other !== inner && (other === '/' || inner.startsWith(`${other}/`)));
    if (outer) ctx.addIssue({ code: 'custom', path: [inner], message: `mounts may not nest: "${inner}" is inside "${outer}"` });
  }
}

export const Filesystem = z
  .record(z.string(), Mount, { error: 'expected a map of mount points ("/app") to mounts' })
  // `when`: check the mount points even when a mount's body failed, so all problems show at once.
  .superRefine(checkMountPoints, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

// ---------------------------------------------------------------------------------------
// Network (§3)

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;
const PATTERN_HINT = 'expected "METHOD host/path" such as "GET api.internal.test/health" (* globs allowed)';

/** "GET api.test/users/*" → { method, host, path }: split once here, matched many times later. */
const MockPattern = z.string({ error: PATTERN_HINT }).transform((pattern, ctx) => {
  const match = /^([A-Za-z*]+) +([^/\s]+)(\/\S*)?$/.exec(pattern.trim());
  const method = match?.[1]?.toUpperCase();
  if (!match || !METHODS.includes(method as (typeof METHODS)[number])) {
    ctx.addIssue({ code: 'custom', message: `${PATTERN_HINT}; methods: ${METHODS.join(', ')}; got "${pattern}"` });
    return z.NEVER;
  }
  return { pattern, method: method as (typeof METHODS)[number], host: match[2]!.toLowerCase(), path: match[3] ?? '/' };
});

const Host = z
  .string({ error: 'expected a host name' })
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i, {
    error: 'expected a host name such as "api.internal.test" or "*.internal.test"',
  })
  .transform((host) => host.toLowerCase());

export const Mock = z
  .strictObject({
    pattern: MockPattern,
    /** The JSON body of the reply. */
    response: z.json({ error: 'expected a JSON value' }).default(null),
    status: numberIn(100, 599, { int: true, what: 'an HTTP status' }).default(200),
    headers: z
      .record(z.string(), z.string({ error: 'expected a header value (text)' }), { error: 'expected a map of header names to values' })
      .default({}),
    latency_ms: Milliseconds.default(0),
    fail_rate: Probability.default(0),
  })
  .transform(({ pattern, ...mock }) => ({ ...pattern, ...mock }));

export const Network = z.strictObject({
  /** Hosts reached for real when no mock matches; everything else is blocked. */
  allowed_hosts: z.array(Host, { error: 'expected a list of host names' }).max(LIMITS.hosts).default([]),
  mocks: z
    .array(Mock, { error: 'expected a list of mocks' })
    .max(LIMITS.mocks, { error: `expected at most ${LIMITS.mocks} mocks` })
    .default([]),
  base_latency_ms: Milliseconds.default(0),
  jitter_ms: Milliseconds.default(0),
  packet_loss: Probability.default(0),
});

// ---------------------------------------------------------------------------------------
// Events (§4)

/** The chaos effects (one list, src/worlds/chaos/effects.ts) and `heal`, which ends them all. */
export const EVENT_TYPES = [...EffectType.options, 'heal'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * What `value` means per type, and whether it is required. Types absent here take no value.
 * One table, so the checks and the docs (worlds/README.md) cannot drift apart.
 */
export const EVENT_VALUES: Partial<Record<EventType, { unit: string; min: number; max: number }>> = {
  cpu_spike: { unit: 'percent of the world CPU', min: 0, max: 100 },
  memory_pressure: { unit: 'percent of the memory limit', min: 0, max: 100 },
  latency_spike: { unit: 'added ms per request', min: 0, max: LIMITS.latencyMs },
  packet_loss: { unit: 'probability a request is dropped', min: 0, max: 1 },
  slow_io: { unit: 'added ms per file operation', min: 0, max: LIMITS.latencyMs },
  clock_skew: { unit: 'ms added to the world clock (may be negative)', min: -LIMITS.latencyMs * 6, max: LIMITS.latencyMs * 6 },
};

/** Crashes are instant (the supervisor decides what follows), and heal ends effects: no duration. */
const INSTANT: ReadonlySet<EventType> = new Set(['service_crash', 'agent_crash', 'heal']);
const NEEDS_TARGET: ReadonlySet<EventType> = new Set(['service_crash', 'agent_crash']);

const Target = z.string({ error: 'expected an agent or service name' }).min(1, { error: 'expected an agent or service name' });

export const WorldEvent = z
  .strictObject({
    at: EventTime,
    type: z.enum(EVENT_TYPES, { error: `expected one of: ${EVENT_TYPES.join(', ')}` }),
    target: Target.optional(),
    targets: z.array(Target, { error: 'expected a list of names' }).min(1, { error: 'expected at least one target' }).max(100).optional(),
    value: z.number({ error: 'expected a number' }).optional(),
    duration: PositiveDuration.optional(),
    /** With at: random only: the chance it fires in each world minute. */
    probability: Probability.optional(),
    /** Fire again this long after each firing (relative events only). */
    every: PositiveDuration.optional(),
  })
  .superRefine((event, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (event.target !== undefined && event.targets !== undefined) issue('targets', 'give either "target" or "targets", not both');
    if (NEEDS_TARGET.has(event.type) && event.target === undefined && event.targets === undefined) {
      issue('target', `${event.type} needs a "target" (or "targets")`);
    }
    if (event.type === 'heal' && (event.target !== undefined || event.targets !== undefined))
      issue('target', 'heal ends every active effect and takes no target');
    const range = EVENT_VALUES[event.type];
    if (range && event.value === undefined)
      issue('value', `${event.type} needs a "value": ${range.unit}, from ${range.min} to ${range.max}`);
    if (range && event.value !== undefined && (event.value < range.min || event.value > range.max)) {
      issue('value', `expected ${range.unit}, from ${range.min} to ${range.max}`);
    }
    if (!range && event.value !== undefined) issue('value', `${event.type} takes no value`);
    if (INSTANT.has(event.type) && event.duration !== undefined) issue('duration', `${event.type} is instant and takes no duration`);
    if (event.at === 'random' && event.probability === undefined)
      issue('probability', 'at: random needs a "probability" (chance per minute, 0 to 1)');
    if (event.at !== 'random' && event.probability !== undefined) issue('probability', 'only allowed with at: random');
    if (event.at === 'random' && event.every !== undefined)
      issue('every', 'at: random already repeats (each minute); "every" is for "+<duration>" events');
    if (event.every !== undefined && event.every < 1000) issue('every', 'expected a repeat interval of at least 1s');
  });

// ---------------------------------------------------------------------------------------
// Resources and scoring (§5)

/**
 * Absent limits fall back to these defaults, which keep a world's own layer bounded even
 * when its definition forgets to say; memory and CPU, when absent, are the agents' own limits.
 */
export const Resources = z.strictObject({
  memory_limit: Size.optional(),
  cpu_limit: Percent.optional(),
  max_agents: numberIn(1, LIMITS.agents, { int: true }).default(20),
  max_files: numberIn(1, 10_000_000, { int: true }).default(10_000),
  disk_quota: Size.default(256 * 1024 * 1024),
});

const OBJECTIVES = ['uptime', 'response_time', 'errors_handled'] as const;

const Objective = z
  .strictObject({
    name: z.enum(OBJECTIVES, { error: `expected one of: ${OBJECTIVES.join(', ')}` }),
    weight: z.number({ error: 'expected a number above 0' }).positive({ error: 'expected a number above 0' }).max(1000),
    target_ms: numberIn(1, LIMITS.latencyMs).optional(),
  })
  .superRefine((objective, ctx) => {
    if (objective.name === 'response_time' && objective.target_ms === undefined) {
      ctx.addIssue({ code: 'custom', path: ['target_ms'], message: 'response_time needs "target_ms"' });
    }
    if (objective.name !== 'response_time' && objective.target_ms !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['target_ms'], message: 'only allowed for response_time' });
    }
  });

/**
 * Weights are relative: each objective counts weight / sum of weights, so 0.4/0.3/0.3 and
 * 4/3/3 mean the same. `share` is that normalised weight, computed once here.
 */
export const Scoring = z
  .strictObject({
    objectives: z
      .array(Objective, { error: 'expected a list of objectives' })
      .min(1, { error: 'expected at least one objective' })
      .superRefine((objectives, ctx) => {
        const seen = new Set<string>();
        objectives.forEach((objective, index) => {
          if (seen.has(objective.name))
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate objective "${objective.name}"` });
          seen.add(objective.name);
        });
      }),
  })
  .transform(({ objectives }) => {
    const total = objectives.reduce((sum, objective) => sum + objective.weight, 0);
    return { objectives: objectives.map((objective) => ({ ...objective, share: objective.weight / total })) };
  });

// ---------------------------------------------------------------------------------------
// Curriculum (§7, training)

/**
 * One scenario of a curriculum. A stage runs for `duration` of world time with its own
 * events (replacing the world's) and optional network conditions (merged over the world's);
 * the agent moves on when the stage's score reaches `pass_score`. Stages are listed in
 * order of rising difficulty; the order is the curriculum.
 */
export const Stage = z.strictObject({
  name: Name,
  description: z.string({ error: 'expected text' }).default(''),
  duration: PositiveDuration,
  pass_score: numberIn(0, 100, { what: 'a score' }),
  events: z.array(WorldEvent, { error: 'expected a list of events' }).max(LIMITS.events).default([]),
  network: z
    .strictObject({ base_latency_ms: Milliseconds.optional(), jitter_ms: Milliseconds.optional(), packet_loss: Probability.optional() })
    .optional(),
});

// ---------------------------------------------------------------------------------------
// The whole definition

export const WorldDefinition = z
  .strictObject({
    name: Name,
    description: z.string({ error: 'expected text' }).default(''),
    /** Default 0: a definition without a seed is still deterministic, run after run. */
    seed: numberIn(0, 0xffff_ffff, { int: true }).default(0),
    /** World time per real time: 60 runs one world minute per real second. */
    time_scale: z
      .number({ error: `expected a number above 0 and at most ${LIMITS.timeScale}` })
      .positive({ error: `expected a number above 0 and at most ${LIMITS.timeScale}` })
      .max(LIMITS.timeScale, { error: `expected a number above 0 and at most ${LIMITS.timeScale}` })
      .default(1),
    filesystem: Filesystem.default({}),
    network: Network.default(Network.parse({})),
    events: z
      .array(WorldEvent, { error: 'expected a list of events' })
      .max(LIMITS.events, { error: `expected at most ${LIMITS.events} events` })
      .default([]),
    resources: Resources.default(Resources.parse({})),
    scoring: Scoring.optional(),
    curriculum: z
      .array(Stage, { error: 'expected a list of stages' })
      .min(1, { error: 'expected at least one stage' })
      .max(LIMITS.stages, { error: `expected at most ${LIMITS.stages} stages` })
      .optional(),
  })
  .superRefine((world, ctx) => {
    if (world.curriculum && !world.scoring)
      ctx.addIssue({ code: 'custom', path: ['scoring'], message: 'a curriculum needs "scoring" (stages pass on score)' });
    const names = new Set<string>();
    world.curriculum?.forEach((stage, index) => {
      if (names.has(stage.name))
        ctx.addIssue({ code: 'custom', path: ['curriculum', index, 'name'], message: `duplicate stage "${stage.name}"` });
      names.add(stage.name);
    });
  });

/** What a definition file may contain (strings for quantities, defaults omitted). */
export type WorldDefinitionInput = z.input<typeof WorldDefinition>;
/** A validated definition: quantities as numbers, defaults filled, sources still as written. */
export type WorldDefinition = z.output<typeof WorldDefinition>;
export type MountDefinition = z.output<typeof Mount>;
export type VirtualFileDefinition = z.output<typeof VirtualFile>;
export type MockDefinition = z.output<typeof Mock>;
export type NetworkDefinition = z.output<typeof Network>;
export type WorldEventDefinition = z.output<typeof WorldEvent>;
export type ResourcesDefinition = z.output<typeof Resources>;
export type ScoringDefinition = z.output<typeof Scoring>;
export type StageDefinition = z.output<typeof Stage>;
