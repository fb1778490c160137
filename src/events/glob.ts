/**
 * FILE_CHANGED's `filter.path` glob is the path policy's glob (one glob semantics in the
 * codebase): see src/security/paths-glob.ts. `globToRegExp` is the name earlier callers
 * know; it returns a matcher with `test(path)`, not a RegExp.
 */
export { compileGlob, compileGlob as globToRegExp, hasWildcard, type PathMatcher, staticPrefix } from '../security/paths-glob.js';
