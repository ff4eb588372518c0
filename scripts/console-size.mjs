#!/usr/bin/env node
// Measures what the console's first page costs to download: the entry script of
// dist/console/index.html plus every module it preloads, each gzipped (level 9, as a server or
// CDN would), summed. Prints a line for people, or JSON with --json. Exits 1 when the console
// was not built or the total exceeds the budget (150 KB).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The budget for the first page's compressed JavaScript, in bytes. */
export const BUDGET_BYTES = 150 * 1024;

const root = fileURLToPath(new URL('../dist/console/', import.meta.url));

/** The scripts index.html loads up front: module scripts and module preloads, served from this origin. */
export function entryScripts(html) {
  const found = new Set();
  for (const match of html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"[^>]*>/g)) found.add(match[1]);
  for (const match of html.matchAll(/<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"[^>]*>/g))
    found.add(match[1]);
  return [...found].filter((src) => src.startsWith('/') && !src.startsWith('//'));
}

/** Gzipped sizes of the entry page's scripts. */
export function measure(dir = root) {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const files = entryScripts(html).map((src) => {
    const body = readFileSync(join(dir, src.replace(/^\/+/, '')));
    return { file: src, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
  const gzipBytes = files.reduce((sum, f) => sum + f.gzipBytes, 0);
  return { files, gzipBytes, budgetBytes: BUDGET_BYTES, withinBudget: gzipBytes <= BUDGET_BYTES };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let result;
  try {
    result = measure();
  } catch (err) {
    console.error(
      `console-size: cannot read the built console (${err.code ?? err.message}); run npm run build`,
    );
    process.exit(1);
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result));
  } else {
    for (const f of result.files) console.log(`${f.file}  ${f.bytes} B  (${f.gzipBytes} B gzipped)`);
    console.log(
      `entry page JavaScript: ${result.gzipBytes} B gzipped (${(result.gzipBytes / 1024).toFixed(1)} KB; budget ${BUDGET_BYTES / 1024} KB)`,
    );
  }
  process.exit(result.withinBudget ? 0 : 1);
}
