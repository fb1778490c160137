/** The no-escalation rules of src/security/grant.ts, field by field. */
import { describe, expect, it } from 'vitest';
import { type Permissions, PRESETS } from '../../src/protocol/schemas/permissions.js';
import { domainCovers, escalations, pathCovers } from '../../src/security/grant.js';

const HOME = '/home/agent';
const judge = (wanted: Permissions, granter: Permissions) => escalations(wanted, { granter, granterHome: HOME, home: HOME });

describe('escalations', () => {
  it('every preset is within unrestricted, and each narrower preset within the wider ones', () => {
    for (const level of ['unrestricted', 'standard', 'sandboxed', 'readonly', 'minimal'] as const) {
      expect(judge(PRESETS[level], PRESETS.unrestricted)).toEqual([]);
    }
    expect(judge(PRESETS.sandboxed, PRESETS.standard)).toEqual([]);
    expect(judge(PRESETS.readonly, PRESETS.standard)).toEqual([]);
    expect(judge(PRESETS.minimal, PRESETS.readonly)).toEqual([]);
  });

  it('names each field a wider grant exceeds', () => {
    expect(judge(PRESETS.standard, PRESETS.readonly)).toEqual(
      expect.arrayContaining([
        'can_exec: the granter does not have it',
        'can_write: the granter does not have it',
        expect.stringMatching(/^allowed_write_paths: "~\/\*\*"/),
        expect.stringMatching(/^allowed_commands: the granter runs only an allowlist/),
      ]),
    );
    expect(judge(PRESETS.standard, PRESETS.sandboxed)).toEqual(
      expect.arrayContaining([
        'sandboxed: the granter is sandboxed, so is everything it grants',
        expect.stringMatching(/^allowed_read_paths: "\/\*\*"/),
      ]),
    );
  });

  it('blocked lists may only grow; limits only shrink; an allowlist may only lose entries', () => {
    const granter: Permissions = { ...PRESETS.standard, allowed_commands: ['git *', 'ls'], max_llm_calls_per_min: 10 };
    expect(
      judge(
        { ...granter, blocked_paths: [...granter.blocked_paths, '/srv/**'], allowed_commands: ['ls'], max_llm_calls_per_min: 5 },
        granter,
      ),
    ).toEqual([]);
    expect(judge({ ...granter, blocked_paths: granter.blocked_paths.slice(1) }, granter)).toEqual([
      `blocked_paths: "${granter.blocked_paths[0]}" is blocked for the granter and must stay blocked`,
    ]);
    expect(judge({ ...granter, blocked_commands: [] }, granter)).toHaveLength(granter.blocked_commands.length);
    expect(judge({ ...granter, allowed_commands: null }, granter)).toEqual([
      'allowed_commands: the granter runs only an allowlist, so null (any command) is more',
    ]);
    expect(judge({ ...granter, allowed_commands: ['ls', 'rm *'] }, granter)).toEqual([
      'allowed_commands: "rm *" is not in the granter\'s allowlist',
    ]);
    expect(judge({ ...granter, max_llm_calls_per_min: null }, granter)).toEqual([
      "max_llm_calls_per_min: at most 10 (the granter's limit)",
    ]);
    expect(judge({ ...granter, max_llm_calls_per_min: 11 }, granter)).toEqual(["max_llm_calls_per_min: at most 10 (the granter's limit)"]);
  });

  it('paths: a directory glob covers what is under it; `~` is the home on both sides; `..` is never inside', () => {
    const granter: Permissions = { ...PRESETS.standard, allowed_write_paths: ['~/work/**'] };
    expect(judge({ ...granter, allowed_write_paths: ['/home/agent/work/a/**', '~/work/b.txt'] }, granter)).toEqual([]);
    expect(judge({ ...granter, allowed_write_paths: ['~/work/../.ssh/**'] }, granter)).toHaveLength(1);
    expect(judge({ ...granter, allowed_write_paths: ['~/**'] }, granter)).toHaveLength(1);
    expect(judge({ ...granter, allowed_write_paths: ['/home/agent/work*'] }, granter)).toHaveLength(1);
  });
});

describe('pattern coverage', () => {
  it('pathCovers', () => {
    expect(pathCovers('/**', '/etc/passwd')).toBe(true);
    expect(pathCovers('/tmp/**', '/tmp')).toBe(true);
    expect(pathCovers('/tmp/**', '/tmp/a/**')).toBe(true);
    expect(pathCovers('/tmp/**', '/tmpx/a')).toBe(false);
    expect(pathCovers('/tmp/*/**', '/tmp/a/b')).toBe(false);
    expect(pathCovers('/tmp/*.txt', '/tmp/a.txt')).toBe(false);
    expect(pathCovers('/tmp/a.txt', '/tmp/a.txt')).toBe(true);
  });

  it('domainCovers: "*" is every public host, never an address or localhost', () => {
    expect(domainCovers('*', 'example.com')).toBe(true);
    expect(domainCovers('*', '*.example.com')).toBe(true);
    expect(domainCovers('*', '127.0.0.1')).toBe(false);
    expect(domainCovers('*', '[::1]')).toBe(false);
    expect(domainCovers('*', 'localhost')).toBe(false);
    expect(domainCovers('*.example.com', 'api.example.com')).toBe(true);
    expect(domainCovers('*.example.com', '*.api.example.com')).toBe(true);
    expect(domainCovers('*.example.com', 'example.com')).toBe(false);
    expect(domainCovers('*.example.com', 'evilexample.com')).toBe(false);
    expect(domainCovers('Example.COM.', 'example.com')).toBe(true);
  });

  it('patterns are read as the path rules read them: `~` and a trailing slash', () => {
    const granter: Permissions = { ...PRESETS.standard, blocked_paths: ['.env', '~/secrets/'] };
    expect(judge({ ...granter, blocked_paths: ['.env', '/home/agent/secrets/**'] }, granter)).toEqual([]);
    expect(judge({ ...granter, blocked_paths: ['.env'] }, granter)).toHaveLength(1);
  });
});
