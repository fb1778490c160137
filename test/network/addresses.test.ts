/**
 * IP addresses (src/security/addresses.ts): strict parsing, RFC 5952 text, and the class
 * of every special range, IPv4 embedded in IPv6 included.
 */
import { describe, expect, it } from 'vitest';
import { type AddressClass, classifyAddress, formatIp, parseIp, parseIpv4, parseIpv6 } from '../../src/security/addresses.js';

const classOf = (text: string): AddressClass => {
  const ip = parseIp(text);
  if (!ip) throw new Error(`${text} did not parse`);
  return classifyAddress(ip);
};

describe('parsing', () => {
  it('takes dotted decimal IPv4 only: no leading zeros, hex, short forms or out-of-range parts', () => {
    expect(formatIp(parseIpv4('192.168.0.1') ?? fail())).toBe('192.168.0.1');
    for (const text of ['0177.0.0.1', '0x7f.0.0.1', '127.1', '2130706433', '256.0.0.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ']) {
      expect(parseIpv4(text), text).toBeUndefined();
    }
  });

  it('takes IPv6 in every textual form, with or without brackets and zone, and prints RFC 5952', () => {
    const cases: [string, string][] = [
      ['::1', '::1'],
      ['[::1]', '::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::', '::'],
      ['::ffff:127.0.0.1', '::ffff:7f00:1'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1::', '1::'],
    ];
    for (const [text, printed] of cases) expect(formatIp(parseIpv6(text) ?? fail(text)), text).toBe(printed);
    for (const text of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '12345::', '::g', '1.2.3.4', '::1.2.3', '1:2:3:4:5:6:7::8:9']) {
      expect(parseIpv6(text), text).toBeUndefined();
    }
  });
});

describe('classes', () => {
  it('IPv4', () => {
    const cases: [string, AddressClass][] = [
      ['8.8.8.8', 'public'],
      ['93.184.216.34', 'public'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', 'public'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'reserved'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['192.0.2.1', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['203.0.113.9', 'reserved'],
    ];
    for (const [text, kind] of cases) expect(classOf(text), text).toBe(kind);
  });

  it('IPv6, with IPv4-mapped, NAT64 and 6to4 addresses judged by the IPv4 address they reach', () => {
    const cases: [string, AddressClass][] = [
      ['2606:4700::1111', 'public'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fc00::1', 'unique-local'],
      ['fd12:3456::1', 'unique-local'],
      ['fec0::1', 'private'],
      ['ff02::1', 'multicast'],
      ['2001:db8::1', 'reserved'],
      ['2001::1', 'reserved'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:10.1.2.3', 'private'],
      ['::ffff:8.8.8.8', 'public'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b:1::1', 'private'],
      ['2002:7f00:1::1', 'loopback'],
      ['2002:0808:0808::1', 'public'],
      ['::127.0.0.1', 'reserved'],
      ['100::1', 'reserved'],
      ['4000::1', 'reserved'],
    ];
    for (const [text, kind] of cases) expect(classOf(text), text).toBe(kind);
  });
});

function fail(what = 'value'): never {
  throw new Error(`${what} did not parse`);
}
