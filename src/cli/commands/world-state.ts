/** `agentos world state ID|NAME [--watch]`: the world's figures, once or refreshed every second. */
import type { Command } from 'commander';
import type { AgentOSClient } from '../../sdk/client.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out } from '../output.js';
import { socketOption } from '../socket-option.js';
import { renderState, viewState } from './world-report.js';
import { describeFailure, resolveWorld } from './world-shared.js';

const WATCH_INTERVAL_MS = 1000;

async function show(client: AgentOSClient, worldId: string, json: boolean, redraw: boolean): Promise<void> {
  const { state } = await client.worldState(worldId);
  if (json) {
    // --watch --json: one document per line, so a reader can parse each refresh.
    out(redraw ? JSON.stringify(state) : JSON.stringify(state, null, 2));
    return;
  }
  // Clear the screen only on a terminal; piped output keeps every refresh.
  if (redraw && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
  out(renderState(viewState(state)));
  if (redraw && !process.stdout.isTTY) out('');
}

export function registerWorldStateCommand(world: Command): void {
  world
    .command('state')
    .description("a world's clock, members, active effects, recent events, file and network counters, syscalls and score")
    .argument('<world>', 'world id or name')
    .option('--watch', 'refresh every second until interrupted (Ctrl-C)')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'print the full WORLD_STATE as JSON')
    .action(async (idOrName: string, flags: ConnectFlags & { json?: boolean; watch?: boolean }) => {
      let client: AgentOSClient | undefined;
      try {
        client = await connectCli(flags, 'agentos-world');
        const worldId = await resolveWorld(client, idOrName);
        await show(client, worldId, flags.json ?? false, flags.watch ?? false);
        if (!flags.watch) return await client.close();
        let stopped = false;
        process.once('SIGINT', () => {
          stopped = true;
        });
        while (!stopped) {
          await new Promise((done) => setTimeout(done, WATCH_INTERVAL_MS));
          if (!stopped) await show(client, worldId, flags.json ?? false, true);
        }
        await client.close();
      } catch (error) {
        await client?.close().catch(() => {});
        fail(describeFailure(error));
      }
    });
}
