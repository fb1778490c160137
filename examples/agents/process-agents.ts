// Process agents: SPAWN starts a script as a supervised child of the kernel's `agents`
// supervisor; the script connects back with its AGENTOS_AGENT_TOKEN. The Python agent is
// spawned by a Python client (spawn.py, plain sockets), the Node agent through the SDK.
// Run: node --import tsx examples/agents/run.ts python node
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kernel } from '../../src/index.js';
import { AgentOSClient } from '../../src/sdk/index.js';

/** Resolves with the exit reason of the agent named `name`, once it ends. */
function exitOf(kernel: Kernel, name: string): Promise<string> {
  return new Promise((resolve) => {
    const off = kernel.events.on((event) => {
      if (event.type === 'AGENT_EXITED' && event.data.name === name) {
        off();
        resolve(`${event.data.reason} (code ${event.data.exit_code})`);
      }
    });
  });
}

function python(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout.trim()) : reject(new Error(`python3 ${args.join(' ')} exited ${code}`))));
  });
}

export async function runPythonExample(kernel: Kernel, out: string, say: (line: string) => void): Promise<void> {
  const exited = exitOf(kernel, 'py-agent');
  const reply = JSON.parse(
    await python([join(import.meta.dirname, 'spawn.py'), out], {
      AGENTOS_SOCKET: kernel.socketPath,
      AGENTOS_DATA_DIR: kernel.options.dataDir,
    }),
  ) as { agent_id: number; pid: number; restart_policy: string };
  say(`[python] spawn.py sent SPAWN: agent ${reply.agent_id} "py-agent", pid ${reply.pid}, restart_policy ${reply.restart_policy}`);
  const reason = await exited;
  say(`[python] ${(await readFile(out, 'utf8')).trim()}; exit: ${reason}`);
}

export async function runNodeExample(kernel: Kernel, out: string, say: (line: string) => void): Promise<void> {
  // An in-process client allowed to spawn (a socket client would present the admin token instead).
  const client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'launcher', level: 'unrestricted' }) });
  const exited = exitOf(kernel, 'node-agent');
  const reply = (await client.call('SPAWN', {
    name: 'node-agent',
    script: join(import.meta.dirname, 'node-agent.ts'),
    args: [out],
    restart_policy: 'on-failure',
  })) as { agent_id: number; pid: number };
  say(`[node] SPAWN through the SDK: agent ${reply.agent_id} "node-agent", pid ${reply.pid}`);
  const reason = await exited;
  say(`[node] ${(await readFile(out, 'utf8')).trim()}; exit: ${reason}`);
  await client.close();
}
