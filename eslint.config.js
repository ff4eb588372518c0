import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layer walls (DESIGN.md, "Walls"; docs/architecture.md). Each layer lists the folders of
 * ours it must not import, relative to src/; the composition root (main.ts, installation.ts,
 * background.ts, backups.ts) wires concrete adapters and is imported by the CLI only.
 */
const ROOT = ['main', 'installation', 'background', 'backups'];
const ourFolder = (name) => [`**/${name}/**`, `./${name}/**`];
const ourRoot = (names) => names.flatMap((n) => [`**/${n}.js`, `./${n}.js`]);

const DRIVERS = ['kysely', 'better-sqlite3', 'pg'];
const FACES = ['fastify', 'fastify/*', '@fastify/*', 'commander'];

const APP_FOLDERS = ['storage', 'platform', 'http', 'cli', 'config'];
const APP_PACKAGES = [
  ...FACES,
  ...DRIVERS,
  'pino',
  'nodemailer',
  'qrcode',
  '@node-rs/*',
  'node:crypto',
  'crypto',
  'node:fs',
  'node:fs/*',
  'fs',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
  'node:worker_threads',
];
const APP_WHY = 'app/ imports core/ only: storage, platform and libraries reach it through ports (AppDeps)';

/** A source a dynamic `import()` must not name, as a no-restricted-syntax selector. */
const dynamicImport = (regex, message) => ({
  selector: `ImportExpression > Literal[value=${regex}]`,
  message,
});

/**
 * The wall of one layer: `folders` of ours and `packages` it must not import (static imports,
 * re-exports and dynamic imports alike). `typeOnly` packages may still be imported as types.
 */
function wall({ files, folders, root = ROOT, packages = [], typeOnly = [], paths = [], why }) {
  const patterns = [];
  if (folders.length > 0) patterns.push({ group: folders.flatMap(ourFolder), message: why });
  if (root.length > 0)
    patterns.push({ group: ourRoot(root), message: `${why} (only the CLI reaches the composition root)` });
  // Exact names as paths (a pattern without a slash would match a folder of ours of that name).
  const globs = packages.filter((p) => p.includes('*'));
  const exact = packages.filter((p) => !p.includes('*'));
  if (globs.length > 0) patterns.push({ group: globs, message: why });
  const named = [...exact.map((name) => ({ name, message: why })), ...paths];
  if (typeOnly.length > 0) patterns.push({ group: typeOnly, message: why, allowTypeImports: true });
  const folderAlternation = [...folders, ...root.map((r) => `${r}\\.js$`)].join('|');
  const packageAlternation = [...packages, ...typeOnly]
    .map((p) =>
      p
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\//g, '\\x2F'),
    )
    .join('|');
  const selectors = [];
  if (folderAlternation !== '')
    selectors.push(dynamicImport(`/^\\.{1,2}\\x2F(.*\\x2F)?(${folderAlternation})(\\x2F|$)/`, why));
  if (packageAlternation !== '') selectors.push(dynamicImport(`/^(${packageAlternation})$/`, why));
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns, paths: named }],
      'no-restricted-syntax': ['error', ...selectors],
    },
  };
}

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
  // core: pure. Imports nothing of ours but core; node:crypto for hashing only (randomness is injected).
  wall({
    files: ['src/core/**/*.ts'],
    folders: ['app', 'storage', 'http', 'cli', 'platform', 'config'],
    packages: [
      ...FACES,
      ...DRIVERS,
      'pino',
      'nodemailer',
      'qrcode',
      '@node-rs/*',
      'node:fs',
      'node:fs/*',
      'fs',
      'node:http',
      'node:https',
      'http',
      'https',
      'node:net',
      'node:child_process',
      'node:worker_threads',
    ],
    paths: [
      {
        name: 'node:crypto',
        importNames: [
          'randomBytes',
          'randomUUID',
          'randomInt',
          'randomFill',
          'randomFillSync',
          'getRandomValues',
        ],
        message: 'core/ is pure: inject a RandomSource',
      },
    ],
    // The browser's WebAuthn JSON shapes are named by the library's types (core/factors/webauthn/ceremonies.ts).
    typeOnly: ['@simplewebauthn/*'],
    why: 'core/ is pure and imports nothing of ours but core/',
  }),
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'inject a Clock' },
        { object: 'Math', property: 'random', message: 'inject a RandomSource' },
      ],
    },
  },
  // app: the use cases. Imports core only; storage, platform and libraries reach it through ports (AppDeps).
  wall({
    files: ['src/app/**/*.ts'],
    folders: APP_FOLDERS,
    packages: APP_PACKAGES,
    // The browser's WebAuthn JSON shapes are named by the library's types; its code is a port.
    typeOnly: ['@simplewebauthn/*'],
    why: APP_WHY,
  }),
  // The faces and the configuration never reach storage or platform.
  wall({
    files: ['src/http/**/*.ts'],
    folders: ['storage', 'platform', 'cli', 'config'],
    packages: DRIVERS,
    why: 'http/ reaches storage and platform only through app/ use cases',
  }),
  wall({
    files: ['src/cli/**/*.ts'],
    folders: ['storage', 'platform', 'http'],
    root: ['background'],
    packages: DRIVERS,
    why: 'cli/ reaches storage and platform only through app/ and the composition root (installation.ts)',
  }),
  wall({
    files: ['src/config/**/*.ts'],
    folders: ['app', 'storage', 'platform', 'http', 'cli'],
    packages: DRIVERS,
    why: 'config/ reads environment variables and flags only',
  }),
  // The adapters never reach up into the use cases or the faces.
  wall({
    files: ['src/storage/**/*.ts'],
    folders: ['app', 'http', 'cli', 'platform', 'config'],
    why: 'storage/ is an adapter behind core/ports.ts: it never imports app/, http/ or cli/',
  }),
  wall({
    files: ['src/platform/**/*.ts'],
    folders: ['app', 'http', 'cli', 'storage', 'config'],
    why: 'platform/ is an adapter behind core/ports.ts: it never imports app/, http/ or cli/',
  }),
  {
    // Tests may read fixtures and spec vectors from disk, use real clocks and wire any layer.
    files: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': 'off',
      'no-restricted-syntax': 'off',
      'no-restricted-properties': 'off',
    },
  },
);
