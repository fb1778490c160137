/** `agentos tokens create machine|agent`, `tokens list`, `tokens revoke ID`: the relay's tokens over its REST API. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LEVELS, type Level, PRESETS } from '../../../protocol/schemas/permissions.js';
import type { CreatedToken, TokenRecord } from '../../../relay/tokens/schema.js';
import { out, printJson, table } from '../../output.js';
import { addFleetOptions, type FleetFlags } from './fleet-client.js';
import { formatTime, parseDuration, parseJsonObject, runFleet } from './format.js';

interface CreateFlags extends FleetFlags {
  label?: string;
  expires?: number;
}

function machineList(text: string): string[] | '*' {
  if (text.trim() === '*') return '*';
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError("expected machine ids separated by commas, or '*'");
  return ids;
}

function scopeOf(record: TokenRecord): string {
  if (record.kind === 'machine') return record.machine_id ?? '-';
  return record.machines === '*' ? '*' : (record.machines ?? []).join(',');
}

function stateOf(record: TokenRecord, now = Date.now()): string {
  if (record.revoked_at !== null) return 'revoked';
  if (record.expires_at !== null && record.expires_at <= now) return 'expired';
  return 'active';
}

function printCreated(created: CreatedToken, json: boolean): void {
  if (json) printJson(created);
  else {
    out(`created ${created.kind} token ${created.id} for ${scopeOf(created)} (expires ${formatTime(created.expires_at)})`);
    out(created.token);
  }
  process.stderr.write('agentos: this token is shown only this once: store it now (the relay keeps only its hash)\n');
}

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').description("the relay's machine and agent tokens: create, list, revoke");
  const create = tokens.command('create').description('a new token, printed this once');

  addFleetOptions(
    create
      .command('machine')
      .description('a token a kernel presents to link to the relay as this machine')
      .requiredOption('--machine-id <id>', 'the machine id the token may claim')
      .option('--label <label>', 'a note for the token list')
      .option('--expires <duration>', 'lifetime: 90s, 15m, 1h, 30d, 2w (default: never)', parseDuration),
  ).action(async (flags: CreateFlags & { machineId: string }) => {
    await runFleet(flags, async (client) => {
      const created = await client.request<CreatedToken>('POST', '/v1/tokens', {
        kind: 'machine',
        machine_id: flags.machineId,
        ...(flags.label !== undefined ? { label: flags.label } : {}),
        ...(flags.expires !== undefined ? { expires_in_s: flags.expires } : {}),
      });
      printCreated(created, flags.json === true);
    });
  });

  addFleetOptions(
    create
      .command('agent')
      .description('a token a remote agent presents to reach the machines it names')
      .requiredOption('--machines <ids>', "machine ids separated by commas, or '*' for every machine", machineList)
      .addOption(new Option('--ceiling <json>', 'the most the agent may hold, a partial permission object').argParser(parseJsonObject))
      .addOption(new Option('--level <level>', "a level's permissions as the ceiling").choices(LEVELS).conflicts('ceiling'))
      .option('--label <label>', 'a note for the token list')
      .option('--expires <duration>', 'lifetime: 90s, 15m, 1h, 30d, 2w (default: never)', parseDuration),
  ).action(async (flags: CreateFlags & { machines: string[] | '*'; ceiling?: Record<string, unknown>; level?: Level }) => {
    await runFleet(flags, async (client) => {
      const ceiling = flags.level !== undefined ? PRESETS[flags.level] : flags.ceiling;
      const created = await client.request<CreatedToken>('POST', '/v1/tokens', {
        kind: 'agent',
        machines: flags.machines,
        ...(ceiling !== undefined ? { ceiling } : {}),
        ...(flags.label !== undefined ? { label: flags.label } : {}),
        ...(flags.expires !== undefined ? { expires_in_s: flags.expires } : {}),
      });
      printCreated(created, flags.json === true);
    });
  });

  addFleetOptions(tokens.command('list').description('every token, oldest first (never a secret)')).action(async (flags: FleetFlags) => {
    await runFleet(flags, async (client) => {
      const { tokens: records } = await client.request<{ tokens: TokenRecord[] }>('GET', '/v1/tokens');
      if (flags.json) return printJson(records);
      if (records.length === 0) return out('no tokens');
      out(
        table(
          ['ID', 'KIND', 'SCOPE', 'STATE', 'CREATED', 'EXPIRES', 'LABEL'],
          records.map((r) => [r.id, r.kind, scopeOf(r), stateOf(r), formatTime(r.created_at), formatTime(r.expires_at), r.label ?? '']),
        ),
      );
    });
  });

  addFleetOptions(
    tokens.command('revoke').description('revoke a token: its live sessions end at once').argument('<id>', 'the token id'),
  ).action(async (id: string, flags: FleetFlags) => {
    await runFleet(flags, async (client) => {
      const reply = await client.request<{ id: string; revoked: true; sessions_closed: number }>(
        'DELETE',
        `/v1/tokens/${encodeURIComponent(id)}`,
      );
      if (flags.json) return printJson(reply);
      out(`revoked token ${reply.id} (${reply.sessions_closed} session(s) closed)`);
    });
  });
}
