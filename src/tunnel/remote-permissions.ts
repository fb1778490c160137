/**
 * The rights of a remote agent (docs/relay.md §12): the kernel's remote level narrowed by
 * the token's ceiling. The relay may only take away: a flag is on when both have it, a
 * limit is the lower of the two, a list the ceiling gives keeps only its entries within
 * the level's (the ceiling's word is the most the token allows, so an entry beyond the
 * level is dropped, never replaced by the level's wider list), blocked lists add up, and
 * a sandbox once asked for stays. Pure: no I/O.
 */
import { homedir } from 'node:os';
import { PERMISSION_FLAGS, type Permissions } from '../protocol/schemas/permissions.js';
import type { Ceiling } from '../relay/protocol/schemas.js';
import { domainCovers, pathCovers } from '../security/grant.js';
import { normalizePattern } from '../security/paths.js';

const LIMITS = ['max_memory_bytes', 'max_cpu_percent', 'max_llm_calls_per_min'] as const;

/** `level` narrowed by `ceiling` (null or absent: the level alone). `home` is what `~` means in both. */
export function narrowPermissions(level: Readonly<Permissions>, ceiling: Ceiling | null | undefined, home = homedir()): Permissions {
  const out: Permissions = structuredClone({ ...level }) as Permissions;
  if (!ceiling) return out;
  for (const flag of PERMISSION_FLAGS) {
    if (ceiling[flag] !== undefined) out[flag] = level[flag] && ceiling[flag];
  }
  out.sandboxed = level.sandboxed || ceiling.sandboxed === true;
  for (const field of LIMITS) {
    const capped = ceiling[field];
    if (capped === undefined) continue;
    const held = level[field];
    out[field] = held === null ? capped : capped === null ? held : Math.min(held, capped);
  }
  for (const field of ['allowed_read_paths', 'allowed_write_paths'] as const) {
    const asked = ceiling[field];
    if (asked === undefined) continue;
    const held = level[field].map((pattern) => normalizePattern(pattern, home));
    out[field] = asked.filter((pattern) => held.some((h) => pathCovers(h, normalizePattern(pattern, home))));
  }
  if (ceiling.allowed_domains !== undefined) {
    out.allowed_domains = ceiling.allowed_domains.filter((domain) => level.allowed_domains.some((held) => domainCovers(held, domain)));
  }
  // null in the ceiling ("any command") caps nothing; a list keeps what the level also allows.
  if (ceiling.allowed_commands !== undefined && ceiling.allowed_commands !== null) {
    const held = level.allowed_commands;
    out.allowed_commands = ceiling.allowed_commands.filter((rule) => held === null || held.includes(rule));
  }
  if (ceiling.blocked_paths) out.blocked_paths = union(level.blocked_paths, ceiling.blocked_paths);
  if (ceiling.blocked_commands) out.blocked_commands = union(level.blocked_commands, ceiling.blocked_commands);
  return out;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
