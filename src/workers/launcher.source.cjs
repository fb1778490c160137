// Launcher thread entry when the kernel runs from its TypeScript sources (tests, bench):
// `--import tsx` does not reach worker threads on Node 20, so tsx is registered here.
require('tsx/cjs/api').register();
require('./launcher-worker.ts');
