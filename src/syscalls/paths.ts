import { isAbsolute, resolve } from 'node:path';
import type { AgentSession } from '../kernel/agents.js';

/** Relative paths are the agent's, resolved against its working directory. */
export function resolveAgentPath(agent: AgentSession, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(agent.cwd, path);
}
