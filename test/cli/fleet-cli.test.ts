/**
 * The fleet commands run from the sources against a real relay started here (temp data
 * dir), with HOME and AGENTOS_CONFIG pointed at a temp dir: tokens, machines (a raw-ws
 * kernel peer online), agent run/list/stop answered by that peer, status, and the errors a
 * user meets first (a wrong admin token, an unreachable relay).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setCliConfigValue } from '../../src/cli/config-file.js';
import { type RelayServer, startRelay } from '../../src/relay/server/relay.js';
import { startTestKernel } from '../helpers/kernel.js';
import { connectKernelPeer, type KernelPeer } from './fleet-peer.js';
import { runCli } from './run-cli.js';

let dir: string;
let relay: RelayServer;
let admin: string;
let kernel: KernelPeer | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aos-fleet-cli-'));
  relay = await startRelay({ port: 0, dataDir: join(dir, 'relay') }, { logger: pino({ level: 'silent' }) });
  admin = (await readFile(relay.adminTokenFile, 'utf8')).trim();
  // The CLI children inherit this environment.
  process.env.HOME = join(dir, 'home');
  process.env.AGENTOS_CONFIG = join(dir, 'home', 'config.yaml');
  delete process.env.AGENTOS_RELAY_URL;
  delete process.env.AGENTOS_RELAY_ADMIN_TOKEN;
  await setCliConfigValue('relay.url', relay.url); // ws://, turned into http:// by the CLI
  await setCliConfigValue('relay.admin_token', admin);
});

afterAll(async () => {
  await kernel?.close();
  await relay?.close();
  for (const key of ['HOME', 'AGENTOS_CONFIG', 'AGENTOS_RELAY_URL', 'AGENTOS_RELAY_ADMIN_TOKEN']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await rm(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

// Each CLI run starts a tsx process (about 2 s, more under load): room for a handful per test.
describe('agentos fleet commands on a real relay', { timeout: 120_000 }, () => {
  it('creates, lists and revokes tokens (table and --json); the secret is printed once with a warning', async () => {
    const machine = await runCli(['tokens', 'create', 'machine', '--machine-id', 'laptop-1', '--label', 'my laptop', '--json']);
    expect(machine.code, machine.stderr).toBe(0);
    const created = JSON.parse(machine.stdout) as { id: string; token: string; kind: string; machine_id: string };
    expect(created).toMatchObject({ kind: 'machine', machine_id: 'laptop-1' });
    expect(machine.stderr).toMatch(/shown only this once/);

    const agent = await runCli(['tokens', 'create', 'agent', '--machines', 'laptop-1,nas', '--level', 'readonly', '--expires', '1h']);
    expect(agent.code, agent.stderr).toBe(0);
    const [line, token] = agent.stdout.trim().split('\n');
    expect(line).toMatch(/^created agent token [0-9a-f]{16} for laptop-1,nas \(expires \d{4}-/);
    expect(token).toMatch(/^aos_agent_[0-9a-f]{16}_/);
    const agentId = /token ([0-9a-f]{16})/.exec(line ?? '')?.[1] as string;
    const record = relay.hub.tokens.get(agentId);
    expect(record?.ceiling).toMatchObject({ can_write: false, can_read: true });

    const list = await runCli(['tokens', 'list']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+KIND\s+SCOPE\s+STATE\s+CREATED\s+EXPIRES\s+LABEL$/);
    expect(rows[1]).toMatch(new RegExp(`^${created.id}\\s+machine\\s+laptop-1\\s+active\\s+\\S+\\s+-\\s+my laptop$`));
    expect(rows[2]).toMatch(new RegExp(`^${agentId}\\s+agent\\s+laptop-1,nas\\s+active`));
    expect(list.stdout).not.toContain('aos_');

    const revoke = await runCli(['tokens', 'revoke', agentId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout.trim()).toBe(`revoked token ${agentId} (0 session(s) closed)`);
    const again = await runCli(['tokens', 'revoke', agentId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^agentos: token [0-9a-f]{16} is already revoked \[CONFLICT\]/);

    const json = await runCli(['tokens', 'list', '--json']);
    const records = JSON.parse(json.stdout) as { id: string; revoked_at: number | null }[];
    expect(records.map((r) => [r.id, r.revoked_at !== null])).toEqual([
      [created.id, false],
      [agentId, true],
    ]);

    kernel = await connectKernelPeer(relay.url, 'laptop-1', created.token);
  });

  it('lists and shows machines with the kernel online', async () => {
    const list = await runCli(['machines', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      /^MACHINE\s+STATE\s+KERNEL\s+SESSIONS\s+DEPLOYED\s+LAST SEEN\nlaptop-1\s+online\s+0\.1\.0-test\s+0\s+0\s+\d{4}-/,
    );
    const show = await runCli(['machines', 'show', 'laptop-1', '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ machine: { machine_id: 'laptop-1', online: true }, sessions: [], deployments: [] });
    const missing = await runCli(['machines', 'show', 'nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no machine "nowhere" \[NOT_FOUND\]/);
  });

  it('runs a script on the machine, lists it, stops it', async () => {
    const script = join(dir, 'crawler.py');
    await writeFile(script, "print('crawling')\n");
    const run = await runCli(['agent', 'run', script, '--machine', 'laptop-1', '--arg', '--fast', '--arg', 'two words']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^MACHINE\s+RESULT\s+DETAIL\nlaptop-1\s+ok\s+agent 5000$/m);
    expect(kernel?.received.at(-1)).toEqual({
      type: 'deploy',
      request_id: expect.any(Number),
      name: 'crawler',
      script: "print('crawling')\n",
      filename: 'crawler.py',
      args: ['--fast', 'two words'],
    });

    kernel?.refuse.add('crawler');
    const refused = await runCli(['agent', 'run', script, '--all', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual([
      { machine_id: 'laptop-1', ok: false, code: 'CONFLICT', error: 'an agent named "crawler" is running' },
    ]);

    const list = await runCli(['agent', 'list', '--machine', 'laptop-1']);
    expect(list.stdout).toMatch(/^KIND\s+MACHINE\s+NAME\s+ID\s+SINCE\ndeployed\s+laptop-1\s+crawler\s+agent 5000\s+\d{4}-/);

    const stop = await runCli(['agent', 'stop', 'crawler', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout)).toEqual([{ machine_id: 'laptop-1', ok: true }]);
    expect(kernel?.received.at(-1)).toMatchObject({ type: 'stop', name: 'crawler' });
  });

  it("shows the relay's status and says in one line that no kernel answers locally", async () => {
    const socket = join(dir, 'no-kernel.sock');
    const status = await runCli(['status', '--socket', socket, '--data-dir', join(dir, 'no-data')]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/machines\s+1 online of 1 known/);
    expect(status.stdout).toContain(`kernel tunnel: no kernel answers on ${socket}`);
  });

  it("shows the local kernel's tunnel when a kernel answers on --socket", async () => {
    const local = await startTestKernel();
    try {
      const status = await runCli(['status', '--socket', local.options.socketPath, '--data-dir', local.options.dataDir, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const shown = JSON.parse(status.stdout) as { relay: { machines_online: number }; tunnel: { connected: boolean; state: string } };
      expect(shown.relay.machines_online).toEqual(expect.any(Number));
      expect(shown.tunnel).toMatchObject({ connected: false, state: expect.any(String) });
    } finally {
      await local.cleanup();
    }
  });

  it('refuses a wrong admin token and an unreachable relay in one clear line, exit 1', async () => {
    const wrong = await runCli(['machines', 'list', '--admin-token', 'not-the-token']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      `agentos: the relay at ${relay.httpUrl} refused the admin token from --admin-token: wrong admin token`,
    );

    const tokenFile = join(dir, 'admin.token');
    await writeFile(tokenFile, `${admin}\n`);
    const viaFile = await runCli(['machines', 'list', '--json', '--admin-token-file', tokenFile, '--relay', relay.httpUrl]);
    expect(viaFile.code, viaFile.stderr).toBe(0);

    const closed = await closedPort();
    const unreachable = await runCli(['tokens', 'list', '--relay', `http://127.0.0.1:${closed}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toBe(`agentos: cannot reach the relay at http://127.0.0.1:${closed}: ECONNREFUSED`);

    const plain = await runCli(['tokens', 'list', '--relay', 'http://relay.example.com']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/refusing to send the admin token over plain http to relay\.example\.com/);
  });
});
