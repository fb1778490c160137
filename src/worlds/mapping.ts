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

/** The definition's `events` as the scheduler's specs (`heal` included: it ends every active effect at its time). */
export function chaosSpecs(events: readonly WorldEventDefinition[]): ScheduledEventSpec[] {
  return events.map((event) =>
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
}

function dropUndefined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
