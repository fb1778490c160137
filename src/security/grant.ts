/**
 * No escalation (protocol.md §6): permissions handed to an agent (SPAWN, SET_PERMS) can
 * never exceed those of whoever grants them. Deciding whether one glob set contains
 * another is undecidable in general, so the test here is syntactic and conservative: a
 * pattern is granted only when the granter holds the same pattern or a `dir/**` above
 * it. Anything it cannot prove narrower is refused, naming the field.
 */
import type { Permissions } from '../protocol/schemas/permissions.js';
import { PERMISSION_FLAGS, PRESETS } from '../protocol/schemas/permissions.js';
import { normalizePattern } from './paths.js';

/** What a grant is judged against: the granter's rights and the home `~` means for both sides. */
export interface GrantContext {
  granter: Readonly<Permissions>;
  /** `~` of the granter's patterns. */
  granterHome: string;
  /** `~` of the new rights' patterns (the agent that receives them). */
  home: string;
}

/** Every way `wanted` exceeds the granter, one line per field; empty when it does not. */
export function escalations(wanted: Readonly<Permissions>, context: GrantContext): string[] {
  const { granter } = context;
  const found: string[] = [];
  for (const flag of PERMISSION_FLAGS) {
    if (wanted[flag] && !granter[flag]) found.push(`${flag}: the granter does not have it`);
  }
  if (granter.sandboxed && !wanted.sandboxed) found.push('sandboxed: the granter is sandboxed, so is everything it grants');

  // Read as the path rules read them (`~`, relative patterns, a trailing `/`), so equal rules compare equal.
  const expandGranter = (pattern: string) => normalizePattern(pattern, context.granterHome);
  const expandWanted = (pattern: string) => normalizePattern(pattern, context.home);
  for (const field of ['allowed_read_paths', 'allowed_write_paths'] as const) {
    const held = granter[field].map(expandGranter);
    for (const pattern of wanted[field]) {
      if (!held.some((h) => pathCovers(h, expandWanted(pattern))))
        found.push(`${field}: "${pattern}" is not within the granter's ${field}`);
    }
  }
  const blocked = new Set(wanted.blocked_paths.map(expandWanted));
  for (const pattern of granter.blocked_paths) {
    if (!blocked.has(expandGranter(pattern))) found.push(`blocked_paths: "${pattern}" is blocked for the granter and must stay blocked`);
  }

  if (granter.allowed_commands !== null) {
    if (wanted.allowed_commands === null) found.push('allowed_commands: the granter runs only an allowlist, so null (any command) is more');
    else {
      const held = new Set(granter.allowed_commands);
      for (const command of wanted.allowed_commands) {
        if (!held.has(command)) found.push(`allowed_commands: "${command}" is not in the granter's allowlist`);
      }
    }
  }
  const blockedCommands = new Set(wanted.blocked_commands);
  for (const command of granter.blocked_commands) {
    if (!blockedCommands.has(command)) found.push(`blocked_commands: "${command}" is blocked for the granter and must stay blocked`);
  }

  for (const domain of wanted.allowed_domains) {
    if (!granter.allowed_domains.some((held) => domainCovers(held, domain))) {
      found.push(`allowed_domains: "${domain}" is not within the granter's allowed_domains`);
    }
  }

  for (const field of ['max_memory_bytes', 'max_cpu_percent', 'max_llm_calls_per_min'] as const) {
    const held = granter[field];
    const asked = wanted[field];
    if (held !== null && (asked === null || asked > held)) found.push(`${field}: at most ${held} (the granter's limit)`);
  }
  return found;
}

/**
 * Whether `permissions` are the unrestricted level's, field for field (`sandboxed`
 * aside): nothing a sandbox would be needed to hold. Anything narrower (another level, a
 * blocked path, a limit) holds only inside a sandbox, since an unsandboxed process of the
 * kernel's user can read the admin token; SPAWN sandboxes such an agent by default.
 * Lists compare in order, so an equivalent list spelled otherwise counts as narrower.
 */
export function isUnrestricted(permissions: Readonly<Permissions>): boolean {
  const full = PRESETS.unrestricted;
  return (Object.keys(full) as (keyof Permissions)[]).every((field) => {
    if (field === 'sandboxed') return true;
    const [mine, theirs] = [permissions[field], full[field]];
    if (Array.isArray(mine) && Array.isArray(theirs)) return mine.length === theirs.length && mine.every((entry, i) => entry === theirs[i]);
    return mine === theirs;
  });
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Whether path glob `held` matches everything `asked` matches (both `~`-expanded). */
export function pathCovers(held: string, asked: string): boolean {
  if (held === asked) return true;
  // A pattern that climbs out of a directory is never proven inside one.
  if (/(^|\/)\.\.(\/|$)/.test(asked)) return false;
  if (!held.endsWith('/**')) return false;
  const base = held.slice(0, -3);
  if (GLOB_CHARS.test(base)) return false;
  return asked === base || asked.startsWith(`${base}/`);
}

const IP_LITERAL = /^(\[[0-9a-f:.]+\]|\d{1,3}(\.\d{1,3}){3})$/i;

/** Whether domain pattern `held` allows every host `asked` allows. */
export function domainCovers(held: string, asked: string): boolean {
  const h = held.toLowerCase().replace(/\.$/, '');
  const a = asked.toLowerCase().replace(/\.$/, '');
  if (h === a) return true;
  // "*" is every public host: it never covers a literal address or localhost, which must be named.
  if (h === '*') return !IP_LITERAL.test(a) && a !== 'localhost' && !a.endsWith('.localhost');
  if (!h.startsWith('*.')) return false;
  const suffix = h.slice(1);
  return a.endsWith(suffix) && a.length > suffix.length;
}
