/**
 * `agentos relay ARGS...` from the sources, as the relay section's child process: the
 * CLI's own start-up path, so the bench measures the relay people run.
 */
import { main } from '../src/cli/main.js';

await main([process.argv[0] as string, 'agentos', 'relay', ...process.argv.slice(2)]);
