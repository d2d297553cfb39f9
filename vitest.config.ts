import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: test files run two at a time, each in a forked process, so that native
    // mappings and child processes of one file never leak into another.
    pool: 'forks',
    maxWorkers: 2,
    execArgv: ['--expose-gc'],
  },
});
