/**
 * Roles agents take with REGISTER `{ role }`: many agents per role, many roles per agent.
 * The task engine asks which live agents hold a role (in the order they took it, so its
 * round-robin is fair); an agent's roles go when it ends for good. Bounded: an agent holds
 * at most MAX_ROLES_PER_AGENT roles, and only live agents are kept.
 */
import { KernelError } from '../protocol/errors.js';

export const MAX_ROLES_PER_AGENT = 32;

export class RoleRegistry {
  /** role → agent ids, in the order they took it (a Set keeps insertion order). */
  readonly #agents = new Map<string, Set<number>>();
  /** agent id → its roles. */
  readonly #roles = new Map<number, Set<string>>();

  /** `agentId` takes `role`; true when it is new for that agent (taking it again is a no-op). */
  take(agentId: number, role: string): boolean {
    let roles = this.#roles.get(agentId);
    if (roles?.has(role)) return false;
    if (roles && roles.size >= MAX_ROLES_PER_AGENT) {
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `REGISTER: agent ${agentId} already holds ${MAX_ROLES_PER_AGENT} roles (${[...roles].join(', ')}); that is the limit`,
        { field: 'role' },
      );
    }
    if (!roles) {
      roles = new Set();
      this.#roles.set(agentId, roles);
    }
    roles.add(role);
    let holders = this.#agents.get(role);
    if (!holders) {
      holders = new Set();
      this.#agents.set(role, holders);
    }
    holders.add(agentId);
    return true;
  }

  /** Live agents holding `role`, in the order they took it. */
  agentsWith(role: string): number[] {
    const holders = this.#agents.get(role);
    return holders ? [...holders] : [];
  }

  /** The roles `agentId` holds, in the order it took them. */
  rolesOf(agentId: number): string[] {
    const roles = this.#roles.get(agentId);
    return roles ? [...roles] : [];
  }

  /** The agent ended for good: it holds no role any more. */
  drop(agentId: number): void {
    const roles = this.#roles.get(agentId);
    if (!roles) return;
    this.#roles.delete(agentId);
    for (const role of roles) {
      const holders = this.#agents.get(role);
      holders?.delete(agentId);
      if (holders?.size === 0) this.#agents.delete(role);
    }
  }
}
