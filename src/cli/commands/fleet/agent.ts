/** `agentos agent run|list|stop`: deploy a script to machines through the relay, see and stop what runs there. */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { type Command, Option } from 'commander';
import type { DeployOutcome, RemoteAgentView, StopOutcome } from '../../../relay/fleet/schemas.js';
import { Deploy } from '../../../relay/protocol/schemas.js';
import { out, printJson, table } from '../../output.js';
import { addFleetOptions, FleetCliError, type FleetFlags } from './fleet-client.js';
import { formatTime, parseJsonObject, runFleet } from './format.js';

/** Far above what a relay accepts in one message (1 MiB by default); only a guard against reading a disk image. */
const MAX_SCRIPT_BYTES = 64 * 1024 * 1024;

interface RunFlags extends FleetFlags {
  machine?: string;
  all?: boolean;
  name?: string;
  arg: string[];
  interpreter?: string;
  ceiling?: Record<string, unknown>;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Outcomes as a table; exit 1 when any machine failed. */
function printOutcomes(results: (DeployOutcome | StopOutcome)[], json: boolean, what: string): number {
  if (json) printJson(results);
  else if (results.length === 0) out(`no machines to ${what} on`);
  else
    out(
      table(
        ['MACHINE', 'RESULT', 'DETAIL'],
        results.map((r) => [
          r.machine_id,
          r.ok ? 'ok' : (r.code ?? 'failed'),
          r.ok ? ('agent_id' in r && r.agent_id !== undefined ? `agent ${r.agent_id}` : '') : (r.error ?? ''),
        ]),
      ),
    );
  // Nothing deployed anywhere (--all with no machine online) is a failure too.
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}

async function readScript(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new FleetCliError(`${path}: not a file`);
    if (info.size > MAX_SCRIPT_BYTES) throw new FleetCliError(`${path}: ${info.size} bytes is too large for a script`);
    const bytes = await readFile(path);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof FleetCliError) throw error;
    if (error instanceof TypeError) throw new FleetCliError(`${path}: not UTF-8 text (a script travels as text)`);
    throw new FleetCliError(`${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Checked here so the user hears which flag to change, not which JSON field. */
function checked(value: string, schema: typeof Deploy.shape.name | typeof Deploy.shape.filename, what: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FleetCliError(`${what} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}

export function registerAgentCommand(program: Command): void {
  const agent = program.command('agent').description('remote agents through the relay: run a script on machines, list, stop');

  addFleetOptions(
    agent
      .command('run')
      .description('deploy a script to a machine (or every online machine) and start it there as a supervised agent')
      .argument('<script>', 'the script file; its content is sent')
      .addOption(new Option('--machine <id>', 'the machine to run it on').conflicts('all'))
      .addOption(new Option('--all', 'every online machine'))
      .option('--name <name>', 'the agent name (default: the script file name without extension)')
      .option('--arg <arg>', 'an argument for the script (repeat for more)', collect, [])
      .option('--interpreter <program>', 'run it with this interpreter (default: chosen by the file extension)')
      .addOption(new Option('--ceiling <json>', 'the most the agent may hold, a partial permission object').argParser(parseJsonObject)),
  ).action(async (script: string, flags: RunFlags) => {
    await runFleet(flags, async (client) => {
      if (flags.machine === undefined && flags.all !== true) throw new FleetCliError('agent run: pass --machine ID or --all');
      const filename = checked(basename(script), Deploy.shape.filename, 'script file name');
      const name = checked(
        flags.name ?? basename(script, extname(script)),
        Deploy.shape.name,
        flags.name ? '--name' : 'agent name (from the file name; pass --name)',
      );
      const content = await readScript(script);
      const { results } = await client.request<{ results: DeployOutcome[] }>('POST', '/v1/agents', {
        name,
        script: content,
        filename,
        ...(flags.arg.length > 0 ? { args: flags.arg } : {}),
        ...(flags.interpreter !== undefined ? { interpreter: flags.interpreter } : {}),
        ...(flags.ceiling !== undefined ? { ceiling: flags.ceiling } : {}),
        ...(flags.all ? { all: true } : { machine_id: flags.machine }),
      });
      return printOutcomes(results, flags.json === true, 'deploy');
    });
  });

  addFleetOptions(
    agent.command('list').description('remote agent sessions and deployed agents').option('--machine <id>', 'only this machine'),
  ).action(async (flags: FleetFlags & { machine?: string }) => {
    await runFleet(flags, async (client) => {
      const query = flags.machine !== undefined ? `?machine=${encodeURIComponent(flags.machine)}` : '';
      const { agents } = await client.request<{ agents: RemoteAgentView[] }>('GET', `/v1/agents${query}`);
      if (flags.json) return printJson(agents);
      if (agents.length === 0) return out('no remote agents');
      out(
        table(
          ['KIND', 'MACHINE', 'NAME', 'ID', 'SINCE'],
          agents.map((a) => [
            a.kind,
            a.machine_id,
            a.name ?? '-',
            a.kind === 'session' ? `session ${a.session}` : `agent ${a.agent_id}`,
            formatTime(a.since),
          ]),
        ),
      );
    });
  });

  addFleetOptions(
    agent
      .command('stop')
      .description('stop a deployed agent wherever it runs (or on one machine)')
      .argument('<name>', 'the agent name')
      .option('--machine <id>', 'only on this machine'),
  ).action(async (name: string, flags: FleetFlags & { machine?: string }) => {
    await runFleet(flags, async (client) => {
      const query = flags.machine !== undefined ? `?machine=${encodeURIComponent(flags.machine)}` : '';
      const { results } = await client.request<{ results: StopOutcome[] }>('DELETE', `/v1/agents/${encodeURIComponent(name)}${query}`);
      return printOutcomes(results, flags.json === true, 'stop');
    });
  });
}
