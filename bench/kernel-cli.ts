/**
 * `agentos` from the TypeScript sources: what bin/agentos runs when dist/ is absent,
 * without bin/'s preference for a (possibly stale) dist/. Used for the startup time
 * and the idle RSS of the kernel as users start it.
 *
 * Usage: node --import tsx bench/kernel-cli.ts kernel --socket S --data-dir D --http-port 0 --log-level warn
 */
import { main } from '../src/cli/main.js';

await main(process.argv);
