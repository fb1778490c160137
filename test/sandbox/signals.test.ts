/**
 * Signals reach a sandboxed agent, not just bwrap around it: PAUSE stops the agent's own
 * process (and RESUME continues it), and KILL with a grace period delivers SIGTERM to the
 * agent's handler before anything is forced. bwrap forwards no signal, so the kernel
 * signals the session bwrap's pid-namespace init leads, which holds the agent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, agentProcess, connect, EventLog, procState, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let admin: AgentOSClient;
let events: EventLog;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  admin = await connect(kernel, adminToken(kernel));
  events = new EventLog(kernel);
});
afterAll(async () => {
  events.stop();
  await admin.close();
  await kernel.cleanup();
});

describe('signals to a sandboxed agent', () => {
  it('PAUSE stops the agent itself and RESUME continues it', async () => {
    const spin = script(kernel.dir, 'spin.mjs', 'for (;;) {}\n');
    const spawned = await spawnAgent(admin, { name: 'sandboxed-spinner', script: spin, level: 'standard' });
    expect((spawned.isolation as { sandboxed?: boolean }).sandboxed).toBe(true);
    const agent = await until(() => {
      const leaf = agentProcess(spawned.pid);
      return leaf !== spawned.pid && readFileSync(`/proc/${leaf}/cmdline`, 'utf8').includes('spin.mjs') ? leaf : undefined;
    }, 'the agent process inside bwrap');
    await admin.call('PAUSE', { id: spawned.agent_id });
    await until(() => procState(agent) === 'T', 'the sandboxed agent to stop');
    await admin.call('RESUME', { id: spawned.agent_id });
    await until(() => procState(agent) === 'R' || procState(agent) === 'S', 'the sandboxed agent to run again');
    await admin.call('KILL', { id: spawned.agent_id, grace_ms: 1000 });
    await events.wait('AGENT_EXITED', spawned.agent_id);
  });

  it('KILL with a grace period delivers SIGTERM to the agent’s own handler', async () => {
    const marker = join(kernel.dir, 'agents-graceful');
    const graceful = script(
      kernel.dir,
      'graceful.mjs',
      `import { writeFileSync } from 'node:fs';
process.on('SIGTERM', () => { writeFileSync(${JSON.stringify(marker)}, 'graceful'); process.exit(0); });
setInterval(() => {}, 1000);
`,
    );
    const spawned = await spawnAgent(admin, {
      name: 'sandboxed-graceful',
      script: graceful,
      level: 'standard',
      permissions: { allowed_write_paths: [`${kernel.dir}/**`] },
    });
    expect((spawned.isolation as { sandboxed?: boolean }).sandboxed).toBe(true);
    // Give node a moment to install its handler.
    await until(() => {
      const leaf = agentProcess(spawned.pid);
      return leaf !== spawned.pid && readFileSync(`/proc/${leaf}/cmdline`, 'utf8').includes('graceful.mjs');
    }, 'the agent process inside bwrap');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await admin.call('KILL', { id: spawned.agent_id, grace_ms: 5000 });
    const exited = await events.wait('AGENT_EXITED', spawned.agent_id);
    expect(existsSync(marker)).toBe(true);
    expect(exited.data).toMatchObject({ exit_code: 0 });
  });
});
