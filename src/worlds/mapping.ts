/**
 * From a validated world definition to the configs of the modules a world is made of.
 * The definition is written for people (mock patterns pre-split, quantities as numbers,
 * `at: "+30s"`); each module takes its own plain shape. These functions only reshape:
 * every value was checked by the definition's schema already.
 */
import type { WorldDefinition, WorldEventDefinition } from './definition/index.js';
import type { MountConfigInput, WorldFsLimits } from './fs/index.js';
import type { NetworkConfigInput } from './network/index.js';
import type { ScheduledEventSpec } from './scheduler.js';

/** The filesystem's mount table: the definition's map of mount points becomes a list. */
export function fsMounts(definition: WorldDefinition): MountConfigInput[] {
  return Object.entries(definition.filesystem).map(([path, mount]): MountConfigInput => {
    if (mount.type === 'mirror') return { path, type: 'mirror', source: mount.source, writable: mount.writable };
    if (mount.type === 'readonly') return { path, type: 'readonly', source: mount.source };
    return {
      path,
      type: 'virtual',
      writable: mount.writable,
      files: mount.files.map((file) =>
        file.kind === 'static'
          ? { name: file.name, content: file.content }
          : { name: file.name, generator: file.generator, options: { lines: file.lines, error_rate: file.error_rate } },
      ),
    };
  });
}

export function fsLimits(definition: WorldDefinition): WorldFsLimits {
  return { maxFiles: definition.resources.max_files, diskQuota: definition.resources.disk_quota };
}

/** The simulator matches patterns itself, so only the pattern text goes on (the split parts were for checking). */
export function networkConfig(definition: WorldDefinition): NetworkConfigInput {
  const { mocks, ...rest } = definition.network;
  return {
    ...rest,
    mocks: mocks.map(({ pattern, response, status, headers, latency_ms, fail_rate }) => ({
      pattern,
      response,
      status,
      headers,
      latency_ms,
      fail_rate,
    })),
  };
}

/** A scheduled `heal` (the scheduler knows effects only; the world runs these itself). */
export interface ScheduledHeal {
  at_ms: number;
  every_ms?: number | undefined;
  /** The index in the definition's `events`, for messages. */
  index: number;
}

/**
 * The definition's `events` split into the scheduler's specs and the scheduled heals.
 * `at: random` heals are returned apart: they are not run yet.
 */
export function chaosSpecs(events: readonly WorldEventDefinition[]): {
  specs: ScheduledEventSpec[];
  heals: ScheduledHeal[];
  randomHeals: number[];
} {
  const specs: ScheduledEventSpec[] = [];
  const heals: ScheduledHeal[] = [];
  const randomHeals: number[] = [];
  events.forEach((event, index) => {
    if (event.type === 'heal') {
      if (event.at === 'random') randomHeals.push(index);
      else heals.push({ at_ms: event.at, every_ms: event.every, index });
      return;
    }
    specs.push(
      dropUndefined({
        at:
          event.at === 'random'
            ? { kind: 'random' as const, probabilityPerMinute: event.probability ?? 0 }
            : { kind: 'offset' as const, ms: event.at },
        type: event.type,
        every_ms: event.every,
        duration_ms: event.duration,
        target: event.target,
        targets: event.targets,
        value: event.value,
      }),
    );
  });
  return { specs, heals, randomHeals };
}

function dropUndefined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
