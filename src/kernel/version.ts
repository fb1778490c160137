import { readFileSync } from 'node:fs';

/** The package version, read once at load (src/kernel and dist/kernel both sit two levels below it). */
export const KERNEL_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
