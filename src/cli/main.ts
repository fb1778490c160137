/** The `agentos` command line. */
import { Command } from 'commander';
import { KERNEL_VERSION } from '../kernel/version.js';
import { registerCallCommand } from './commands/call.js';
import { registerKernelCommand } from './commands/kernel.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerPingCommand } from './commands/ping.js';
import { registerStatechartsCommand } from './commands/statecharts.js';
import { registerTaskCommand } from './commands/task.js';
import { registerTreeCommand } from './commands/tree.js';
import { registerWorldCommand } from './commands/world.js';

export function buildProgram(): Command {
  const program = new Command('agentos')
    .description('AgentOS: an operating-system kernel for AI agents')
    .version(KERNEL_VERSION)
    .showHelpAfterError();
  registerKernelCommand(program);
  registerCallCommand(program);
  registerPingCommand(program);
  registerTreeCommand(program);
  registerLogsCommand(program);
  registerStatechartsCommand(program);
  registerWorldCommand(program);
  registerTaskCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
