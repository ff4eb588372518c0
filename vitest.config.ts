import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: argon2id at OWASP parameters is CPU-bound, so more workers only add contention.
    maxWorkers: 2,
  },
});
