/**
 * An acknowledged STORE survives kill -9 of the kernel: the kernel runs in a child
 * process, a client stores keys, the child is SIGKILLed right after the last reply, and
 * a new kernel on the same data directory finds every key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentOSClient } from '../../src/sdk/client.js';
import { until } from '../agents/support.js';
import { startTestKernel } from '../helpers/kernel.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KERNEL_ENTRY = fileURLToPath(new URL('../../src/kernel/index.ts', import.meta.url));
const HOST_SCRIPT = `import { startKernel } from ${JSON.stringify(KERNEL_ENTRY)};
const [socketPath, dataDir] = process.argv.slice(2);
await startKernel({ socketPath, dataDir, httpPort: null, logLevel: 'warn' });
process.stdout.write('kernel ready\\n');
`;

const dir = mkdtempSync(join(tmpdir(), 'agentos-state-kill-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('durability', () => {
  it('every acknowledged STORE, CAS and INCR survives kill -9 of the kernel', async () => {
    const host = join(dir, 'host.mjs');
    writeFileSync(host, HOST_SCRIPT);
    const socketPath = join(dir, 'agentos.sock');
    const dataDir = join(dir, 'data');
    const kernel = spawn(process.execPath, ['--import', 'tsx', host, socketPath, dataDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = kernel;
    let output = '';
    kernel.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    kernel.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await until(() => output.includes('kernel ready'), `the kernel host to start:\n${output}`, 20_000);

    const c = await AgentOSClient.connect({ socketPath, token: null });
    const N = 50;
    // Pipelined: the kernel is killed as soon as the last acknowledgement arrives.
    const replies = await Promise.all([
      ...Array.from({ length: N }, (_, i) => c.call('STORE', { key: `k${i}`, value: { i }, scope: 'global' })),
      c.call('CAS', { key: 'cas', expected: null, value: 'set', scope: 'global' }),
      ...Array.from({ length: 10 }, () => c.call('INCR', { key: 'n', scope: 'global' })),
    ]);
    kernel.kill('SIGKILL');
    expect(replies.every((reply) => (reply as { success: boolean }).success)).toBe(true);
    const [, signal] = await once(kernel, 'exit');
    expect(signal).toBe('SIGKILL');
    await c.close().catch(() => {});

    const again = await startTestKernel({ dataDir });
    try {
      const d = await AgentOSClient.connect({ socketPath: again.socketPath, token: null });
      const keys = (await d.call('KEYS', { prefix: 'k', scope: 'global' })) as { keys: string[] };
      expect(keys.keys).toHaveLength(N);
      expect(await d.call('FETCH', { key: `k${N - 1}`, scope: 'global' })).toMatchObject({ exists: true, value: { i: N - 1 } });
      expect(await d.call('FETCH', { key: 'cas', scope: 'global' })).toMatchObject({ value: 'set' });
      expect(await d.call('FETCH', { key: 'n', scope: 'global' })).toMatchObject({ value: 10 });
      await d.close();
    } finally {
      await again.cleanup();
    }
  }, 60_000);
});
