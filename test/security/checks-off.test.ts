/**
 * permissionChecks: false (the kernel option that exists only for `npm run bench --only
 * perms`) turns the flag, path and command checks off, and nothing else: a minimal
 * agent then reads, writes and runs commands; with the default it is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

let unchecked: TestKernel;
let checked: TestKernel;

beforeAll(async () => {
  [unchecked, checked] = await Promise.all([
    startTestKernel({ defaultLevel: 'minimal', permissionChecks: false }),
    startTestKernel({ defaultLevel: 'minimal' }),
  ]);
});

afterAll(async () => {
  await Promise.all([unchecked?.cleanup(), checked?.cleanup()]);
});

describe('permissionChecks: false', () => {
  it('lets a minimal agent do what only checks refuse; the default refuses it', async () => {
    const free = await AgentOSClient.connect({ socketPath: unchecked.socketPath, token: null });
    const held = await AgentOSClient.connect({ socketPath: checked.socketPath, token: null });
    try {
      expect((await free.exec('echo ran')).stdout).toBe('ran\n');
      expect((await free.read('/etc/hostname')).size).toBeGreaterThan(0);
      const written = await free.write({ path: `${unchecked.dir}/free.txt`, content: 'x' });
      expect(written.bytes_written).toBe(1);
      await failure(held.exec('echo ran'), 'PERMISSION_DENIED');
      await failure(held.read('/etc/hostname'), 'PERMISSION_DENIED');
      // What is not a permission check stays: escalation through SET_PERMS is still refused.
      await failure(free.setPerms({ permissions: { can_network: true } }), 'PERMISSION_DENIED');
    } finally {
      await Promise.all([free.close(), held.close()]);
    }
  });
});
