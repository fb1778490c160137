/**
 * `agentos statecharts`: the kernel's state machines as Mermaid diagrams or JSON. Works
 * offline: the definitions come from the code, not from a running kernel.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { statechartOf, statePaths } from '../../statecharts/json.js';
import { toMermaid } from '../../statecharts/mermaid.js';
import { type ExportedMachine, STATECHARTS } from '../../statecharts/registry.js';
import { fail, out, printJson, table } from '../output.js';

type Format = 'json' | 'mermaid';

const EXTENSION: Record<Format, string> = { json: 'json', mermaid: 'mmd' };

/** What a JSON export holds for one machine. */
function jsonOf(entry: ExportedMachine) {
  return { name: entry.name, description: entry.description, machine: statechartOf(entry.machine) };
}

/** One machine in one format, ending with a newline; a Mermaid one starts with a `%%` header line. */
function render(entry: ExportedMachine, format: Format): string {
  if (format === 'json') return `${JSON.stringify(jsonOf(entry), null, 2)}\n`;
  return `%% ${entry.name}: ${entry.description}\n${toMermaid(statechartOf(entry.machine))}`;
}

/** The machines named on the command line, in registry order; all of them when none is. */
function select(names: string[]): ExportedMachine[] {
  const known = STATECHARTS.map((entry) => entry.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) fail(`no state machine named ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return names.length === 0 ? [...STATECHARTS] : STATECHARTS.filter((entry) => names.includes(entry.name));
}

export function registerStatechartsCommand(program: Command): void {
  const statecharts = program.command('statecharts').description("the kernel's state machines, as diagrams or JSON (offline)");

  statecharts
    .command('export')
    .description('write every state machine definition (or the named ones) as Mermaid or JSON')
    .argument('[names...]', 'machines to export (default: all; see `agentos statecharts list`)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'mermaid']).default('mermaid'))
    .option('--out <dir>', 'write one file per machine into DIR (created if missing) instead of printing')
    .action(async (names: string[], flags: { format: Format; out?: string }) => {
      const entries = select(names);
      if (flags.out === undefined) {
        if (flags.format === 'json') {
          // One JSON document (an array), so the output parses as a whole.
          printJson(entries.map(jsonOf));
          return;
        }
        out(
          entries
            .map((entry) => render(entry, flags.format))
            .join('\n')
            .trimEnd(),
        );
        return;
      }
      const rows: (string | number)[][] = [];
      try {
        await mkdir(flags.out, { recursive: true });
        for (const entry of entries) {
          const file = join(flags.out, `${entry.name}.${EXTENSION[flags.format]}`);
          await writeFile(file, render(entry, flags.format));
          rows.push([entry.name, statePaths(statechartOf(entry.machine)).length, file]);
        }
      } catch (error) {
        fail(`cannot write to ${flags.out}: ${error instanceof Error ? error.message : String(error)}`);
      }
      out(table(['machine', 'states', 'file'], rows));
    });

  statecharts
    .command('list')
    .description('the exported state machines: name, number of states, description')
    .option('--json', 'print the list as JSON for machines')
    .action((flags: { json?: boolean }) => {
      const rows = STATECHARTS.map((entry) => ({
        name: entry.name,
        states: statePaths(statechartOf(entry.machine)).length,
        description: entry.description,
      }));
      if (flags.json) {
        printJson(rows);
        return;
      }
      out(
        table(
          ['name', 'states', 'description'],
          rows.map((row) => [row.name, row.states, row.description]),
        ),
      );
    });
}
