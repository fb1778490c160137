// Worker entry used when the kernel runs from its TypeScript sources (tests, bench):
// `--import tsx` does not reach worker threads on Node 20, so tsx is registered here
// before the task module loads. From dist/ the pool loads tasks.js directly.
require('tsx/cjs/api').register();
module.exports = require('./tasks.ts');
