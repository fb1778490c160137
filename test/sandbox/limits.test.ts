import { describe, expect, it } from 'vitest';
import { Limits, requestedLimits } from '../../src/sandbox/limits.js';

const messageOf = (value: unknown) => {
  const result = Limits.safeParse(value);
  if (result.success) throw new Error(`accepted ${JSON.stringify(value)}`);
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('Limits', () => {
  it('accepts sane limits', () => {
    expect(Limits.parse({ memory_bytes: 64 * 1024 * 1024, max_pids: 32, cpu_percent: 150 })).toEqual({
      memory_bytes: 67108864,
      max_pids: 32,
      cpu_percent: 150,
    });
    expect(Limits.parse({})).toEqual({});
    expect(Limits.parse({ cpu_percent: 12.5 })).toEqual({ cpu_percent: 12.5 });
  });

  it('refuses absurd values, saying what was expected', () => {
    expect(messageOf({ memory_bytes: 1000 })).toEqual(['memory_bytes: expected at least 1 MiB (1048576 bytes)']);
    expect(messageOf({ memory_bytes: 2 ** 41 })).toEqual(['memory_bytes: expected at most 1 TiB (1099511627776 bytes)']);
    expect(messageOf({ memory_bytes: 1.5 * 1024 * 1024 + 0.5 })).toEqual(['memory_bytes: expected a whole number of bytes']);
    expect(messageOf({ max_pids: 0 })).toEqual(['max_pids: expected at least 1 process']);
    expect(messageOf({ max_pids: 1_000_000 })).toEqual(['max_pids: expected at most 100000 processes']);
    expect(messageOf({ cpu_percent: 0.5 })).toEqual(['cpu_percent: expected at least 1 (percent of one core)']);
    expect(messageOf({ cpu_percent: 20_000 })).toEqual(['cpu_percent: expected at most 10000 (100 cores)']);
    expect(messageOf({ cpu_percent: '50' })).toEqual(['cpu_percent: expected a percentage of one core (a number)']);
  });

  it('refuses unknown limits such as a timeout, and non-objects', () => {
    expect(messageOf({ timeout: 30 })).toEqual([': unknown limit "timeout": expected only memory_bytes, max_pids and cpu_percent']);
    expect(messageOf('lots')).toEqual([': expected an object of limits (memory_bytes, max_pids, cpu_percent)']);
  });

  it('lists requested limits in a fixed order', () => {
    expect(requestedLimits({ cpu_percent: 5, memory_bytes: 2 ** 20 })).toEqual([
      ['memory_bytes', 2 ** 20],
      ['cpu_percent', 5],
    ]);
    expect(requestedLimits(undefined)).toEqual([]);
  });
});
