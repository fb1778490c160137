/** `agentos ping`: round-trip times of NOOP to the kernel. */
import { type Command, InvalidArgumentError } from 'commander';
import { AgentOSClient } from '../../sdk/client.js';
import { AgentOSError } from '../../sdk/errors.js';
import { fail, out, table } from '../output.js';
import { socketOption, socketPathFrom } from '../socket-option.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('expected a count from 1 to 100000');
  return n;
}

export function registerPingCommand(program: Command): void {
  program
    .command('ping')
    .description('measure round trips to the kernel (NOOP)')
    .addOption(socketOption())
    .option('-c, --count <n>', 'how many pings', count, 5)
    .option('--json', 'print the result as JSON for machines')
    .action(async (flags: { socket?: string; count: number; json?: boolean }) => {
      const socketPath = socketPathFrom(flags);
      let client: AgentOSClient;
      try {
        client = await AgentOSClient.connect({ socketPath, name: 'agentos-ping' });
      } catch (error) {
        fail(error instanceof AgentOSError ? error.message : String(error));
      }
      const hello = client.helloReply;
      const times: number[] = [];
      for (let seq = 1; seq <= flags.count; seq++) {
        const payload = Buffer.from(`ping ${seq}`);
        const started = process.hrtime.bigint();
        const echo = await client.noop(payload);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (!echo.equals(payload)) fail(`ping ${seq}: the kernel echoed different bytes`);
        times.push(ms);
      }
      await client.close();
      const sorted = [...times].sort((a, b) => a - b);
      const summary = {
        socket: socketPath,
        kernel_version: hello?.kernel_version,
        agent_id: hello?.agent_id,
        count: times.length,
        min_ms: sorted[0] ?? 0,
        avg_ms: times.reduce((a, b) => a + b, 0) / times.length,
        p50_ms: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
        max_ms: sorted[sorted.length - 1] ?? 0,
      };
      if (flags.json) {
        out(JSON.stringify({ ...summary, times_ms: times }));
        return;
      }
      out(`ping ${socketPath}: kernel ${summary.kernel_version}, agent ${summary.agent_id}`);
      if (times.length <= 20)
        out(
          table(
            ['seq', 'time (ms)'],
            times.map((ms, i) => [i + 1, Number(ms.toFixed(3))]),
          ),
        );
      out(
        `${times.length} pings: min ${summary.min_ms.toFixed(3)} ms, avg ${summary.avg_ms.toFixed(3)} ms, p50 ${summary.p50_ms.toFixed(3)} ms, max ${summary.max_ms.toFixed(3)} ms`,
      );
    });
}
