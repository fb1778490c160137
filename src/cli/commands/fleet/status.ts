/**
 * `agentos status`: the relay's /v1/status and, when a kernel answers on --socket, its
 * tunnel (TUNNEL_STATUS). A kernel that is absent, or too old to know TUNNEL_STATUS, is a
 * one-line note, not a failure: the command is about the relay first.
 */
import type { Command } from 'commander';
import type { RelayStatusView } from '../../../relay/fleet/hub.js';
import { AgentOSError } from '../../../sdk/errors.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../../connect.js';
import { out, printJson, table } from '../../output.js';
import { socketOption, socketPathFrom } from '../../socket-option.js';
import { addFleetOptions, FleetClient, type FleetFlags } from './fleet-client.js';
import { formatTime } from './format.js';

type Tunnel = { tunnel: Record<string, unknown> } | { note: string };

async function localTunnel(flags: ConnectFlags): Promise<Tunnel> {
  let client: Awaited<ReturnType<typeof connectCli>>;
  try {
    client = await connectCli(flags, 'agentos-status');
  } catch {
    return { note: `no kernel answers on ${socketPathFrom(flags)}` };
  }
  try {
    const reply = (await client.call('TUNNEL_STATUS', {})) as Record<string, unknown>;
    const { success: _success, ...tunnel } = reply;
    return { tunnel };
  } catch (error) {
    if (error instanceof AgentOSError && error.code === 'UNSUPPORTED_OPCODE')
      return { note: `the kernel on ${socketPathFrom(flags)} has no tunnel (TUNNEL_STATUS unsupported)` };
    if (error instanceof AgentOSError && error.code === 'PERMISSION_DENIED')
      return { note: `the kernel on ${socketPathFrom(flags)} refused TUNNEL_STATUS (it needs the kernel's admin token: --data-dir)` };
    return { note: `the kernel on ${socketPathFrom(flags)} could not say: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await client.close().catch(() => {});
  }
}

function printTunnel(tunnel: Tunnel): void {
  if ('note' in tunnel) {
    out(`kernel tunnel: ${tunnel.note}`);
    return;
  }
  const t = tunnel.tunnel;
  const time = (value: unknown) => (typeof value === 'number' ? formatTime(value) : '-');
  const rows: [string, string][] = [
    ['state', String(t.state ?? '-')],
    ['relay', String(t.relay_url ?? '-')],
    ['machine', String(t.machine_id ?? '-')],
    ['remote agents', String(t.remote_agent_count ?? 0)],
    ['connected since', time(t.connected_since)],
    ['reconnects', String(t.reconnects ?? 0)],
    ['last error', t.last_error ? String(t.last_error) : '-'],
    ['next retry', time(t.next_retry_at)],
  ];
  out('kernel tunnel:');
  out(indent(table(['', ''], rows)));
}

function indent(text: string): string {
  return text
    .split('\n')
    .slice(1)
    .map((line) => `  ${line}`)
    .join('\n');
}

export function registerStatusCommand(program: Command): void {
  addFleetOptions(
    program
      .command('status')
      .description("the relay's status, and the local kernel's tunnel when a kernel answers on --socket")
      .addOption(socketOption())
      .addOption(dataDirOption()),
  ).action(async (flags: FleetFlags & ConnectFlags) => {
    let relay: RelayStatusView | undefined;
    let relayError: string | undefined;
    try {
      const client = await FleetClient.from(flags);
      relay = await client.request<RelayStatusView>('GET', '/v1/status');
    } catch (error) {
      relayError = error instanceof Error ? error.message : String(error);
    }
    const tunnel = await localTunnel(flags);
    if (flags.json) {
      printJson({ relay: relay ?? null, ...(relayError ? { relay_error: relayError } : {}), ...tunnel });
    } else {
      if (relay !== undefined) {
        out('relay:');
        out(
          indent(
            table(
              ['', ''],
              [
                ['version', relay.version],
                ['uptime', `${Math.round(relay.uptime_ms / 1000)} s`],
                ['machines', `${relay.machines_online} online of ${relay.machines_known} known`],
                ['sessions', String(relay.sessions)],
                ['deployments', String(relay.deployments)],
                ['calls forwarded', String(relay.calls_forwarded)],
                ['calls rate-limited', String(relay.calls_rate_limited)],
              ],
            ),
          ),
        );
      }
      printTunnel(tunnel);
    }
    if (relayError !== undefined) {
      process.stderr.write(`agentos: ${relayError}\n`);
      process.exitCode = 1;
    }
  });
}
