/** The one place that decides whether an agent may make a call (protocol.md §6). */
import type { Permission } from '../protocol/opcodes.js';
import type { Permissions } from '../protocol/schemas/permissions.js';

const FLAG: Record<Exclude<Permission, 'none' | 'admin'>, keyof Permissions> = {
  think: 'can_think',
  exec: 'can_exec',
  read: 'can_read',
  write: 'can_write',
  spawn: 'can_spawn',
  network: 'can_network',
  tunnel: 'can_tunnel',
};

export interface Grant {
  permissions: Readonly<Permissions>;
  admin: boolean;
}

/** Undefined when allowed; otherwise the reason, naming what is missing. */
export function denialReason(grant: Grant, needed: Permission): string | undefined {
  if (needed === 'none') return undefined;
  if (needed === 'admin') return grant.admin ? undefined : 'needs the admin token (presented in HELLO)';
  // The tunnel calls: the admin, or an agent an admin granted can_tunnel.
  if (needed === 'tunnel' && grant.admin) return undefined;
  const flag = FLAG[needed];
  return grant.permissions[flag] ? undefined : `needs ${flag}`;
}
