/**
 * Which URLs and addresses HTTP and DOWNLOAD may reach (allowed_domains). One parser,
 * WHATWG URL, reads both the request and the policy, and the same parse is what the
 * fetch uses: a host is compared in the form the connection will use (lowercase,
 * punycode, IPv4 in dotted decimal whatever its spelling, IPv6 compressed), so userinfo,
 * `?`, `#`, `\`, case, trailing dots, Unicode lookalikes and numeric IPv4 spellings
 * cannot make the check and the connection disagree.
 *
 * The rules, kept in step with `domainCovers` (src/security/grant.ts), which decides
 * what may be granted:
 * - an entry is an exact host, `*.suffix` (strict subdomains of suffix), or `*`;
 * - `*` covers every public host name, never an IP literal or a `localhost` name;
 * - an IP literal in a URL is reached only when an entry names that address;
 * - after resolution, a non-public address (loopback, private, link-local, ...) is
 *   reached only when an entry names that address, or, for loopback, when the host is a
 *   `localhost` name that an entry names (`localhost`, `*.localhost`); `0.0.0.0` and `::`
 *   never.
 *
 * Everything here is pure (no I/O): resolving names is the caller's job, and the caller
 * must connect to the address it checked.
 */
import { type AddressClass, classifyAddress, formatIp, type IpAddress, parseIp, parseIpv4, parseIpv6 } from './addresses.js';

/** The field of the permission model this policy reads (Permissions satisfies it). */
export interface DomainPolicySource {
  readonly allowed_domains: readonly string[];
}

export const ALLOWED_SCHEMES: readonly string[] = ['http:', 'https:'];

/** A request URL the policy allows: the parsed URL (the one to fetch) and its normalized host. */
export interface UrlTarget {
  readonly url: URL;
  /** Lowercase, punycode, no trailing dot; IPv6 in brackets, as URL serializes it. */
  readonly host: string;
  /** Set when the host is an IP literal: the address itself (nothing to resolve). */
  readonly literal: IpAddress | undefined;
}

export type Refusal = { ok: false; code: 'INVALID_REQUEST' | 'PERMISSION_DENIED'; reason: string };
export type UrlDecision = ({ ok: true } & UrlTarget) | Refusal;
export type AddressDecision =
  | { ok: true; address: string; family: 4 | 6; class: AddressClass }
  | { ok: false; code: 'PERMISSION_DENIED'; reason: string };

interface CompiledPolicy {
  /** `*`: every public host name. */
  readonly all: boolean;
  /** Exact hosts and addresses, normalized as URL hosts. */
  readonly exact: ReadonlySet<string>;
  /** `*.suffix` entries, as `.suffix`. */
  readonly suffixes: readonly string[];
}

const compiled = new WeakMap<readonly string[], CompiledPolicy>();

/** Characters that make an entry more than a host (a port, a path, userinfo): such an entry matches nothing. */
const NOT_A_HOST = /[/\\?#@\s%]/;

/**
 * A host as a URL would carry it, or undefined when `text` is not a valid host on its
 * own: `OK.Test.` is `ok.test`, `bücher.test` is `xn--bcher-kva.test`, `::1` and `[::1]`
 * are `[::1]`, `0x7f.1` is `127.0.0.1`.
 */
export function normalizeHost(text: string): string | undefined {
  if (text.length === 0 || NOT_A_HOST.test(text)) return undefined;
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare.includes(':')) {
    const v6 = parseIpv6(bare);
    return v6 ? `[${formatIp(v6)}]` : undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(`http://${text}/`);
  } catch {
    return undefined;
  }
  // A port, or anything else the URL parser moved out of the host, means this was not a bare host.
  if (parsed.port !== '' || parsed.username !== '' || parsed.pathname !== '/') return undefined;
  return trimHost(parsed.hostname);
}

/** One trailing dot is the same host (absolute name); an empty label anywhere else is not a host. */
function trimHost(hostname: string): string | undefined {
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (host === '' || host.startsWith('.') || host.endsWith('.') || host.includes('..')) return undefined;
  return host;
}

function compile(entries: readonly string[]): CompiledPolicy {
  const cached = compiled.get(entries);
  if (cached) return cached;
  let all = false;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    if (entry === '*') {
      all = true;
    } else if (entry.startsWith('*.')) {
      const suffix = normalizeHost(entry.slice(2));
      // `*.1.0.0.127`-style entries over an address would mean nothing; ignored.
      if (suffix !== undefined && !isLiteral(suffix)) suffixes.push(`.${suffix}`);
    } else {
      const host = normalizeHost(entry);
      if (host !== undefined) exact.add(host);
    }
  }
  const policy: CompiledPolicy = { all, exact, suffixes };
  compiled.set(entries, policy);
  return policy;
}

function isLiteral(host: string): boolean {
  return host.startsWith('[') || parseIpv4(host) !== undefined;
}

function literalOf(host: string): IpAddress | undefined {
  return host.startsWith('[') ? parseIpv6(host) : parseIpv4(host);
}

/** `localhost` and its subdomains resolve to the machine itself (RFC 6761): never covered by `*`. */
export function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Whether an entry other than `*` names this host. */
function namedExplicitly(policy: CompiledPolicy, host: string): boolean {
  if (policy.exact.has(host)) return true;
  return policy.suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
}

/** The host part of the decision, given a parsed URL. */
function hostDecision(policy: CompiledPolicy, host: string, literal: IpAddress | undefined): string | undefined {
  if (literal) {
    if (policy.exact.has(host)) return undefined;
    return `${host} is an IP address (${classifyAddress(literal)}); an address is reached only when allowed_domains names it`;
  }
  if (namedExplicitly(policy, host)) return undefined;
  if (policy.all && !isLocalhostName(host)) return undefined;
  if (policy.all) return `"${host}" is this machine: allowed_domains must name it ("*" covers public hosts only)`;
  return `host "${host}" is not in allowed_domains`;
}

/**
 * Whether `url` may be fetched under `permissions`: INVALID_REQUEST when it is not an
 * absolute URL (or carries credentials), PERMISSION_DENIED for another scheme or a host
 * the policy does not cover. On success, the parsed URL is the one to fetch.
 */
export function checkUrl(permissions: DomainPolicySource, url: string | URL): UrlDecision {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return { ok: false, code: 'INVALID_REQUEST', reason: 'not an absolute URL (expected http:// or https://)' };
  }
  if (!ALLOWED_SCHEMES.includes(parsed.protocol)) {
    return { ok: false, code: 'PERMISSION_DENIED', reason: `the scheme "${parsed.protocol}" is not allowed (only http: and https:)` };
  }
  const host = trimHost(parsed.hostname);
  if (host === undefined) return { ok: false, code: 'INVALID_REQUEST', reason: `"${parsed.hostname}" is not a valid host` };
  const literal = isLiteral(host) ? literalOf(host) : undefined;
  const refused = hostDecision(compile(permissions.allowed_domains), host, literal);
  if (refused !== undefined) return { ok: false, code: 'PERMISSION_DENIED', reason: refused };
  // After the host check, so that `http://ok.test@evil.test` is reported as the host it reaches.
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, code: 'INVALID_REQUEST', reason: 'credentials in the URL are not sent; pass an Authorization header' };
  }
  return { ok: true, url: parsed, host, literal };
}

/**
 * Whether the connection for `host` (which checkUrl allowed) may go to `address`, an
 * IP address it resolved to (or the literal itself). The caller connects to exactly
 * this address afterwards, so a second lookup cannot rebind the name.
 */
export function checkAddress(permissions: DomainPolicySource, host: string, address: string): AddressDecision {
  const ip = parseIp(address);
  if (!ip) return { ok: false, code: 'PERMISSION_DENIED', reason: `"${host}" resolved to "${address}", which is not an IP address` };
  const kind = classifyAddress(ip);
  const text = formatIp(ip);
  const allowed = { ok: true as const, address: text, family: ip.family, class: kind };
  if (kind === 'public') return allowed;
  const named = ip.family === 6 ? `[${text}]` : text;
  const how = host === named ? `${named} is` : `"${host}" resolves to ${text},`;
  if (kind === 'unspecified') {
    return {
      ok: false,
      code: 'PERMISSION_DENIED',
      reason: `${how} the unspecified address, which means this machine; name 127.0.0.1 instead`,
    };
  }
  const policy = compile(permissions.allowed_domains);
  if (policy.exact.has(named)) return allowed;
  if (kind === 'loopback' && isLocalhostName(host) && namedExplicitly(policy, host)) return allowed;
  return {
    ok: false,
    code: 'PERMISSION_DENIED',
    reason: `${how} a ${kind} address; it is reached only when allowed_domains names it ("${named}")`,
  };
}
