/**
 * The path policy's pure half: the glob (one semantics for path rules and FILE_CHANGED),
 * pattern normalization (`~`, relative patterns, trailing `/`), and checkPath's rules
 * in order: kernel rules, blocked_paths (case ignored), allowed lists (deny by default).
 */
import { describe, expect, it } from 'vitest';
import { type Permissions, PRESETS } from '../../src/protocol/schemas/permissions.js';
import { checkPath, denialMessage, normalizePattern, type PathContext, pathPolicy, policyVerdict } from '../../src/security/paths.js';
import { compileGlob, staticPrefix } from '../../src/security/paths-glob.js';

const matches = (glob: string, path: string) => compileGlob(glob).test(path);

const context: PathContext = { home: '/home/agent', dataDir: '/var/lib/agentos' };
const admin: PathContext = { home: '/home/agent', dataDir: null };

function rules(fields: Partial<Permissions>): Permissions {
  return Object.freeze({ ...PRESETS.standard, ...fields });
}

describe('the glob', () => {
  it('"**" as a whole segment crosses directories, none included; "dir/**" matches dir itself', () => {
    expect(matches('/a/**', '/a')).toBe(true);
    expect(matches('/a/**', '/a/b/c/d.txt')).toBe(true);
    expect(matches('/a/**', '/ab')).toBe(false);
    expect(matches('/a/**/x', '/a/x')).toBe(true);
    expect(matches('/a/**/x', '/a/b/c/x')).toBe(true);
    expect(matches('/a/**/x', '/a/b/c/xy')).toBe(false);
    expect(matches('**/.env', '/.env')).toBe(true);
    expect(matches('**/.env', '/a/b/c/.env')).toBe(true);
    expect(matches('**/.env', '/a/b/c/.envy')).toBe(false);
    expect(matches('/**', '/')).toBe(true);
    expect(matches('/**', '/anything/at/all')).toBe(true);
  });

  it('"*" and "?" stay within one name; "**" inside a name is "*"', () => {
    expect(matches('/a/*.ts', '/a/x.ts')).toBe(true);
    expect(matches('/a/*.ts', '/a/b/x.ts')).toBe(false);
    expect(matches('/a/*', '/a')).toBe(false);
    expect(matches('/a/?.txt', '/a/b.txt')).toBe(true);
    expect(matches('/a/?.txt', '/a/bc.txt')).toBe(false);
    expect(matches('/a/?', '/a/')).toBe(false);
    expect(matches('/a/**.ts', '/a/x.ts')).toBe(true);
    expect(matches('/a/**.ts', '/a/b/x.ts')).toBe(false);
    expect(matches('/a/*x*y*', '/a/_x_y_')).toBe(true);
    expect(matches('/a/*x*y*', '/a/_y_x_')).toBe(false);
  });

  it('everything else is literal and the match is anchored at both ends', () => {
    expect(matches('/a/(x)+[y]{z}.txt', '/a/(x)+[y]{z}.txt')).toBe(true);
    expect(matches('/a/b.txt', '/a/bxtxt')).toBe(false);
    expect(matches('/a/b.txt', '/a/b.txt.bak')).toBe(false);
    expect(matches('/a/b.txt', '/x/a/b.txt')).toBe(false);
    expect(matches('/a/B.txt', '/a/b.txt')).toBe(false);
  });

  it('answers adversarial patterns correctly (greedy matching, no exponential backtracking)', () => {
    const pattern = `/${Array.from({ length: 300 }, () => '**/a').join('/')}/b`;
    const path = `/${Array.from({ length: 1500 }, () => 'a').join('/')}`;
    expect(matches(pattern, path)).toBe(false);
    expect(matches(pattern, `${path}/b`)).toBe(true);
    expect(matches(`/${'*a'.repeat(200)}b`, `/${'a'.repeat(3000)}`)).toBe(false);
  });

  it('a name with a newline is still one name: "**" and "*" cross it', () => {
    expect(matches('**/.env', '/tmp/a\nb/.env')).toBe(true);
    expect(matches('/tmp/*/.env', '/tmp/a\nb/.env')).toBe(true);
  });

  it('staticPrefix is the directory FILE_CHANGED watches', () => {
    expect(staticPrefix('/a/b/**/*.ts')).toBe('/a/b');
    expect(staticPrefix('/*.txt')).toBe('/');
  });
});

describe('patterns', () => {
  it('"~" is the home; a relative pattern matches at any depth; a trailing "/" covers the directory', () => {
    expect(normalizePattern('~', '/home/agent')).toBe('/home/agent');
    expect(normalizePattern('~/.ssh/**', '/home/agent/')).toBe('/home/agent/.ssh/**');
    expect(normalizePattern('*.pem', '/h')).toBe('**/*.pem');
    expect(normalizePattern('**/.env', '/h')).toBe('**/**/.env');
    expect(normalizePattern('/srv/', '/h')).toBe('/srv/**');
    expect(normalizePattern('/srv//data', '/h')).toBe('/srv/data');
    expect(normalizePattern('~user/x', '/h')).toBe('**/~user/x');
  });
});

describe('checkPath', () => {
  const standard = PRESETS.standard;

  it('the standard level reads anywhere but secrets and writes only in the workspace', () => {
    expect(checkPath(standard, '/etc/hostname', 'read', context)).toBeUndefined();
    expect(checkPath(standard, '/tmp/work/x.txt', 'write', context)).toBeUndefined();
    expect(checkPath(standard, '/home/agent/notes.md', 'write', context)).toBeUndefined();
    expect(checkPath(standard, '/home/agent', 'write', context)).toBeUndefined();
    expect(checkPath(standard, '/etc/hostname', 'write', context)).toBe('"/etc/hostname" is not in allowed_write_paths');
    expect(checkPath(standard, '/home/agentx/notes.md', 'write', context)).toBe('"/home/agentx/notes.md" is not in allowed_write_paths');
  });

  it('finds secrets at any depth, naming the blocked pattern', () => {
    const cases: [string, string][] = [
      ['/srv/app/a/b/c/.env', '**/.env'],
      ['/srv/app/.env.production', '**/.env.*'],
      ['/srv/app/x/.ssh/id_rsa', '**/id_rsa*'],
      ['/srv/app/x/.ssh/config', '**/.ssh/**'],
      ['/srv/app/deploy/aws_credentials.json', '**/*credentials*'],
      ['/srv/app/certs/server.pem', '**/*.pem'],
      ['/srv/app/k8s/client.key', '**/*.key'],
      ['/home/agent/.aws/config', '~/.aws/**'],
      ['/home/agent/.ssh', '**/.ssh/**'],
      ['/etc/shadow', '/etc/shadow'],
      ['/proc/1/environ', '/proc/**/environ'],
      ['/proc/1/task/1/environ', '/proc/**/environ'],
    ];
    for (const [path, pattern] of cases) {
      expect(checkPath(standard, path, 'read', context), path).toBe(`"${path}" matches blocked_paths pattern "${pattern}"`);
      expect(checkPath(standard, path, 'write', context), path).toContain('blocked_paths');
    }
  });

  it('blocked patterns ignore case (a casefold directory opens .env for .ENV); allowed ones do not', () => {
    expect(checkPath(standard, '/srv/app/.ENV', 'read', context)).toContain('"**/.env"');
    expect(checkPath(standard, '/srv/app/Certs/Server.PEM', 'read', context)).toContain('"**/*.pem"');
    expect(checkPath(standard, '/srv/app/ID_RSA', 'read', context)).toContain('"**/id_rsa*"');
    const narrow = rules({ allowed_read_paths: ['/srv/App/**'] });
    expect(checkPath(narrow, '/srv/App/readme', 'read', context)).toBeUndefined();
    expect(checkPath(narrow, '/srv/app/readme', 'read', context)).toBe('"/srv/app/readme" is not in allowed_read_paths');
  });

  it('blocked_paths win over the allowed lists', () => {
    const permissive = rules({ allowed_read_paths: ['/srv/**', '/srv/app/.env'], blocked_paths: ['/srv/app/private/**', '**/.env'] });
    expect(checkPath(permissive, '/srv/app/public/x', 'read', context)).toBeUndefined();
    expect(checkPath(permissive, '/srv/app/private/x', 'read', context)).toContain('"/srv/app/private/**"');
    expect(checkPath(permissive, '/srv/app/private', 'read', context)).toContain('"/srv/app/private/**"');
    expect(checkPath(permissive, '/srv/app/.env', 'read', context)).toContain('"**/.env"');
  });

  it('the kernel data directory and /proc entry are out of reach for every agent but an admin', () => {
    const everything = PRESETS.unrestricted;
    expect(checkPath(everything, '/var/lib/agentos', 'read', context)).toContain("kernel's data directory");
    expect(checkPath(everything, '/var/lib/agentos/admin.token', 'read', context)).toContain("kernel's data directory");
    expect(checkPath(everything, '/var/lib/agentos/state.db', 'write', context)).toContain("kernel's data directory");
    expect(checkPath(everything, '/var/lib/agentos-other/x', 'read', context)).toBeUndefined();
    expect(checkPath(everything, `/proc/${process.pid}/task/${process.pid}/environ`, 'read', context)).toContain(
      "kernel's own process entry",
    );
    expect(checkPath(everything, `/proc/${process.pid}0/status`, 'read', context)).toBeUndefined();
    expect(checkPath(everything, '/var/lib/agentos/admin.token', 'read', admin)).toBeUndefined();
    expect(checkPath(everything, `/proc/${process.pid}/status`, 'read', admin)).toBeUndefined();
  });

  it('deny by default: empty lists allow nothing, with a reason that says so', () => {
    expect(checkPath(PRESETS.minimal, '/tmp/x', 'read', context)).toBe('"/tmp/x" is not in allowed_read_paths, which is empty');
    expect(checkPath(PRESETS.readonly, '/tmp/x', 'write', context)).toBe('"/tmp/x" is not in allowed_write_paths, which is empty');
  });

  it('refuses what is not an absolute normalized real path', () => {
    for (const path of ['tmp/x', '/tmp/../etc/passwd', '/tmp/./x', '/tmp//x', '/tmp/x/', '/tmp/x/..', '/tmp/x\0/y']) {
      expect(checkPath(PRESETS.unrestricted, path, 'read', admin), JSON.stringify(path)).toBeDefined();
    }
    expect(checkPath(PRESETS.unrestricted, '/', 'read', admin)).toBeUndefined();
    expect(checkPath(PRESETS.unrestricted, '/tmp/..x', 'read', admin)).toBeUndefined();
  });

  it('follows rule changes: a new permissions object is compiled anew', () => {
    const before = rules({ allowed_read_paths: ['/a/**'] });
    const after = rules({ allowed_read_paths: ['/b/**'] });
    expect(checkPath(before, '/a/x', 'read', context)).toBeUndefined();
    expect(checkPath(after, '/a/x', 'read', context)).toBeDefined();
    expect(checkPath(after, '/b/x', 'read', context)).toBeUndefined();
  });
});

describe('policies for worker threads', () => {
  it('is plain data, one object per rules and context, judged like checkPath after a structured clone', () => {
    const standard = PRESETS.standard;
    const policy = pathPolicy(standard, context);
    expect(pathPolicy(standard, context)).toBe(policy);
    const adminPolicy = pathPolicy(standard, admin);
    expect(adminPolicy).not.toBe(policy);
    expect(adminPolicy.key).not.toBe(policy.key);
    expect(pathPolicy(standard, context)).toBe(policy);

    const copy = structuredClone(policy);
    for (const [path, access] of [
      ['/srv/a/.env', 'read'],
      ['/etc/hostname', 'read'],
      ['/etc/hostname', 'write'],
      ['/tmp/x', 'write'],
      ['/var/lib/agentos/admin.token', 'read'],
    ] as const) {
      const verdict = policyVerdict(copy, path, access);
      const sentence = checkPath(standard, path, access, context);
      expect(verdict === undefined ? undefined : `"${path}" ${verdict}`).toBe(sentence);
    }
    expect(policyVerdict(structuredClone(adminPolicy), '/var/lib/agentos/admin.token', 'read')).toBeUndefined();
  });

  it('denials name the requested path, the real one when it differs, and the rule', () => {
    expect(denialMessage('READ', '/a/link', '/etc/shadow', 'matches blocked_paths pattern "/etc/shadow"')).toBe(
      'READ denied: "/a/link" resolves to "/etc/shadow", which matches blocked_paths pattern "/etc/shadow"',
    );
    expect(denialMessage('WRITE', '/etc/x', '/etc/x', 'is not in allowed_write_paths')).toBe(
      'WRITE denied: "/etc/x" is not in allowed_write_paths',
    );
    const long = `/tmp/${'a'.repeat(5000)}\n`;
    const message = denialMessage('READ', long, long, 'is not in allowed_read_paths');
    expect(message.length).toBeLessThan(600);
    expect(message).toContain('\\x0a');
  });
});
