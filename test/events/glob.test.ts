import { describe, expect, it } from 'vitest';
import { globToRegExp, hasWildcard, staticPrefix } from '../../src/events/glob.js';

const matches = (glob: string, path: string) => globToRegExp(glob).test(path);

describe('globToRegExp', () => {
  it('"*" matches within one directory only', () => {
    expect(matches('/a/*.ts', '/a/x.ts')).toBe(true);
    expect(matches('/a/*.ts', '/a/b/x.ts')).toBe(false);
    expect(matches('/a/*', '/a/b')).toBe(true);
    expect(matches('/a/*', '/a/b/c')).toBe(false);
  });

  it('"**" crosses directories, and "**/" also matches no directory', () => {
    expect(matches('/a/**', '/a/b/c/d.txt')).toBe(true);
    expect(matches('/a/**/*.ts', '/a/x.ts')).toBe(true);
    expect(matches('/a/**/*.ts', '/a/b/c/x.ts')).toBe(true);
    expect(matches('/a/**/*.ts', '/a/b/c/x.js')).toBe(false);
    expect(matches('/a/**', '/b/c')).toBe(false);
  });

  it('"?" is one character but "/"; everything else is literal and anchored', () => {
    expect(matches('/a/?.txt', '/a/b.txt')).toBe(true);
    expect(matches('/a/?.txt', '/a/bb.txt')).toBe(false);
    expect(matches('/a/b.txt', '/a/bxtxt')).toBe(false);
    expect(matches('/a/(x)+[y].txt', '/a/(x)+[y].txt')).toBe(true);
    expect(matches('/a/b.txt', '/a/b.txt.bak')).toBe(false);
    expect(matches('/a/b.txt', '/x/a/b.txt')).toBe(false);
  });
});

describe('staticPrefix and hasWildcard', () => {
  it('is the longest directory without a wildcard', () => {
    expect(staticPrefix('/a/b/*.ts')).toBe('/a/b');
    expect(staticPrefix('/a/**')).toBe('/a');
    expect(staticPrefix('/a/b/**/c/*.ts')).toBe('/a/b');
    expect(staticPrefix('/a/f.txt')).toBe('/a');
    expect(staticPrefix('/*.txt')).toBe('/');
    expect(staticPrefix('/a/x?/y')).toBe('/a');
    expect(hasWildcard('/a/*.ts')).toBe(true);
    expect(hasWildcard('/a/b.ts')).toBe(false);
  });
});
