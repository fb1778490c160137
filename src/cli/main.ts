/** The `agentos` command line. */
import { Command } from 'commander';
import { KERNEL_VERSION } from '../kernel/version.js';
import { registerCallCommand } from './commands/call.js';
import { registerAgentCommand } from './commands/fleet/agent.js';
import { registerConfigCommand } from './commands/fleet/config.js';
import { registerMachinesCommand } from './commands/fleet/machines.js';
import { registerStatusCommand } from './commands/fleet/status.js';
import { registerTokensCommand } from './commands/fleet/tokens.js';
import { registerKernelCommand } from './commands/kernel.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerPingCommand } from './commands/ping.js';
import { registerRelayCommand } from './commands/relay.js';
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
  registerRelayCommand(program);
  registerTokensCommand(program);
  registerMachinesCommand(program);
  registerAgentCommand(program);
  registerStatusCommand(program);
  registerConfigCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
