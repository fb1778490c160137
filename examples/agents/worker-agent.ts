// The code of a worker-thread agent: the module's default export gets `os` (the same
// typed syscall API as the SDK, reached through comlink) and its input. Returning ends
// the agent normally; throwing is a crash, restarted per its restart type.
// Started by worker.ts with kernel.spawnWorker.
import type { AgentOSClient } from '../../src/sdk/index.js';

type Os = Pick<AgentOSClient, 'exec' | 'write'>;

export default async function indexer(os: Os, input: { dir: string; out: string }): Promise<void> {
  const { stdout } = await os.exec(`ls -1 '${input.dir}'`);
  const files = stdout.split('\n').filter(Boolean);
  await os.write({ path: input.out, content: `${files.length} files: ${files.join(', ')}\n` });
}
