/**
 * The stateDurability kernel option: 'process' (the default) opens state.db with
 * synchronous=NORMAL, 'power' with synchronous=FULL. (That an acknowledged write under
 * the default survives kill -9 is durability.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/agents/registry.js';
import type { EventSubscriptions } from '../../src/events/subscriptions.js';
import { parseKernelOptions } from '../../src/kernel/options.js';
import { StateStore } from '../../src/state/store.js';

const dir = mkdtempSync(join(tmpdir(), 'agentos-state-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string, durability?: 'process' | 'power'): StateStore {
  return new StateStore({
    dataDir: mkdtempSync(join(dir, `${name}-`)),
    registry: new AgentRegistry(),
    subscriptions: { publish: () => {} } as unknown as EventSubscriptions,
    maxValueBytes: 1024,
    maxKeysPerAgent: 10,
    maxSharedKeys: 10,
    sweepIntervalMs: 60_000,
    ...(durability ? { durability } : {}),
  });
}

describe('stateDurability', () => {
  it('defaults to process and accepts only process or power', () => {
    expect(parseKernelOptions({}).stateDurability).toBe('process');
    expect(parseKernelOptions({ stateDurability: 'power' }).stateDurability).toBe('power');
    expect(() => parseKernelOptions({ stateDurability: 'disk' as never })).toThrow(/expected stateDurability/);
  });

  it('opens state.db with synchronous=NORMAL for process (and by default), FULL for power', () => {
    for (const [durability, expected] of [
      [undefined, 1],
      ['process', 1],
      ['power', 2],
    ] as const) {
      const store = open(durability ?? 'default', durability);
      try {
        expect(store.synchronous).toBe(expected);
      } finally {
        store.close();
      }
    }
  });
});
