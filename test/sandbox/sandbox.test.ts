/**
 * The bubblewrap sandbox, really run: file-system writes, network, the kernel socket,
 * signals, the report, and the refusal/degraded paths when bwrap is missing.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureSandboxAvailable,
  findBubblewrap,
  IsolationReport,
  prepareIsolation,
  SandboxUnavailableError,
} from '../../src/sandbox/index.js';
import { node, request, run, runPrepared, sh } from './support.js';

const bwrap = await findBubblewrap();
const MISSING_BWRAP = '/nonexistent/agentos-test/bwrap';

describe.runIf(bwrap.ok)('bubblewrap sandbox (needs bwrap; .ci/run installs it)', () => {
  let dir: string;
  let tcp: Server;
  let tcpPort: number;
  let unix: Server;
  let socketPath: string;

  beforeAll(async () => {
    // Under the host's /tmp on purpose: the sandbox's private /tmp must hide it.
    dir = await mkdtemp(join(tmpdir(), 'agentos-sandbox-'));
    tcp = createServer((socket) => socket.end('tcp-hello'));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as { port: number }).port;
    socketPath = join(dir, 'kernel', 'agentos.sock');
    await mkdir(join(dir, 'kernel'));
    unix = createServer((socket) => socket.on('data', (data) => socket.end(`echo:${data}`)));
    await new Promise<void>((resolve) => unix.listen(socketPath, resolve));
  });

  afterAll(async () => {
    tcp?.close();
    unix?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets the agent write its private /tmp but nowhere else on the host', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    const readable = join(dir, 'readable');
    await mkdir(readable);
    await writeFile(join(readable, 'data.txt'), 'visible\n');
    const script = [
      'echo scratch > /tmp/scratch && cat /tmp/scratch',
      `echo x > ${outside}/escaped 2>/dev/null && echo WROTE-OUTSIDE`,
      `echo x > ${readable}/escaped 2>/dev/null && echo WROTE-READABLE`,
      'echo x > /root/escaped 2>/dev/null && echo WROTE-ROOT',
      'echo x > /etc/escaped 2>/dev/null && echo WROTE-ETC',
      'echo x > /usr/escaped 2>/dev/null && echo WROTE-USR',
      'echo x > /escaped 2>/dev/null && echo WROTE-SLASH',
      `cat ${readable}/data.txt`,
      'echo done',
    ].join('; ');
    const result = await run({ ...sh(script), socketPath, readablePaths: [readable] });
    expect(result.stderr).toContain(`cannot create ${readable}/escaped: Read-only file system`);
    expect(result.stderr).toContain('cannot create /etc/escaped: Read-only file system');
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(['scratch', 'visible', 'done']);
    expect(existsSync(join(outside, 'escaped'))).toBe(false);
    expect(existsSync(join(readable, 'escaped'))).toBe(false);
    expect(existsSync('/root/escaped')).toBe(false);
    expect(existsSync('/etc/escaped')).toBe(false);
    // The private /tmp is not the host's.
    expect(existsSync('/tmp/scratch')).toBe(false);
  });

  it('shows why a write fails: a host directory is absent, a readable one is read-only', async () => {
    // A host directory outside /tmp: it exists on the host and not in the sandbox.
    const host = await mkdtemp('/var/tmp/agentos-sandbox-');
    const readable = join(dir, 'ro');
    await mkdir(readable, { recursive: true });
    try {
      const result = await run({
        ...node(
          `const fs = require('fs');
           for (const p of process.argv.slice(1)) { try { fs.writeFileSync(p, 'x'); process.stdout.write([p, 'written'].join(' ') + '\\n'); } catch (e) { process.stdout.write([p, e.code].join(' ') + '\\n'); } }`,
          join(host, 'file'),
          join(readable, 'file'),
          join(dir, 'under-host-tmp'),
          '/tmp/ok',
        ),
        socketPath,
        readablePaths: [readable],
      });
      expect(result.stdout).toContain(`${join(host, 'file')} ENOENT`);
      expect(result.stdout).toContain(`${join(readable, 'file')} EROFS`);
      // The test directory's path exists in the private /tmp (bwrap made it to bind the socket
      // under it), so this write succeeds, but lands in the private tmpfs, not on the host.
      expect(result.stdout).toContain('/tmp/ok written');
      expect(existsSync(join(host, 'file'))).toBe(false);
      expect(existsSync(join(dir, 'under-host-tmp'))).toBe(false);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it('writes through to the host only in writable paths', async () => {
    const writable = join(dir, 'writable');
    await mkdir(writable);
    const result = await run({ ...sh(`echo from-agent > ${writable}/out`), socketPath, writablePaths: [writable] });
    expect(result.code).toBe(0);
    expect(await readFile(join(writable, 'out'), 'utf8')).toBe('from-agent\n');
  });

  it('covers hidden paths a writable bind would show, whatever the order of the binds, and says so', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'work', 'data'), { recursive: true });
    await writeFile(join(home, 'work', 'data', 'admin.token'), 'token');
    await writeFile(join(home, 'work', 'key.pem'), 'key');
    const script = [
      `ls -A ${home}/work/data; cat ${home}/work/data/admin.token ${home}/work/key.pem`,
      `echo written > ${home}/work/out && echo WROTE`,
      `echo x > ${home}/work/data/planted 2>/dev/null; echo x > ${home}/work/key.pem 2>/dev/null`,
      'echo done',
    ].join('; ');
    // The deeper write path first, its parent after: the masks still come after both binds.
    const result = await run({
      ...sh(script),
      socketPath,
      writablePaths: [join(home, 'work'), home, '/', '/tmp'],
      hiddenPaths: [join(home, 'work', 'data'), join(home, 'work', 'key.pem'), join(dir, 'absent')],
    });
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(['WROTE', 'done']);
    expect(result.stderr).toMatch(/admin\.token: No such file/);
    expect(await readFile(join(home, 'work', 'out'), 'utf8')).toBe('written\n');
    // The masks live in the sandbox only: the host files are untouched, nothing was planted.
    expect(await readFile(join(home, 'work', 'key.pem'), 'utf8')).toBe('key');
    expect(existsSync(join(home, 'work', 'data', 'planted'))).toBe(false);
    const { applied } = result.prepared.isolation;
    expect(applied).toContain(`writable: ${join(home, 'work')}, ${home}`);
    expect(applied.find((line) => line.startsWith('hidden: '))).toContain(
      `${join(home, 'work', 'data')}, ${join(home, 'work', 'key.pem')}`,
    );
  });

  it('hides the shadow password files', async () => {
    const result = await run({ ...sh('cat /etc/shadow 2>&1 | head -c 200; echo; echo end'), socketPath });
    expect(result.stdout).not.toMatch(/^root:/m);
    expect(result.stdout).toContain('end');
  });

  const connectTcp = `const s = require('net').connect(Number(process.argv[1]), '127.0.0.1');
    s.on('data', (d) => { process.stdout.write(['got', String(d)].join(' ') + '\\n'); s.destroy(); });
    s.on('error', (e) => process.stdout.write(['error', e.code].join(' ') + '\\n'));`;

  it('has no network when network is off: a TCP server on the host loopback is unreachable', async () => {
    const result = await run({ ...node(connectTcp, String(tcpPort)), socketPath, network: false });
    expect(result.stdout).toMatch(/^error (ECONNREFUSED|ENETUNREACH)/);
    expect(result.prepared.isolation.network).toBe(false);
    expect(result.prepared.isolation.applied).toContain('no network');
  });

  it('reaches the same server with network: true', async () => {
    const result = await run({ ...node(connectTcp, String(tcpPort)), socketPath, network: true });
    expect(result.stdout.trim()).toBe('got tcp-hello');
    expect(result.prepared.isolation.network).toBe(true);
    expect(result.prepared.isolation.applied).not.toContain('no network');
  });

  it('keeps the kernel socket reachable at the same path (argv[1]), with network off and its directory hidden', async () => {
    const client = `const path = process.argv[1];
      const s = require('net').connect(path);
      s.on('connect', () => s.write('ping'));
      s.on('data', (d) => process.stdout.write([String(d)].join(' ') + '\\n'));
      s.on('error', (e) => process.stdout.write(['error', e.code].join(' ') + '\\n'));
      require('fs').readdir(require('path').dirname(path), (e, names) => process.stdout.write(['dir', names ? names.join(',') : e.code].join(' ') + '\\n'));`;
    await writeFile(join(dir, 'kernel', 'secret.txt'), 'not for agents');
    const result = await run({ ...node(client, socketPath), socketPath, network: false });
    expect(result.stdout).toContain('echo:ping');
    // Only the socket is bound, not the directory holding it.
    expect(result.stdout).toContain('dir agentos.sock');
    expect(result.stdout).not.toContain('secret.txt');
  });

  it('runs in the requested cwd and makes the script directory readable', async () => {
    const scripts = join(dir, 'scripts');
    await mkdir(scripts);
    const script = join(scripts, 'agent.js');
    await writeFile(script, "process.stdout.write(['agent ran in', process.cwd(), 'socket', process.argv[2]].join(' ') + '\\n');\n");
    const result = await run({ command: process.execPath, args: [script, socketPath], cwd: scripts, socketPath }, {}, { cwd: scripts });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`agent ran in ${scripts} socket ${socketPath}`);
  });

  it('makes the files named in the launch readable without scriptPath (the runner passes interpreter, script, socket)', async () => {
    const scripts = join(dir, 'inferred');
    await mkdir(scripts);
    await writeFile(join(scripts, 'agent.js'), "process.stdout.write(['inferred', require('./helper.js')].join(' ') + '\\n');\n");
    await writeFile(join(scripts, 'helper.js'), "module.exports = 'helper';\n");
    // A script sitting directly in the host /tmp: only that file is bound, the private /tmp stays private.
    const loose = join(tmpdir(), `agentos-sandbox-loose-${process.pid}.js`);
    const marker = join(tmpdir(), `agentos-sandbox-marker-${process.pid}`);
    await writeFile(
      loose,
      `const fs = require('fs'); process.stdout.write(['loose', fs.existsSync(${JSON.stringify(marker)})].join(' ') + '\\n');\n`,
    );
    await writeFile(marker, 'host only');
    try {
      const inferred = await run({ command: process.execPath, args: [join(scripts, 'agent.js'), socketPath], socketPath });
      expect(inferred.stdout.trim()).toBe('inferred helper');
      const alone = await run({ command: process.execPath, args: [loose, socketPath], socketPath });
      expect(alone.stdout.trim()).toBe('loose false');
    } finally {
      await rm(loose, { force: true });
      await rm(marker, { force: true });
    }
  });

  it('passes the environment through spawn, not the argv', async () => {
    const prepared = await prepareIsolation(request({ ...sh('echo "$AGENT_SECRET"'), socketPath }));
    expect(prepared.args.join(' ')).not.toContain('s3cret');
    const result = await runPrepared(prepared, { env: { PATH: '/usr/bin:/bin', AGENT_SECRET: 's3cret' } });
    expect(result.stdout.trim()).toBe('s3cret');
  });

  it('drops capabilities and isolates pids: the agent sees its own pid namespace only', async () => {
    const result = await run({ ...sh('grep CapEff /proc/self/status; ls /proc | grep -c "^[0-9]"'), socketPath });
    const [caps, count] = result.stdout.trim().split('\n');
    expect(caps).toMatch(/CapEff:\s+0+$/);
    expect(Number(count)).toBeLessThan(10);
  });

  it("signalTarget is the agent's process group inside bwrap, so SIGTERM to it is handled gracefully", async () => {
    const prepared = await prepareIsolation(
      request({
        ...node(
          "process.on('SIGTERM', () => { process.stdout.write(['graceful'].join(' ') + '\\n'); process.exit(3); }); process.stdout.write(['ready'].join(' ') + '\\n'); setInterval(() => {}, 1000);",
        ),
        socketPath,
      }),
    );
    const result = await runPrepared(prepared, {
      onSpawn: (pid) => {
        const poll = setInterval(async () => {
          const target = await prepared.signalTarget(pid);
          if (target === pid) return;
          clearInterval(poll);
          // Give node a moment to install its handler after the target exists.
          setTimeout(() => process.kill(-target, 'SIGTERM'), 300);
        }, 20);
      },
    });
    expect(result.stdout).toContain('graceful');
    expect(result.code).toBe(3);
  });

  it('reports a schema-valid isolation naming bubblewrap', async () => {
    const prepared = await prepareIsolation(request({ socketPath }));
    await prepared.release();
    const report = IsolationReport.parse(prepared.isolation);
    expect(report).toMatchObject({ sandboxed: true, mechanism: 'bubblewrap', network: false, not_applied: [] });
    expect(report.applied).toEqual(expect.arrayContaining(['private /tmp', 'no network', 'all capabilities dropped']));
    expect(prepared.command).toMatch(/bwrap$/);
  });
});

describe('without bubblewrap', () => {
  it('refuses a sandboxed spawn with a clear error', async () => {
    const attempt = prepareIsolation(request({}), { bwrapPath: MISSING_BWRAP });
    await expect(attempt).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(attempt).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message:
        'bubblewrap (bwrap) is not installed: install the Debian package bubblewrap, or start the kernel with --allow-degraded-isolation to run sandboxed agents without it',
    });
    await expect(ensureSandboxAvailable(false, { bwrapPath: MISSING_BWRAP })).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(ensureSandboxAvailable(true, { bwrapPath: MISSING_BWRAP })).resolves.toBeUndefined();
  });

  it('names opting out as a way on when the sandbox is only the default', async () => {
    const attempt = ensureSandboxAvailable(false, { bwrapPath: MISSING_BWRAP }, { byDefault: true });
    await expect(attempt).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const { message } = (await attempt.catch((error: unknown) => error)) as Error;
    expect(message).toMatch(/^bubblewrap \(bwrap\) is not installed, and this agent would run sandboxed by default/);
    for (const way of ['install bubblewrap', '"sandboxed": false', '--allow-degraded-isolation']) expect(message).toContain(way);
    await expect(ensureSandboxAvailable(true, { bwrapPath: MISSING_BWRAP }, { byDefault: true })).resolves.toBeUndefined();
  });

  it('refuses a bwrap that exists but cannot build a sandbox, saying why', async () => {
    const attempt = prepareIsolation(request({}), { bwrapPath: '/bin/false' });
    await expect(attempt).rejects.toThrow(/cannot create a sandbox on this machine|not installed/);
  });

  it('runs unsandboxed in degraded mode and says what is missing', async () => {
    const host = join(await mkdtemp(join(tmpdir(), 'agentos-degraded-')), 'written');
    try {
      const result = await run({ ...sh(`echo degraded > ${host}`), allowDegraded: true }, { bwrapPath: MISSING_BWRAP });
      expect(result.code).toBe(0);
      // Nothing stopped the write: that is what degraded means, and the report says so.
      expect(await readFile(host, 'utf8')).toBe('degraded\n');
      const report = IsolationReport.parse(result.prepared.isolation);
      expect(report).toMatchObject({ sandboxed: false, mechanism: 'none', network: true, applied: [] });
      expect(report.not_applied.map((entry) => entry.what)).toEqual([
        'sandbox',
        'private /tmp',
        'read-only system directories',
        'no network',
      ]);
      expect(report.not_applied[0]!.why).toContain('bubblewrap (bwrap) is not installed');
      expect(report.not_applied[0]!.why).toContain('--allow-degraded-isolation');
    } finally {
      await rm(join(host, '..'), { recursive: true, force: true });
    }
  });

  it('does not ask for bwrap when the spawn is not sandboxed', async () => {
    const prepared = await prepareIsolation(request({ sandboxed: false }), { bwrapPath: MISSING_BWRAP });
    expect(prepared.isolation).toEqual({ sandboxed: false, mechanism: 'none', network: true, applied: [], not_applied: [] });
    expect([prepared.command, ...prepared.args]).toEqual(['/bin/sh', '-c', 'true']);
  });
});
