/**
 * The kernel `world run` starts in its own process when none answers at --socket: a
 * temporary socket and data directory, logs to a file there (stderr is the progress
 * line's), all removed when the run ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kernel, startKernel } from '../../kernel/kernel.js';

export interface EmbeddedKernel {
  readonly kernel: Kernel;
  readonly dir: string;
  readonly socketPath: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export async function startEmbeddedKernel(): Promise<EmbeddedKernel> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-world-run-'));
  const socketPath = join(dir, 'agentos.sock');
  const dataDir = join(dir, 'data');
  let kernel: Kernel;
  try {
    kernel = await startKernel({ socketPath, dataDir, httpPort: null, logLevel: 'warn', logFile: join(dir, 'kernel.log') });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    kernel,
    dir,
    socketPath,
    dataDir,
    async stop() {
      await kernel.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
