/**
 * Deny by default (protocol.md, Agents, "Trust"): an agent whose rights are short of
 * unrestricted runs sandboxed unless SPAWN says `"sandboxed": false`, because outside a
 * sandbox it is a process of the kernel's user and could read the admin token. Real
 * kernel, real bwrap: the data directory sits in the home the agent may write, and only
 * the sandbox's mask keeps the token out of sight.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolationReport } from '../../src/protocol/schemas/isolation.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import type { TestKernel } from '../helpers/kernel.js';
import { adminToken, connect, failure, script, spawnAgent, startAgentsKernel, until } from './support.js';

/** argv: socket, data dir, a path it may write, a path it may not. Prints one RESULT line, then waits to be killed. */
const PROBE = `
import json, os, sys
data_dir, allowed, outside = sys.argv[2], sys.argv[3], sys.argv[4]
result = {}
try:
    result["token"] = open(os.path.join(data_dir, "admin.token")).read().strip()
except OSError as e:
    result["token"] = type(e).__name__
try:
    result["data_dir"] = sorted(os.listdir(data_dir))
except OSError as e:
    result["data_dir"] = type(e).__name__
def write(path):
    try:
        with open(path, "w") as f:
            f.write("from the agent")
        return "ok"
    except OSError as e:
        return type(e).__name__
result["allowed_write"] = write(allowed)
result["outside_write"] = write(outside)
print("RESULT " + json.dumps(result), flush=True)
import time
time.sleep(60)
`;

interface ProbeResult {
  token: string;
  data_dir: string[] | string;
  allowed_write: string;
  outside_write: string;
}

let kernel: TestKernel;
let owner: AgentOSClient;
/** Under the real home (what `~/**` names), holding the kernel's data directory, as ~/.agentos/data does by default. */
let homeDir = '';
/** A host directory no agent here may write (outside /tmp, whose sandbox copy is private). */
let outsideDir = '';
let probe = '';
const clients: AgentOSClient[] = [];

beforeAll(async () => {
  homeDir = await mkdtemp(join(homedir(), '.agentos-test-'));
  outsideDir = await mkdtemp('/var/tmp/agentos-default-sandbox-');
  kernel = await startAgentsKernel({ dataDir: join(homeDir, 'data') });
  owner = await connect(kernel);
  clients.push(owner);
  probe = script(kernel.dir, 'probe.py', PROBE);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await kernel?.cleanup();
  await rm(homeDir, { recursive: true, force: true });
  await rm(outsideDir, { recursive: true, force: true });
});

async function run(spawner: AgentOSClient, name: string, fields: Record<string, unknown>) {
  const allowed = join(homeDir, `${name}-written.txt`);
  const outside = join(outsideDir, `${name}-escaped.txt`);
  const reply = await spawnAgent(spawner, { name, script: probe, args: [kernel.options.dataDir, allowed, outside], ...fields });
  const line = await until(async () => {
    const { lines } = (await spawner.call('LOGS', { id: reply.agent_id, lines: 50 })) as { lines: { text: string }[] };
    return lines.find((l) => l.text.startsWith('RESULT '));
  }, `the result of ${name}`);
  const permissions = kernel.agents().find((a) => a.id === reply.agent_id)?.permissions;
  await spawner.call('KILL', { id: reply.agent_id, grace_ms: 0 });
  const result = JSON.parse(line.text.slice(7)) as ProbeResult;
  return { reply, permissions, isolation: reply.isolation as IsolationReport, result, allowed, outside };
}

describe('SPAWN sandboxes restricted agents by default', () => {
  it('a standard agent, sandboxed by default, cannot read the admin token in the home it may write; it writes only its write paths', async () => {
    const { permissions, isolation, result, allowed, outside } = await run(owner, 'default-standard', { level: 'standard' });
    expect(permissions?.sandboxed).toBe(true);
    expect(isolation).toMatchObject({ sandboxed: true, mechanism: 'bubblewrap', network: false, not_applied: [] });
    const realHome = realpathSync(homedir());
    const realData = realpathSync(kernel.options.dataDir);
    expect(isolation.applied).toContain(`writable: ${realHome}`);
    expect(isolation.applied.find((line) => line.startsWith('hidden: '))).toContain(realData);

    // The home is bound read-write, the data directory inside it is an empty tmpfs.
    expect(result.token).toBe('FileNotFoundError');
    expect(result.data_dir).toEqual([]);
    expect(readFileSync(join(kernel.options.dataDir, 'admin.token'), 'utf8').trim()).toBe(adminToken(kernel));
    expect(result.allowed_write).toBe('ok');
    expect(readFileSync(allowed, 'utf8')).toBe('from the agent');
    expect(result.outside_write).not.toBe('ok');
    expect(existsSync(outside)).toBe(false);
  });

  it('narrowed permissions without a level are sandboxed too; unrestricted ones are not', async () => {
    const narrowed = await run(owner, 'default-narrowed', { permissions: { max_llm_calls_per_min: 10 } });
    expect(narrowed.isolation).toMatchObject({ sandboxed: true, mechanism: 'bubblewrap' });
    expect(narrowed.result.token).toBe('FileNotFoundError');

    // Dev mode: an unrestricted agent holds nothing a sandbox would protect, so it runs as before.
    const full = await run(owner, 'default-unrestricted', {});
    expect(full.isolation).toEqual({ sandboxed: false, mechanism: 'none', network: true, applied: [], not_applied: [] });
  });

  it('an explicit "sandboxed": false runs a standard agent unsandboxed, and the report says what that means', async () => {
    const { permissions, isolation, result, outside } = await run(owner, 'opted-out', { level: 'standard', sandboxed: false });
    expect(permissions?.sandboxed).toBe(false);
    expect(isolation).toMatchObject({ sandboxed: false, mechanism: 'none', network: true, applied: [] });
    expect(isolation.not_applied).toHaveLength(1);
    expect(isolation.not_applied[0]).toMatchObject({ what: 'sandbox' });
    expect(isolation.not_applied[0]?.why).toMatch(/"sandboxed": false was asked.*admin token/);
    // Why the default exists: a process of the kernel's user reaches what that user reaches.
    expect(result.token).toBe(adminToken(kernel));
    expect(result.outside_write).toBe('ok');
    expect(existsSync(outside)).toBe(true);
  });

  it('a sandboxed spawner cannot opt a child out, and its children are sandboxed', async () => {
    const boxed = await connect(kernel);
    clients.push(boxed);
    await boxed.call('SET_PERMS', { level: 'sandboxed', permissions: { can_spawn: true } });
    const refused = await failure(boxed.call('SPAWN', { name: 'boxed-out', script: probe, sandboxed: false }), 'PERMISSION_DENIED');
    expect(refused.message).toMatch(/"sandboxed": false.*is sandboxed/);
    expect(kernel.agents().some((a) => a.name === 'boxed-out')).toBe(false);

    const child = await run(boxed, 'boxed-child', {});
    expect(child.isolation).toMatchObject({ sandboxed: true, mechanism: 'bubblewrap' });
    expect(child.result.token).toBe('FileNotFoundError');
  });

  it('"sandboxed": false contradicting the requested level is refused', async () => {
    const error = await failure(
      owner.call('SPAWN', { name: 'contradiction', script: probe, level: 'sandboxed', sandboxed: false }),
      'INVALID_REQUEST',
    );
    expect(error.message).toMatch(/"sandboxed"/);
  });
});
