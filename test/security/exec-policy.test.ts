/**
 * Command rules on the real kernel, over the real socket: at the standard level (the
 * default blocklist) every spelling of a dangerous command is PERMISSION_DENIED, emits
 * SYSCALL_BLOCKED and lands in the audit log, and nothing of the command line runs (a
 * marker written on the line before it never appears). Allowlists refuse what they do
 * not name. SPAWN's launch passes the spawner's rules too.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { connect, EventLog, failure, script, startAgentsKernel } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const BLOCKED_RULE = /is blocked by the blocked_commands rule "(sudo|rm -rf \/)"/;
const UNKNOWN = /cannot be fully analysed is refused while blocked_commands applies/;

/** The attack cases of the security issue, and what the refusal must say. */
const ATTACKS: [string, RegExp][] = [
  ['rm  -rf /', BLOCKED_RULE],
  ['/bin/rm -rf /', BLOCKED_RULE],
  ['rm -fr /', BLOCKED_RULE],
  ['rm -r -f /', BLOCKED_RULE],
  ['rm --recursive --force /', BLOCKED_RULE],
  ['$(echo sudo) id', UNKNOWN],
  ['`echo sudo` id', UNKNOWN],
  ["sh -c 'sudo id'", BLOCKED_RULE],
  ['bash -c "sudo id"', BLOCKED_RULE],
  ['env sudo id', BLOCKED_RULE],
  ['env -i FOO=1 sudo id', BLOCKED_RULE],
  ['xargs sudo', BLOCKED_RULE],
  ['exec sudo id', BLOCKED_RULE],
  ['nice sudo id', BLOCKED_RULE],
  ['timeout 5 sudo id', BLOCKED_RULE],
  ['echo x | sudo tee /etc/x', BLOCKED_RULE],
  ['true && sudo id', BLOCKED_RULE],
  ['(sudo id)', BLOCKED_RULE],
  ['{ sudo id; }', BLOCKED_RULE],
  ['sudo\tid', BLOCKED_RULE],
  ["'su'do id", BLOCKED_RULE],
  ['"sudo" id', BLOCKED_RULE],
  ['s\\udo id', BLOCKED_RULE],
  ['$X id', UNKNOWN],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
  ['${X} id', UNKNOWN],
  ["eval 'sudo id'", BLOCKED_RULE],
  ['eval "$CMD"', UNKNOWN],
  ['source ./x.sh', UNKNOWN],
  ['. ./x.sh', UNKNOWN],
  ["sh <<'EOF'\nsudo id\nEOF", BLOCKED_RULE],
  ['cat <<EOF\n$(sudo id)\nEOF', BLOCKED_RULE],
  ['cat <(sudo id)', BLOCKED_RULE],
  ['echo "sudo id" | sh', UNKNOWN],
  ['/usr/bin/env sudo id', BLOCKED_RULE],
  ['/usr/bin/sudo id', BLOCKED_RULE],
  ['./sudo id', BLOCKED_RULE],
  ['../../usr/bin/sudo id', BLOCKED_RULE],
];

describe('EXEC at the standard level (the default blocklist)', () => {
  let kernel: TestKernel;
  let events: EventLog;
  let client: AgentOSClient;
  let markers: string;

  beforeAll(async () => {
    kernel = await startTestKernel();
    events = new EventLog(kernel);
    client = await connect(kernel);
    markers = join(kernel.dir, 'markers');
    mkdirSync(markers);
  });
  afterAll(async () => {
    events?.stop();
    await client?.close();
    await kernel?.cleanup();
  });

  it.each(ATTACKS.map(([line, reason], index) => [line, reason, index] as const))(
    'refuses %j before anything runs: PERMISSION_DENIED, SYSCALL_BLOCKED, audited',
    async (line, reason, index) => {
      const agentId = client.agentId!;
      const marker = join(markers, `ran-${index}`);
      const blockedBefore = events.of('SYSCALL_BLOCKED', agentId).length;
      const error = await failure(client.call('EXEC', { command: `touch ${marker}\n${line}`, cwd: markers }), 'PERMISSION_DENIED');
      expect(error.message).toMatch(/^EXEC denied: /);
      expect(error.message).toMatch(reason);
      expect(error.reply?.denied).toMatchObject({ list: 'blocked_commands' });
      expect(existsSync(marker)).toBe(false);

      const blocked = events.of('SYSCALL_BLOCKED', agentId);
      expect(blocked).toHaveLength(blockedBefore + 1);
      expect(blocked.at(-1)!.data).toEqual({ agent_id: agentId, op: 'EXEC', reason: error.message });

      const { entries } = kernel.audit.query({ category: 'denial', agent_id: agentId });
      expect(entries.at(-1)).toMatchObject({ op: 'EXEC', detail: { reason: error.message, denied: error.reply!.denied } });
    },
  );

  it('names the program, the rule and where in the command it was found', async () => {
    const error = await failure(client.call('EXEC', { command: 'echo start && sh -c "nice sudo id"' }), 'PERMISSION_DENIED');
    expect(error.reply?.denied).toEqual({
      list: 'blocked_commands',
      rule: 'sudo',
      program: 'sudo',
      part: 'nice sudo id',
      via: ['sh -c', 'nice'],
    });
    expect(error.message).toBe(
      'EXEC denied: "sudo" is blocked by the blocked_commands rule "sudo" (in "nice sudo id", inside sh -c › nice)',
    );
  });

  it('refuses request variables that make a shell run hidden commands', async () => {
    const error = await failure(client.call('EXEC', { command: 'bash -c true', env: { BASH_ENV: '/tmp/x.sh' } }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/BASH_ENV/);
    expect(error.reply?.denied).toMatchObject({ part: 'env.BASH_ENV' });
  });

  it('runs ordinary commands, pipelines and scripts', async () => {
    const reply = (await client.call('EXEC', {
      command: "printf 'b\\na\\n' | sort | tr -d '\\n'; for x in 1 2; do echo -n $x; done; rm -rf ./nothing-here",
      cwd: markers,
    })) as { stdout: string; exit_code: number };
    expect(reply).toMatchObject({ stdout: 'ab12', exit_code: 0 });
  });
});

describe('EXEC under an allowlist', () => {
  let kernel: TestKernel;
  let client: AgentOSClient;

  beforeAll(async () => {
    kernel = await startTestKernel();
    client = await connect(kernel);
    await client.call('SET_PERMS', { permissions: { allowed_commands: ['echo', 'printf', 'tr * *', 'ls'] } });
  });
  afterAll(async () => {
    await client?.close();
    await kernel?.cleanup();
  });

  it('runs only what it names', async () => {
    expect(await client.call('EXEC', { command: 'printf hi | tr a-z A-Z' })).toMatchObject({ stdout: 'HI' });
    const notListed = await failure(client.call('EXEC', { command: 'echo x && cat /etc/hostname' }), 'PERMISSION_DENIED');
    expect(notListed.message).toMatch(/"cat" with the arguments "\/etc\/hostname" is not in allowed_commands/);
    const args = await failure(client.call('EXEC', { command: 'tr -d a b' }), 'PERMISSION_DENIED'); // three arguments, the rule has two
    expect(args.message).toMatch(/"tr" with the arguments "-d a b" is not in allowed_commands/);
    const shell = await failure(client.call('EXEC', { command: 'ls | sh' }), 'PERMISSION_DENIED');
    expect(shell.message).toMatch(/cannot be fully analysed is refused while an allowlist applies/);
    const preload = await failure(client.call('EXEC', { command: 'ls', env: { LD_PRELOAD: '/tmp/x.so' } }), 'PERMISSION_DENIED');
    expect(preload.message).toMatch(/LD_PRELOAD/);
  });

  it('an empty allowlist runs nothing', async () => {
    await client.call('SET_PERMS', { permissions: { allowed_commands: [] } });
    const error = await failure(client.call('EXEC', { command: 'true' }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/"true" is not in allowed_commands/);
  });
});

describe('SPAWN: the launch passes the spawner’s command rules', () => {
  let kernel: TestKernel;
  let events: EventLog;
  let client: AgentOSClient;
  let dir: string;

  beforeAll(async () => {
    kernel = await startAgentsKernel();
    events = new EventLog(kernel);
    client = await connect(kernel);
    // Standard rights (the default blocklist) plus can_spawn: narrower than unrestricted, so it may set them on itself.
    await client.call('SET_PERMS', { level: 'standard', permissions: { can_spawn: true } });
    dir = join(kernel.dir, 'agents');
    mkdirSync(dir);
  });
  afterAll(async () => {
    events?.stop();
    await client?.close();
    await kernel?.cleanup();
  });

  it('refuses a blocked interpreter or program before any agent exists', async () => {
    const agentId = client.agentId!;
    const py = script(dir, 'agent.py', 'import time\ntime.sleep(60)\n');
    const viaSudo = await failure(client.call('SPAWN', { name: 'a', script: py, interpreter: '/usr/bin/sudo' }), 'PERMISSION_DENIED');
    expect(viaSudo.message).toMatch(/^SPAWN denied: "\/usr\/bin\/sudo" is blocked by the blocked_commands rule "sudo"/);

    const mkfs = script(dir, 'mkfs.fake', '#!/bin/sh\nsleep 60\n', true);
    const named = await failure(client.call('SPAWN', { name: 'b', script: mkfs }), 'PERMISSION_DENIED');
    expect(named.reply?.denied).toMatchObject({ rule: 'mkfs.*', program: mkfs });

    expect(events.of('SYSCALL_BLOCKED', agentId).map((event) => event.data.op)).toEqual(['SPAWN', 'SPAWN']);
    expect(kernel.agents().filter((agent) => agent.kind === 'process')).toEqual([]);
  });

  it('an allowlist decides which interpreters may be launched', async () => {
    await client.call('SET_PERMS', { permissions: { allowed_commands: ['python3'] } });
    const js = script(dir, 'agent.js', 'setInterval(() => {}, 1000);\n');
    const error = await failure(client.call('SPAWN', { name: 'node-agent', script: js }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/"\/.*node" with the arguments ".*agent\.js" is not in allowed_commands/);
    const py = script(dir, 'ok.py', 'import time\ntime.sleep(60)\n');
    const spawned = (await client.call('SPAWN', { name: 'py-agent', script: py })) as { agent_id: number };
    expect(spawned.agent_id).toBeGreaterThan(0);
    await client.call('KILL', { id: spawned.agent_id, grace_ms: 100 });
  });
});
