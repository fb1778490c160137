// An agent defined as XState logic and run inside the kernel with kernel.spawn. Its
// input is `{ agentId, os, ...input }`, where `os` is an AgentOSClient acting as this
// agent. Reaching its final state is a normal exit; an error would be a crash.
// Run: node --import tsx examples/agents/run.ts actor
import { assign, fromPromise, setup } from 'xstate';
import type { Kernel } from '../../src/index.js';
import type { AgentOSClient } from '../../src/sdk/index.js';

interface ClockInput {
  agentId: number;
  os: AgentOSClient;
  out: string;
}

export const clockAgent = setup({
  types: {
    input: {} as ClockInput,
    context: {} as ClockInput & { system: string },
    output: {} as string,
  },
  actors: {
    askSystem: fromPromise(async ({ input }: { input: { os: AgentOSClient } }) => (await input.os.exec('uname -s')).stdout.trim()),
    save: fromPromise(async ({ input }: { input: { os: AgentOSClient; path: string; content: string } }) => {
      await input.os.write({ path: input.path, content: input.content });
    }),
  },
  actions: {
    rememberSystem: assign({ system: (_, params: { system: string }) => params.system }),
  },
}).createMachine({
  id: 'clock',
  context: ({ input }) => ({ ...input, system: '' }),
  initial: 'asking',
  states: {
    asking: {
      invoke: {
        src: 'askSystem',
        input: ({ context }) => ({ os: context.os }),
        onDone: { target: 'saving', actions: { type: 'rememberSystem', params: ({ event }) => ({ system: event.output }) } },
      },
    },
    saving: {
      invoke: {
        src: 'save',
        input: ({ context }) => ({ os: context.os, path: context.out, content: `agent ${context.agentId} runs on ${context.system}\n` }),
        onDone: 'done',
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => context.system,
});

/** Spawn the clock agent and wait for it to finish. */
export async function runActorExample(kernel: Kernel, out: string, say: (line: string) => void): Promise<void> {
  const exited = new Promise<string>((resolve) => {
    const off = kernel.events.on((event) => {
      if (event.type === 'AGENT_EXITED' && event.data.name === 'clock') {
        off();
        resolve(String(event.data.reason));
      }
    });
  });
  // transient: a normal end is final, a crash would be restarted.
  const handle = await kernel.spawn(clockAgent, { name: 'clock', restart: 'transient', input: { out } });
  say(`[actor] spawned agent ${handle.id} "${handle.name}" (XState logic in the kernel)`);
  const reason = await exited;
  const { readFile } = await import('node:fs/promises');
  say(`[actor] it wrote: ${(await readFile(out, 'utf8')).trim()}; exit: ${reason}`);
}
