import { isAbsolute, resolve } from 'node:path';
import type { AgentRecord } from '../agents/registry.js';

/** Relative paths are the agent's, resolved against its working directory. */
export function resolveAgentPath(agent: AgentRecord, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(agent.cwd, path);
}
