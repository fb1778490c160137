/**
 * The rights of a remote agent (docs/relay.md §12): the kernel's remote level narrowed by
 * the token's ceiling. The relay may only take away: a flag is on when both have it, a
 * limit is the lower of the two, an allowed list is what both lists allow (each entry of
 * one that an entry of the other covers; never the wider list of either), blocked lists
 * add up, and a sandbox once asked for stays. Pure: no I/O.
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
    const normal = (pattern: string) => normalizePattern(pattern, home);
    out[field] = intersect(level[field], asked, (wide, narrow) => pathCovers(normal(wide), normal(narrow)));
  }
  if (ceiling.allowed_domains !== undefined) {
    out.allowed_domains = intersect(level.allowed_domains, ceiling.allowed_domains, domainCovers);
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

/**
 * What both pattern lists allow, as far as it can be proven: each pattern of one list
 * that a pattern of the other covers (so a ceiling of `/**` over a level of `~/**` keeps
 * `~/**`, and a ceiling of `~/projects/**` keeps that). Nothing unproven is kept.
 */
function intersect(level: readonly string[], ceiling: readonly string[], covers: (wide: string, narrow: string) => boolean): string[] {
  const kept = [
    ...ceiling.filter((asked) => level.some((held) => covers(held, asked))),
    ...level.filter((held) => ceiling.some((asked) => covers(asked, held))),
  ];
  return [...new Set(kept)];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
