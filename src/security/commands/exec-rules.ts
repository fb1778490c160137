/**
 * The command rules an EXEC worker task applies (src/workers/exec.ts checks the command
 * line there, off the event loop), for the host's EXEC and a world's alike.
 */
import { homedir } from 'node:os';
import type { Permissions } from '../../protocol/schemas/permissions.js';
import type { CommandPolicy } from './policy.js';

/** `checks: false` is the kernel's bench-only `permissionChecks: false`: any command runs. */
export function execRules(
  permissions: Pick<Permissions, 'allowed_commands' | 'blocked_commands'>,
  checks: boolean,
): { policy: CommandPolicy; home: string } {
  return {
    policy: checks
      ? { allowed_commands: permissions.allowed_commands, blocked_commands: permissions.blocked_commands }
      : { allowed_commands: null, blocked_commands: [] },
    home: homedir(),
  };
}
