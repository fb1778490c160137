/** `agentos machines list|show ID|remove ID`: the kernels the relay knows. */
import type { Command } from 'commander';
import type { DeploymentView, MachineView, SessionView } from '../../../relay/fleet/hub.js';
import { out, printJson, table } from '../../output.js';
import { addFleetOptions, type FleetFlags } from './fleet-client.js';
import { formatTime, runFleet } from './format.js';

export function registerMachinesCommand(program: Command): void {
  const machines = program.command('machines').description('the machines (kernels) the relay knows: list, show, remove');

  addFleetOptions(machines.command('list').description('every machine, online first')).action(async (flags: FleetFlags) => {
    await runFleet(flags, async (client) => {
      const { machines: list } = await client.request<{ machines: MachineView[] }>('GET', '/v1/machines');
      if (flags.json) return printJson(list);
      if (list.length === 0) return out('no machines');
      out(
        table(
          ['MACHINE', 'STATE', 'KERNEL', 'SESSIONS', 'DEPLOYED', 'LAST SEEN'],
          list.map((m) => [
            m.machine_id,
            m.online ? 'online' : 'offline',
            m.kernel_version ?? '-',
            m.sessions,
            m.deployments,
            formatTime(m.last_seen),
          ]),
        ),
      );
    });
  });

  addFleetOptions(
    machines.command('show').description('one machine with its sessions and deployments').argument('<id>', 'the machine id'),
  ).action(async (id: string, flags: FleetFlags) => {
    await runFleet(flags, async (client) => {
      const reply = await client.request<{ machine: MachineView; sessions: SessionView[]; deployments: DeploymentView[] }>(
        'GET',
        `/v1/machines/${encodeURIComponent(id)}`,
      );
      if (flags.json) return printJson(reply);
      const m = reply.machine;
      out(
        table(
          ['FIELD', 'VALUE'],
          [
            ['machine', m.machine_id],
            ['state', m.online ? 'online' : 'offline'],
            ['kernel', m.kernel_version ?? '-'],
            ['connected since', formatTime(m.connected_since)],
            ['first seen', formatTime(m.first_seen)],
            ['last seen', formatTime(m.last_seen)],
          ],
        )
          .split('\n')
          .slice(1)
          .join('\n'),
      );
      out();
      if (reply.sessions.length === 0) out('no remote agent sessions');
      else
        out(
          table(
            ['SESSION', 'NAME', 'TOKEN', 'SINCE', 'CALLS', 'IN FLIGHT'],
            reply.sessions.map((s) => [s.session, s.name ?? '-', s.token_id, formatTime(s.connected_since), s.calls, s.in_flight]),
          ),
        );
      out();
      if (reply.deployments.length === 0) out('no deployed agents');
      else
        out(
          table(
            ['NAME', 'AGENT', 'DEPLOYED'],
            reply.deployments.map((d) => [d.name, d.agent_id, formatTime(d.deployed_at)]),
          ),
        );
    });
  });

  addFleetOptions(
    machines
      .command('remove')
      .description('forget a machine: its machine tokens are revoked and its link closed')
      .argument('<id>', 'the machine id'),
  ).action(async (id: string, flags: FleetFlags) => {
    await runFleet(flags, async (client) => {
      const reply = await client.request<{ machine_id: string; removed: true; tokens_revoked: number; link_closed: boolean }>(
        'DELETE',
        `/v1/machines/${encodeURIComponent(id)}`,
      );
      if (flags.json) return printJson(reply);
      out(
        `removed machine ${reply.machine_id} (${reply.tokens_revoked} token(s) revoked, link ${reply.link_closed ? 'closed' : 'was not open'})`,
      );
    });
  });
}
