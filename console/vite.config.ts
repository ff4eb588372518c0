import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web console: built from `console/` into `dist/console/`, served by Holdfast at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // The CSP allows scripts from 'self' only; modern browsers need no preload polyfill.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
