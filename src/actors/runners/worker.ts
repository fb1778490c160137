/**
 * An agent whose code runs in a worker thread: the module's default export is called
 * with a syscall client (the SDK's typed API, reached through comlink over a
 * MessagePort) and its launch input. Returning ends the agent normally; throwing is
 * a crash; a stop signal terminates the thread.
 */
import { createRequire } from 'node:module';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { WorkerLaunch } from '../../agents/launch.js';
import type { Logger } from '../../kernel/logger.js';
import type { Runner } from './runner.js';

const require = createRequire(import.meta.url);
// comlink's UMD build loads under require() in both the kernel and the worker.
const Comlink = require('comlink') as typeof import('comlink');
const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (port: unknown) => import('comlink').Endpoint;

const PATHS = {
  comlink: require.resolve('comlink'),
  adapter: require.resolve('comlink/dist/umd/node-adapter.js'),
  tsx: require.resolve('tsx/cjs/api'),
};

/**
 * Runs in the worker (eval'd as CommonJS: on Node 20 a worker cannot load a .ts file
 * by itself, so TypeScript agents get tsx registered here first).
 */
const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
(async () => {
  const { file, paths, port, input } = workerData;
  if (/\\.[mc]?ts$/.test(file)) require(paths.tsx).register();
  const Comlink = require(paths.comlink);
  const nodeEndpoint = require(paths.adapter);
  const os = Comlink.wrap(nodeEndpoint(port));
  const mod = /\\.[mc]?ts$/.test(file) ? require(file) : await import(pathToFileURL(file).href);
  const agent = typeof mod.default === 'function' ? mod.default : mod.agent;
  if (typeof agent !== 'function') throw new Error(file + ' exports no default function (the agent)');
  await agent(os, input);
  parentPort.postMessage({ type: 'done' });
})().catch((error) => parentPort.postMessage({ type: 'failed', error: String((error && error.stack) || error) }));
`;

export interface WorkerRunnerDeps {
  /** The agent's id and syscall client (`os`), built on first use. */
  agentInput(agentId: number, extra: unknown): Record<string, unknown>;
  log: Logger;
}

export function workerRunner(deps: WorkerRunnerDeps): Runner<WorkerLaunch> {
  return ({ input, sendBack, receive }) => {
    let ended = false;
    const channel = new MessageChannel();
    const { os } = deps.agentInput(input.agentId, undefined) as { os: object };
    Comlink.expose(os, nodeEndpoint(channel.port1));
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { file: input.launch.file, paths: PATHS, port: channel.port2, input: input.launch.input },
      transferList: [channel.port2],
      // The agent's code sees no copy of the kernel's environment.
      env: {},
    });
    const finish = (exitCode: number | null, signal: string | null, error?: string) => {
      if (ended) return;
      ended = true;
      channel.port1.close();
      void worker.terminate();
      sendBack({ type: 'run.exited', exitCode, signal, ...(error !== undefined && { error }) });
    };
    worker.on('message', (message: { type: string; error?: string }) => {
      if (message.type === 'done') finish(0, null);
      else if (message.type === 'failed') finish(1, null, message.error);
    });
    worker.on('error', (error) => finish(1, null, error.message));
    worker.on('exit', (code) => finish(code, null));
    worker.once('online', () => {
      if (!ended) sendBack({ type: 'run.started', pid: null });
    });
    receive((command) => {
      if (command.signal === 'SIGTERM' || command.signal === 'SIGKILL' || command.signal === 'SIGINT') finish(null, command.signal);
    });
    return () => {
      if (!ended) {
        ended = true;
        channel.port1.close();
        void worker.terminate();
      }
      deps.log.debug({ agent_id: input.agentId }, 'worker agent ended');
    };
  };
}
