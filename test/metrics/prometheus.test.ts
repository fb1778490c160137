/**
 * GET /metrics scraped with fetch from a real kernel's HTTP port: the text exposition
 * format 0.0.4, kernel and machine series, per-agent series with escaped labels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeLabelValue } from '../../src/metrics/prometheus.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel();
});

afterAll(async () => {
  await kernel?.cleanup();
});

/** Sample lines by metric name: `name{labels} value` → [{ labels, value }]. */
function parse(text: string): Map<string, { labels: string; value: number }[]> {
  const out = new Map<string, { labels: string; value: number }[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    expect(match, `a sample line: ${line}`).not.toBeNull();
    const [, name, labels = '', value] = match as RegExpExecArray;
    const list = out.get(name as string) ?? [];
    list.push({ labels, value: Number(value) });
    out.set(name as string, list);
  }
  return out;
}

describe('GET /metrics', () => {
  it('answers the text format 0.0.4 with HELP and TYPE once per family, before its samples', async () => {
    const response = await fetch(`${kernel.httpUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text.endsWith('\n')).toBe(true);
    const seenTypes = new Set<string>();
    let current = '';
    for (const line of text.trimEnd().split('\n')) {
      const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
      if (type) {
        expect(seenTypes.has(type[1] as string), `one TYPE for ${type[1]}`).toBe(false);
        seenTypes.add(type[1] as string);
        current = type[1] as string;
      } else if (!line.startsWith('#')) {
        expect(line.startsWith(current), `${line} under its family ${current}`).toBe(true);
      }
    }
    const samples = parse(text);
    expect(samples.get('agentos_uptime_seconds')?.[0]?.value).toBeGreaterThanOrEqual(0);
    expect(samples.get('agentos_system_memory_total_bytes')?.[0]?.value).toBeGreaterThan(0);
    expect(samples.get('agentos_kernel_resident_memory_bytes')?.[0]?.value).toBeGreaterThan(0);
    expect(samples.get('agentos_info')?.[0]?.labels).toMatch(/^\{version="[^"]+"\}$/);
  });

  it('per-agent series carry agent_id, name and kind, with the name escaped; counters count what agents did', async () => {
    const odd = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name: 'we"ird\\name\nx' });
    await odd.call('NOOP', {});
    await odd.call('NOOP', {});
    const admin = await connect(kernel, adminToken(kernel));
    await admin.call('SET_QUOTA', { agent_id: odd.agentId, quota: { syscalls: { limit: 1000, window_s: 60 } } });
    const text = await (await fetch(`${kernel.httpUrl}/metrics`)).text();
    const labels = `agent_id="${odd.agentId}",name="we\\"ird\\\\name\\nx",kind="client"`;
    // HELLO and two NOOPs.
    expect(text).toContain(`agentos_agent_syscalls_total{${labels}} 3\n`);
    expect(text).toContain(`agentos_agent_quota_limit{${labels},resource="syscalls"} 1000\n`);
    expect(text).toContain(`agentos_agent_quota_used{${labels},resource="syscalls"} 0\n`);
    const samples = parse(text);
    expect(samples.get('agentos_agents')?.find((s) => s.labels === '{kind="client"}')?.value).toBeGreaterThanOrEqual(2);
    expect(samples.get('agentos_syscalls_total')?.[0]?.value).toBeGreaterThanOrEqual(5);
    await odd.close();
    await admin.close();
  });

  it('other paths still answer 404 naming the routes', async () => {
    const response = await fetch(`${kernel.httpUrl}/metricz`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('/metrics');
  });
});

describe('escapeLabelValue', () => {
  it('escapes backslash, double quote and line feed, and nothing else', () => {
    expect(escapeLabelValue('a\\b"c\nd\te')).toBe('a\\\\b\\"c\\nd\te');
    expect(escapeLabelValue('plain-name.1')).toBe('plain-name.1');
  });
});
