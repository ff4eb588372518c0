import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The web console runs in browsers.
    files: ['console/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Dependencies point inward (DESIGN.md convention 1): core is pure.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/app/**',
                '**/storage/**',
                '**/http/**',
                '**/cli/**',
                '**/platform/**',
                '**/config/**',
              ],
              message: 'core/ must not depend on outer layers',
            },
            {
              group: [
                'fastify',
                'fastify/*',
                '@fastify/*',
                'kysely',
                'better-sqlite3',
                'pg',
                'pino',
                'commander',
              ],
              message: 'core/ is pure',
            },
            {
              group: ['node:fs', 'node:fs/*', 'fs', 'node:http', 'node:https', 'http', 'https', 'node:net'],
              message: 'core/ does no I/O',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'inject a Clock' },
        { object: 'Math', property: 'random', message: 'inject a RandomSource' },
      ],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/http/**', '**/cli/**'], message: 'app/ must not depend on faces' },
            {
              group: ['fastify', 'fastify/*', '@fastify/*', 'better-sqlite3', 'pg', 'commander'],
              message: 'app/ is face- and driver-free',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests may read fixtures and spec vectors from disk and use real clocks.
    files: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': 'off', 'no-restricted-properties': 'off' },
  },
);
