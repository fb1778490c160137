/**
 * Where the tunnel connects, and whether it may: the relay's `/kernel` endpoint under the
 * configured URL, and the rule that a token never travels over plain `ws` to a host
 * other than this machine unless the operator said `insecure` (docs/relay.md §1).
 */
import { isIP } from 'node:net';

/** `ws://relay:7700` → `ws://relay:7700/kernel`; a URL already ending in /kernel is kept. */
export function kernelEndpoint(relayUrl: string): string {
  const url = new URL(relayUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/kernel')) url.pathname = `${path}/kernel`;
  url.hash = '';
  return url.toString();
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** Why `relayUrl` may not carry a token, or undefined when it may. */
export function insecureRefusal(relayUrl: string, insecure: boolean): string | undefined {
  const url = new URL(relayUrl);
  if (url.protocol === 'wss:' || insecure || isLoopbackHost(url.hostname)) return undefined;
  return `relay_url ${url.protocol}//${url.host} is plain ws to a host other than this machine: the token would travel in clear (use wss://, or "insecure": true)`;
}
