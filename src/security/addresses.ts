/**
 * IP addresses: parsing and the class of an address (loopback, private, ...). HTTP and
 * DOWNLOAD reach only public addresses unless the agent names an address in
 * allowed_domains, so every range that is not plainly on the public internet is
 * non-public here, including those a host could use to reach itself or its network
 * through a translation (IPv4-mapped, NAT64, 6to4).
 */

export const ADDRESS_CLASSES = [
  'public',
  'loopback',
  'private',
  'link-local',
  'unique-local',
  'multicast',
  'unspecified',
  'reserved',
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Strict dotted-decimal IPv4 (what WHATWG URL serializes and resolvers answer): no
 * leading zeros, no hex, no shortened forms, so a string means one address only. URLs
 * reach here already normalized (`0x7f.1` is `127.0.0.1` once parsed).
 */
export function parseIpv4(text: string): IpAddress | undefined {
  const match = DOTTED_QUAD.exec(text);
  if (!match) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = match[i + 1] as string;
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return { family: 4, bytes };
}

const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** IPv6 in any textual form (RFC 4291 §2.2), with or without brackets; a zone (`%eth0`) is ignored. */
export function parseIpv6(input: string): IpAddress | undefined {
  let text = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (!text.includes(':')) return undefined;

  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        const [a, b, c, d] = v4.bytes as unknown as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (HEX_GROUP.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const compressed = halves.length === 2;
  const missing = 8 - head.length - tail.length;
  if (compressed ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return { family: 6, bytes };
}

/** An IPv4 or IPv6 address, or undefined when `text` is neither. */
export function parseIp(text: string): IpAddress | undefined {
  return parseIpv4(text) ?? parseIpv6(text);
}

/** Dotted decimal, or RFC 5952 text (lowercase, longest zero run as `::`), without brackets. */
export function formatIp(ip: IpAddress): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Whether the first `bits` of `bytes` equal those of `prefix`. */
function within(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let i = 0, left = bits; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if (((bytes[i] as number) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

// Ranges of RFC 6890 and its updates that are not global unicast, most specific first.
const V4_RANGES: readonly [readonly number[], number, AddressClass][] = [
  [[0, 0, 0, 0], 32, 'unspecified'],
  [[0], 8, 'reserved'], // "this network": Linux connects 0.x to the host itself
  [[10], 8, 'private'],
  [[100, 64], 10, 'private'], // carrier-grade NAT, shared address space
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'], // cloud metadata services live here (169.254.169.254)
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'reserved'],
  [[192, 88, 99], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'], // and the broadcast 255.255.255.255
];

function classifyV4(bytes: Uint8Array): AddressClass {
  for (const [prefix, bits, kind] of V4_RANGES) if (within(bytes, prefix, bits)) return kind;
  return 'public';
}

/** The IPv4 address an IPv6 one carries when the network translates it to that IPv4 address. */
function embeddedV4(bytes: Uint8Array): Uint8Array | undefined {
  // ::ffff:a.b.c.d, IPv4-mapped: a dual-stack socket connects to a.b.c.d itself.
  if (within(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96)) return bytes.subarray(12);
  // 64:ff9b::a.b.c.d, the NAT64 well-known prefix.
  if (within(bytes, [0, 0x64, 0xff, 0x9b], 96)) return bytes.subarray(12);
  // 2002:aabb:ccdd::, 6to4.
  if (within(bytes, [0x20, 0x02], 16)) return bytes.subarray(2, 6);
  return undefined;
}

const V6_RANGES: readonly [readonly number[], number, AddressClass][] = [
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'private'], // local-use NAT64
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'reserved'], // discard-only
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'], // documentation
  [[0x20, 0x01], 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID, ...)
  [[0x3f, 0xff], 20, 'reserved'], // documentation (RFC 9637)
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // site-local, deprecated but still routed by some networks
  [[0xff], 8, 'multicast'],
];

function classifyV6(bytes: Uint8Array): AddressClass {
  if (bytes.every((b) => b === 0)) return 'unspecified';
  if (bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] === 1) return 'loopback';
  const v4 = embeddedV4(bytes);
  if (v4) return classifyV4(v4);
  for (const [prefix, bits, kind] of V6_RANGES) if (within(bytes, prefix, bits)) return kind;
  // Only 2000::/3 is global unicast; the rest (IPv4-compatible ::a.b.c.d included) is not.
  return within(bytes, [0x20], 3) ? 'public' : 'reserved';
}

export function classifyAddress(ip: IpAddress): AddressClass {
  return ip.family === 4 ? classifyV4(ip.bytes) : classifyV6(ip.bytes);
}
