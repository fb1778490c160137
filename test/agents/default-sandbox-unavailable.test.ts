/**
 * Deny by default without bubblewrap: a restricted SPAWN that would be sandboxed only by
 * default is UNAVAILABLE, saying the three ways to proceed; `"sandboxed": false` runs it
 * (knowingly unsandboxed), and --allow-degraded-isolation runs it with a report saying
 * no sandbox holds it.
 *
 * bwrap is hidden by an empty PATH while the kernel looks it up; the lookup is cached per
 * process, so this file (its own worker) never sees a bwrap.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolationReport } from '../../src/protocol/schemas/isolation.js';
import { findBubblewrap } from '../../src/sandbox/index.js';
import type { TestKernel } from '../helpers/kernel.js';
import { connect, failure, script, spawnAgent, startAgentsKernel } from './support.js';

let emptyDir = '';
const kernels: TestKernel[] = [];

beforeAll(async () => {
  emptyDir = await mkdtemp(join(tmpdir(), 'agentos-no-bwrap-'));
  const path = process.env.PATH;
  process.env.PATH = emptyDir;
  try {
    expect(await findBubblewrap()).toMatchObject({ ok: false, installed: false });
  } finally {
    process.env.PATH = path;
  }
});

afterAll(async () => {
  await Promise.all(kernels.map((kernel) => kernel.cleanup()));
  await rm(emptyDir, { recursive: true, force: true });
});

async function kernelWith(allowDegradedIsolation: boolean) {
  const kernel = await startAgentsKernel({ allowDegradedIsolation });
  kernels.push(kernel);
  const client = await connect(kernel);
  const idle = script(kernel.dir, 'idle.sh', '#!/bin/sh\nexec sleep 60\n', true);
  return { kernel, client, idle };
}

describe('a restricted SPAWN without bubblewrap', () => {
  it('is UNAVAILABLE, naming bubblewrap, "sandboxed": false and --allow-degraded-isolation; the opt-out runs it', async () => {
    const { kernel, client, idle } = await kernelWith(false);
    const error = await failure(client.call('SPAWN', { name: 'restricted', script: idle, level: 'standard' }), 'UNAVAILABLE');
    expect(error.message).toMatch(/bubblewrap \(bwrap\) is not installed/);
    expect(error.message).toMatch(/sandboxed by default/);
    expect(error.message).toMatch(/install bubblewrap/);
    expect(error.message).toMatch(/"sandboxed": false/);
    expect(error.message).toMatch(/--allow-degraded-isolation/);
    expect(kernel.agents().some((a) => a.name === 'restricted')).toBe(false);

    // Asked for explicitly, the sandbox cannot be opted out of: the refusal offers no opt-out.
    const asked = await failure(client.call('SPAWN', { name: 'asked', script: idle, level: 'standard', sandboxed: true }), 'UNAVAILABLE');
    expect(asked.message).not.toMatch(/"sandboxed": false/);

    const opted = await spawnAgent(client, { name: 'opted-out', script: idle, level: 'standard', sandboxed: false });
    expect(opted.isolation).toMatchObject({ sandboxed: false, mechanism: 'none', not_applied: [{ what: 'sandbox' }] });
    await client.call('KILL', { id: opted.agent_id });
    await client.close();
  });

  it('runs unsandboxed under --allow-degraded-isolation, and the report says no sandbox holds it', async () => {
    const { client, idle } = await kernelWith(true);
    const spawned = await spawnAgent(client, { name: 'degraded', script: idle, level: 'standard' });
    const isolation = spawned.isolation as IsolationReport;
    expect(isolation).toMatchObject({ sandboxed: false, mechanism: 'none', network: true });
    expect(isolation.not_applied[0]).toMatchObject({ what: 'sandbox' });
    expect(isolation.not_applied[0]?.why).toMatch(/--allow-degraded-isolation/);
    await client.call('KILL', { id: spawned.agent_id });
    await client.close();
  });
});
