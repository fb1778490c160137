/**
 * The relay's fleet commands (docs/relay.md §5, §12). `deploy` writes the script under
 * `<deploy-dir>/<name>/` (beside the data directory, which sandboxes cover) and SPAWNs it through the router as the tunnel's own
 * agent (`relay`), sandboxed, with the remote level narrowed by the deploy's ceiling and
 * restart policy on-failure; `stop` KILLs by name, only what the relay deployed. Every
 * command is answered once, with the kernel's refusal mapped to a relay code.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentRegistry } from '../agents/registry.js';
import type { Logger } from '../kernel/logger.js';
import type { Router } from '../kernel/router.js';
import type { Session } from '../kernel/session.js';
import { Op } from '../protocol/opcodes.js';
import { type Level, PRESETS } from '../protocol/schemas/permissions.js';
import type { KernelToRelay, MessageOf, RelayErrorCode } from '../relay/protocol/schemas.js';
import { narrowPermissions } from './remote-permissions.js';

type Deploy = Extract<MessageOf<'relay_to_kernel'>, { type: 'deploy' }>;
type Stop = Extract<MessageOf<'relay_to_kernel'>, { type: 'stop' }>;

/** Deploys and stops the relay may have running at once; more are refused, not queued. */
export const MAX_PENDING_COMMANDS = 64;

export interface DeploymentsDeps {
  registry: AgentRegistry;
  router: Pick<Router, 'dispatch'>;
  /** Scripts go in `<deployDir>/<name>/`. */
  deployDir: string;
  remoteLevel: Level;
  log: Logger;
  /** The tunnel's own agent as a session, made on first use. */
  relaySession(): Session;
  send(message: KernelToRelay): boolean;
}

interface Reply {
  success: boolean;
  code?: string;
  error?: string;
  agent_id?: number;
}

export class Deployments {
  readonly #deps: DeploymentsDeps;
  /** Agents the relay deployed: name → agent id, while they live. */
  readonly #deployed = new Map<string, number>();
  /** Names with a deploy or stop under way, so two commands never race on one name. */
  readonly #busy = new Set<string>();

  constructor(deps: DeploymentsDeps) {
    this.#deps = deps;
    deps.registry.onRemove((record) => {
      if (record.name === null || this.#deployed.get(record.name) !== record.id) return;
      this.#deployed.delete(record.name);
      // Ended for good without a stop (it exited, or ran out of restarts): the relay stops listing it.
      deps.send({ type: 'deployment_ended', name: record.name, agent_id: record.id });
    });
  }

  get count(): number {
    return this.#deployed.size;
  }

  /** On every authentication: what runs, so the relay forgets what ended while the link was down. */
  report(): void {
    const agents = [...this.#deployed].map(([name, agent_id]) => ({ name, agent_id }));
    this.#deps.send({ type: 'deployments', agents });
  }

  deploy(message: Deploy): Promise<void> {
    const fail = (code: RelayErrorCode, error: string) =>
      this.#deps.send({ type: 'deploy_result', request_id: message.request_id, ok: false, code, error });
    const refusal = this.#admit(message.name);
    if (refusal) {
      fail(refusal.code, refusal.error);
      return Promise.resolve();
    }
    this.#busy.add(message.name);
    return this.#deploy(message)
      .then(
        (agentId) => {
          this.#deployed.set(message.name, agentId);
          this.#deps.log.info({ name: message.name, agent_id: agentId }, 'relay deployed an agent');
          this.#deps.send({ type: 'deploy_result', request_id: message.request_id, ok: true, name: message.name, agent_id: agentId });
        },
        (error: unknown) => {
          const refusal = error instanceof DeployRefusal ? error : new DeployRefusal('INTERNAL', String(error));
          this.#deps.log.warn({ name: message.name, code: refusal.code, error: refusal.message }, 'relay deploy refused');
          fail(refusal.code, refusal.message);
        },
      )
      .finally(() => this.#busy.delete(message.name));
  }

  stop(message: Stop): Promise<void> {
    const fail = (code: RelayErrorCode, error: string) =>
      this.#deps.send({ type: 'stop_result', request_id: message.request_id, ok: false, code, error });
    const agentId = this.#deployed.get(message.name);
    if (agentId === undefined || this.#deps.registry.get(agentId) === undefined) {
      fail('NOT_FOUND', `no agent named "${message.name}" deployed by the relay is running`);
      return Promise.resolve();
    }
    if (this.#busy.has(message.name) || this.#busy.size >= MAX_PENDING_COMMANDS) {
      fail('CONFLICT', `a deploy or stop of "${message.name}" is under way (or too many are)`);
      return Promise.resolve();
    }
    this.#busy.add(message.name);
    // Forgotten before the KILL: a stopped agent is answered by stop_result, not deployment_ended.
    this.#deployed.delete(message.name);
    return Promise.resolve(this.#deps.router.dispatch(this.#deps.relaySession(), Op.KILL, { id: agentId }))
      .then(async (value) => {
        const reply = value as Reply;
        if (!reply.success) {
          if (this.#deps.registry.get(agentId) !== undefined) this.#deployed.set(message.name, agentId);
          fail(relayCode(reply.code), reply.error ?? 'KILL failed');
          return;
        }
        await rm(this.#directory(message.name), { recursive: true, force: true }).catch(() => {});
        this.#deps.log.info({ name: message.name, agent_id: agentId }, 'relay stopped an agent');
        this.#deps.send({ type: 'stop_result', request_id: message.request_id, ok: true, name: message.name });
      })
      .finally(() => this.#busy.delete(message.name));
  }

  #admit(name: string): { code: RelayErrorCode; error: string } | undefined {
    if (this.#busy.has(name)) return { code: 'CONFLICT', error: `a deploy or stop of "${name}" is under way` };
    if (this.#busy.size >= MAX_PENDING_COMMANDS) return { code: 'CONFLICT', error: 'too many deploys and stops under way; retry' };
    // Checked before the script is written: a running agent's file is never replaced under it.
    const holder = this.#deps.registry.byName(name);
    if (holder) return { code: 'CONFLICT', error: `an agent named "${name}" is running (agent ${holder.id})` };
    return undefined;
  }

  #directory(name: string): string {
    return join(this.#deps.deployDir, name);
  }

  /** Writes the script and SPAWNs it; rejects with the relay's code and the kernel's message. */
  async #deploy(message: Deploy): Promise<number> {
    const directory = this.#directory(message.name);
    const script = join(directory, message.filename ?? 'script');
    try {
      await rm(directory, { recursive: true, force: true });
      await mkdir(directory, { recursive: true, mode: 0o700 });
      // Executable: a script without a known extension runs by its #! line.
      await writeFile(script, message.script, { mode: 0o700 });
    } catch (error) {
      this.#deps.log.error({ err: error, name: message.name }, 'deploy: the script could not be written');
      throw new DeployRefusal('INTERNAL', `the kernel could not write the script: ${(error as Error).message}`);
    }
    const level = this.#deps.remoteLevel;
    const request = {
      name: message.name,
      script,
      args: message.args ?? [],
      ...(message.interpreter !== undefined && { interpreter: message.interpreter }),
      ...(message.env !== undefined && { env: message.env }),
      cwd: directory,
      level,
      permissions: narrowPermissions(PRESETS[level], message.ceiling),
      sandboxed: true,
      restart_policy: 'on-failure',
    };
    const reply = (await this.#deps.router.dispatch(this.#deps.relaySession(), Op.SPAWN, request)) as Reply;
    if (reply.success && typeof reply.agent_id === 'number') return reply.agent_id;
    await rm(directory, { recursive: true, force: true }).catch(() => {});
    throw new DeployRefusal(relayCode(reply.code), reply.error ?? 'SPAWN failed');
  }
}

/** Why a deploy failed, as deploy_result will say it. */
class DeployRefusal extends Error {
  readonly code: RelayErrorCode;

  constructor(code: RelayErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The kernel's error code as the relay's: the two it shares, else INTERNAL (the message says what). */
function relayCode(code: string | undefined): RelayErrorCode {
  return code === 'CONFLICT' || code === 'NOT_FOUND' ? code : 'INTERNAL';
}
