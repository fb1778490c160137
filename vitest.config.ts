import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Kernels, child processes and sockets: real resources, so keep parallelism modest on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
