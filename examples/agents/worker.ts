// A worker-thread agent: kernel.spawnWorker(file, options) runs worker-agent.ts's default
// export in a worker thread, supervised like any other agent.
// Run: node --import tsx examples/agents/run.ts worker
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kernel } from '../../src/index.js';

export async function runWorkerExample(kernel: Kernel, out: string, say: (line: string) => void): Promise<void> {
  const exited = new Promise<string>((resolve) => {
    const off = kernel.events.on((event) => {
      if (event.type === 'AGENT_EXITED' && event.data.name === 'indexer') {
        off();
        resolve(String(event.data.reason));
      }
    });
  });
  const handle = await kernel.spawnWorker(join(import.meta.dirname, 'worker-agent.ts'), {
    name: 'indexer',
    restart: 'transient',
    input: { dir: import.meta.dirname, out },
  });
  say(`[worker] spawned agent ${handle.id} "${handle.name}" (a worker thread)`);
  const reason = await exited;
  const summary = (await readFile(out, 'utf8')).split(':')[0];
  say(`[worker] it indexed examples/agents: ${summary}; exit: ${reason}`);
}
