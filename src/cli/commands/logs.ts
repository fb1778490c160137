/** `agentos logs NAME [-f]`: a process agent's stdout and stderr. */
import { type Command, InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import type { LogsReply } from '../../protocol/schemas/agents.js';
import { AgentOSError } from '../../sdk/errors.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out } from '../output.js';
import { socketOption } from '../socket-option.js';

type Reply = z.output<typeof LogsReply>;

function lineCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a number of lines from 1 to 10000');
  return n;
}

function print(reply: Reply, json: boolean): void {
  for (const line of reply.lines) {
    if (json) out(JSON.stringify(line));
    else if (line.stream === 'stderr') process.stderr.write(`${line.text}\n`);
    else if (line.stream === 'kernel') out(`[agentos] ${line.text}`);
    else out(line.text);
  }
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("print a process agent's output (stdout, stderr, and the kernel's notes on starts and exits)")
    .argument('<agent>', 'agent name or id')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('-n, --lines <n>', 'how many of the newest lines to print first', lineCount, 200)
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'one JSON object per line: seq, stream, text, timestamp')
    .action(async (agent: string, flags: ConnectFlags & { follow?: boolean; lines: number; json?: boolean }) => {
      const target = /^\d+$/.test(agent) ? { id: Number(agent) } : { name: agent };
      try {
        const client = await connectCli(flags, 'agentos-logs');
        let reply = (await client.call('LOGS', { ...target, lines: flags.lines })) as Reply;
        print(reply, flags.json ?? false);
        while (flags.follow && !reply.ended) {
          // By id from now on: the name is released when the agent ends, its last lines are kept by id.
          const next = { id: reply.agent_id, after_seq: reply.next_seq, lines: 1000, wait_ms: 30_000 };
          reply = (await client.call('LOGS', next)) as Reply;
          print(reply, flags.json ?? false);
        }
        await client.close();
      } catch (error) {
        fail(error instanceof AgentOSError ? error.message : String(error));
      }
    });
}
