/** `agentos call OP [JSON]`: one syscall, its reply printed. */
import type { Command } from 'commander';
import { resolveOp } from '../../protocol/opcodes.js';
import type { AgentOSClient } from '../../sdk/client.js';
import { AgentOSError } from '../../sdk/errors.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out, printJson } from '../output.js';
import { socketOption } from '../socket-option.js';

export function registerCallCommand(program: Command): void {
  program
    .command('call')
    .description('make one syscall and print its reply, e.g. agentos call EXEC \'{"command":"ls"}\'')
    .argument('<op>', 'opcode name or number (EXEC, 0x02, 2)')
    .argument('[json]', 'the request payload as JSON (default {}); for NOOP, any text')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'print the reply as compact JSON for machines')
    .action(async (op: string, json: string | undefined, flags: ConnectFlags & { json?: boolean }) => {
      const info = resolveOp(op);
      if (info === undefined) fail(`unknown op ${JSON.stringify(op)}; protocol.md §5 lists the opcodes`, 2);
      let payload: unknown;
      if (info.name === 'NOOP') payload = Buffer.from(json ?? '');
      else if (json !== undefined) {
        try {
          payload = JSON.parse(json);
        } catch (error) {
          fail(`the payload is not valid JSON: ${(error as Error).message}`, 2);
        }
      }
      let client: AgentOSClient | undefined;
      try {
        client = await connectCli(flags, 'agentos-cli');
        const reply = await client.call(info.code, payload);
        if (Buffer.isBuffer(reply))
          out(flags.json ? JSON.stringify({ success: true, data: reply.toString('utf8') }) : reply.toString('utf8'));
        else if (flags.json) out(JSON.stringify(reply));
        else printJson(reply);
      } catch (error) {
        if (error instanceof AgentOSError) {
          if (flags.json && error.reply) out(JSON.stringify(error.reply));
          fail(`${info.name} failed: ${error.code}: ${error.message}`);
        }
        throw error;
      } finally {
        await client?.close();
      }
    });
}
