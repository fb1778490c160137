/**
 * The kernel under test: `startKernel` in this process, exactly as the CLI starts it,
 * plus the bench side channel (event-loop delay on request over the IPC channel, see
 * lib/eld-channel.ts). Runs from the TypeScript sources through tsx.
 *
 * Usage: node --import tsx bench/kernel-host.ts --socket PATH --data-dir DIR
 * Prints `kernel ready socket=PATH` once the socket accepts connections.
 */
import { startKernel } from '../src/kernel/kernel.js';
import { need, parseArgs } from './lib/agnt.js';
import { installSideChannel } from './lib/eld-channel.js';

const args = parseArgs(process.argv.slice(2));
const kernel = await startKernel({
  socketPath: need(args, 'socket'),
  dataDir: need(args, 'data-dir'),
  httpPort: 0,
  logLevel: 'warn',
});
process.stdout.write(`kernel ready socket=${kernel.socketPath} http=${kernel.httpUrl ?? 'off'}\n`);

installSideChannel(() => kernel.stop());
const onSignal = () => {
  kernel.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
