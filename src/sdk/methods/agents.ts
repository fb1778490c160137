/** Agents: SPAWN, KILL, LIST, PAUSE, RESUME, LOGS, TREE. */
import { Op } from '../../protocol/opcodes.js';
import type {
  AgentInfo,
  KillReply,
  LogsReply,
  PauseReply,
  ResumeReply,
  SpawnReply,
  SpawnRequest,
  TreeReply,
} from '../../protocol/schemas/agents.js';
import type { AgentRef, KillOptions, LogsOptions, Reply, Request } from '../types.js';
import type { Context } from './context.js';

/** The target fields of KILL, PAUSE, RESUME and LOGS. */
const target = (agent: AgentRef) => (typeof agent === 'number' ? { id: agent } : { name: agent });

export const agentMethods = ({ call }: Context) => ({
  /**
   * SPAWN a supervised process agent; it connects back with its AGENTOS_AGENT_TOKEN.
   * An agent with less than unrestricted rights runs in the OS sandbox unless the request
   * says `sandboxed: false` (the agent can then read the admin token). Needs can_spawn. Rejects with PERMISSION_DENIED (no can_spawn, or rights the caller
   * lacks), NOT_FOUND (no such script or cwd), INVALID_REQUEST (a bad field, no way to
   * run the script), CONFLICT (the name is taken), UNAVAILABLE (sandboxed without bubblewrap).
   */
  spawn(request: Request<typeof SpawnRequest>): Promise<Reply<typeof SpawnReply>> {
    return call(Op.SPAWN, request);
  },

  /**
   * KILL an agent (by id or name) and its process group: `signal`, then SIGKILL after
   * `graceMs`; resolves once it is gone. Reaches the caller's descendants (any agent for
   * an admin). Rejects with NOT_FOUND, PERMISSION_DENIED, INVALID_REQUEST (a client
   * connection), UNAVAILABLE (still starting).
   */
  kill(agent: AgentRef, options: KillOptions = {}): Promise<Reply<typeof KillReply>> {
    return call(Op.KILL, { ...target(agent), signal: options.signal, grace_ms: options.graceMs });
  },

  /** LIST every agent (the kernel answers a bare array). */
  list(): Promise<Reply<typeof AgentInfo>[]> {
    return call(Op.LIST, {});
  },

  /**
   * PAUSE a process agent (SIGSTOP to its group); pausing a paused agent succeeds. Rejects
   * with NOT_FOUND, PERMISSION_DENIED, INVALID_REQUEST (not a process agent), CONFLICT
   * (neither running nor paused, e.g. restarting).
   */
  pause(agent: AgentRef): Promise<Reply<typeof PauseReply>> {
    return call(Op.PAUSE, target(agent));
  },

  /** RESUME a paused process agent (SIGCONT); resuming a running one succeeds. Rejects as `pause` does. */
  resume(agent: AgentRef): Promise<Reply<typeof ResumeReply>> {
    return call(Op.RESUME, target(agent));
  },

  /**
   * LOGS: a process agent's output lines (stdout, stderr, the kernel's notes). Follow by
   * passing the reply's `next_seq` as `afterSeq` with a `waitMs`. An ended agent's last
   * lines stay readable by id a while (`ended: true`). Rejects with NOT_FOUND (no such
   * agent, or one without an output log) or PERMISSION_DENIED (not a descendant).
   */
  logs(agent: AgentRef, options: LogsOptions = {}): Promise<Reply<typeof LogsReply>> {
    return call(Op.LOGS, { ...target(agent), lines: options.lines, after_seq: options.afterSeq, wait_ms: options.waitMs });
  },

  /** TREE: the live supervision tree, from the kernel down. */
  tree(): Promise<Reply<typeof TreeReply>> {
    return call(Op.TREE, {});
  },
});
