/** The role registry: agents per role in the order they took it, roles per agent, dropped with the agent, bounded. */
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/protocol/errors.js';
import { MAX_ROLES_PER_AGENT, RoleRegistry } from '../../src/tasks/roles.js';

describe('RoleRegistry', () => {
  it('keeps agents per role in the order they took it, and drops an agent from every role', () => {
    const roles = new RoleRegistry();
    expect(roles.take(3, 'mapper')).toBe(true);
    expect(roles.take(1, 'mapper')).toBe(true);
    expect(roles.take(1, 'reducer')).toBe(true);
    expect(roles.take(3, 'mapper')).toBe(false); // again: a no-op, its place kept
    expect(roles.agentsWith('mapper')).toEqual([3, 1]);
    expect(roles.rolesOf(1)).toEqual(['mapper', 'reducer']);
    roles.drop(1);
    expect(roles.agentsWith('mapper')).toEqual([3]);
    expect(roles.agentsWith('reducer')).toEqual([]);
    expect(roles.rolesOf(1)).toEqual([]);
    roles.drop(42); // unknown: nothing happens
    expect(roles.agentsWith('nobody')).toEqual([]);
  });

  it('bounds the roles one agent may hold', () => {
    const roles = new RoleRegistry();
    for (let n = 0; n < MAX_ROLES_PER_AGENT; n++) roles.take(7, `role-${n}`);
    let refused: unknown;
    try {
      roles.take(7, 'one-too-many');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(KernelError);
    expect((refused as KernelError).code).toBe('QUOTA_EXCEEDED');
    expect(roles.agentsWith('one-too-many')).toEqual([]);
  });
});
