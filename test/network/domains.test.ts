/**
 * The domain policy (src/security/domains.ts) as pure functions: what a URL's host is,
 * which entries cover it, which resolved addresses it may reach, and that it agrees with
 * what SPAWN and SET_PERMS may grant (domainCovers).
 */
import { describe, expect, it } from 'vitest';
import { checkAddress, checkUrl, normalizeHost } from '../../src/security/domains.js';
import { domainCovers } from '../../src/security/grant.js';

const allows = (domains: string[], url: string) => checkUrl({ allowed_domains: domains }, url).ok;
/** The host checkUrl reads in `url` (an address must be named to pass, so `expected` is named too). */
const hostOf = (url: string, expected: string) => {
  const decision = checkUrl({ allowed_domains: ['*', expected] }, url);
  return decision.ok ? decision.host : undefined;
};

describe('normalizeHost', () => {
  it('gives a host the form a URL carries: lowercase, punycode, dotted IPv4, bracketed IPv6, no trailing dot', () => {
    const cases: [string, string | undefined][] = [
      ['OK.Test.', 'ok.test'],
      ['bücher.test', 'xn--bcher-kva.test'],
      ['ｏｋ．ｔｅｓｔ', 'ok.test'],
      ['::1', '[::1]'],
      ['[0:0::1]', '[::1]'],
      ['0x7f.1', '127.0.0.1'],
      ['2130706433', '127.0.0.1'],
      ['ok.test:8080', undefined],
      ['user@ok.test', undefined],
      ['ok.test/path', undefined],
      ['ok..test', undefined],
      ['', undefined],
      ['1.2.3.4.5', undefined],
    ];
    for (const [text, host] of cases) expect(normalizeHost(text), text).toBe(host);
  });
});

describe('checkUrl', () => {
  it('reads the host the connection will use, whatever hides around it', () => {
    const cases: [string, string][] = [
      ['http://evil.test?.ok.test', 'evil.test'],
      ['http://evil.test#@ok.test', 'evil.test'],
      ['http://ok.test#@evil.test', 'ok.test'],
      ['http://ok.test.evil.test', 'ok.test.evil.test'],
      ['http://evil.test\\@ok.test', 'evil.test'],
      ['HTTP://OK.TEST.', 'ok.test'],
      ['http://οk.test', 'xn--k-rmb.test'],
      ['http://0x7f.1', '127.0.0.1'],
      ['http://2130706433', '127.0.0.1'],
      ['http://0177.0.0.1', '127.0.0.1'],
      ['http://127.1', '127.0.0.1'],
      ['http://%31%32%37.0.0.1', '127.0.0.1'],
      ['http://[::ffff:127.0.0.1]', '[::ffff:7f00:1]'],
      ['http://[0:0:0:0:0:0:0:1]:8080/', '[::1]'],
    ];
    for (const [url, host] of cases) expect(hostOf(url, host), url).toBe(host);
  });

  it('exact entries, strict subdomains for *.suffix, public names only for *', () => {
    expect(allows(['ok.test'], 'https://ok.test/a?b#c')).toBe(true);
    expect(allows(['ok.test'], 'http://OK.TEST./')).toBe(true);
    expect(allows(['OK.test.'], 'http://ok.test/')).toBe(true);
    expect(allows(['ok.test'], 'http://a.ok.test/')).toBe(false);
    expect(allows(['ok.test'], 'http://ok.test.evil.test/')).toBe(false);
    expect(allows(['*.ok.test'], 'http://a.b.ok.test/')).toBe(true);
    expect(allows(['*.ok.test'], 'http://ok.test/')).toBe(false);
    expect(allows(['*.ok.test'], 'http://evilok.test/')).toBe(false);
    expect(allows(['bücher.test'], 'http://xn--bcher-kva.test/')).toBe(true);
    expect(allows(['ok.test'], 'http://οk.test/')).toBe(false);
    expect(allows(['*'], 'http://anything.example/')).toBe(true);
    expect(allows(['ok.test:80', 'http://ok.test', 'ok.test/'], 'http://ok.test/')).toBe(false);
  });

  it('never lets * reach an IP literal or localhost: they must be named', () => {
    for (const url of [
      'http://127.0.0.1',
      'http://[::1]',
      'http://8.8.8.8',
      'http://localhost',
      'http://a.localhost',
      'http://LOCALHOST.',
    ]) {
      expect(allows(['*'], url), url).toBe(false);
    }
    expect(allows(['127.0.0.1'], 'http://0x7f.1:8080/')).toBe(true);
    expect(allows(['::1'], 'http://[0::1]/')).toBe(true);
    expect(allows(['127.0.0.1'], 'http://[::ffff:127.0.0.1]/')).toBe(false);
    expect(allows(['localhost'], 'http://localhost:1234/')).toBe(true);
    expect(allows(['*.0.0.1'], 'http://127.0.0.1/')).toBe(false);
  });

  it('only http and https; a malformed URL or credentials are INVALID_REQUEST', () => {
    for (const url of [
      'file:///etc/passwd',
      'ftp://ok.test/',
      'data:text/plain,hi',
      'javascript:alert(1)',
      'ws://ok.test/',
      'gopher://ok.test/',
    ]) {
      expect(checkUrl({ allowed_domains: ['*', 'ok.test'] }, url), url).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    }
    for (const url of ['not a url', 'ok.test', '//ok.test/', 'http://', 'http://ok.test..', 'http://1.2.3.4.5/', 'http://[::1/']) {
      expect(checkUrl({ allowed_domains: ['*'] }, url), url).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    }
    expect(checkUrl({ allowed_domains: ['ok.test'] }, 'http://u:p@ok.test/')).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(checkUrl({ allowed_domains: ['ok.test'] }, 'http://ok.test@evil.test/')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(checkUrl({ allowed_domains: [] }, 'http://ok.test/')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
  });
});

describe('checkAddress', () => {
  const at = (domains: string[], host: string, address: string) => checkAddress({ allowed_domains: domains }, host, address).ok;

  it('allows public addresses, and others only when an entry names the address', () => {
    expect(at(['ok.test'], 'ok.test', '93.184.216.34')).toBe(true);
    expect(at(['ok.test'], 'ok.test', '2606:4700::1111')).toBe(true);
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '169.254.169.254', '::ffff:127.0.0.1', 'fd00::1', '100.64.0.1', '224.0.0.1']) {
      expect(at(['ok.test', '*'], 'ok.test', address), address).toBe(false);
    }
    expect(at(['ok.test', '127.0.0.1'], 'ok.test', '127.0.0.1')).toBe(true);
    expect(at(['ok.test', '[::1]'], 'ok.test', '0:0::1')).toBe(true);
    expect(at(['ok.test', '10.0.0.5'], 'ok.test', '10.0.0.6')).toBe(false);
  });

  it('lets a named localhost reach loopback, nothing else; never the unspecified address', () => {
    expect(at(['localhost'], 'localhost', '127.0.0.1')).toBe(true);
    expect(at(['localhost'], 'localhost', '::1')).toBe(true);
    expect(at(['localhost'], 'localhost', '10.0.0.1')).toBe(false);
    expect(at(['*'], 'localhost', '127.0.0.1')).toBe(false);
    expect(at(['*.localhost'], 'api.localhost', '127.0.0.1')).toBe(true);
    expect(at(['0.0.0.0', 'ok.test'], 'ok.test', '0.0.0.0')).toBe(false);
    expect(at(['[::]'], '[::]', '::')).toBe(false);
  });

  it('refuses what is not an address', () => {
    expect(checkAddress({ allowed_domains: ['*'] }, 'ok.test', 'ok.test')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
  });
});

describe('agreement with domainCovers (what may be granted)', () => {
  const patterns = ['*', '*.ok.test', '*.a.ok.test', 'ok.test', 'a.ok.test', 'evil.test', '127.0.0.1', '[::1]', 'localhost', '*.localhost'];
  const urls = [
    'http://ok.test/',
    'http://a.ok.test/',
    'http://b.a.ok.test/',
    'http://evil.test/',
    'http://x.evil.test/',
    'http://127.0.0.1/',
    'http://0x7f.1/',
    'http://[::1]/',
    'http://localhost/',
    'http://api.localhost/',
    'http://public.example/',
  ];

  it('a granted entry never reaches a URL that the granter could not', () => {
    for (const held of patterns) {
      for (const asked of patterns) {
        if (!domainCovers(held, asked)) continue;
        for (const url of urls) {
          if (allows([asked], url)) expect(allows([held], url), `${held} covers ${asked}, so it must reach ${url}`).toBe(true);
        }
      }
    }
  });
});
