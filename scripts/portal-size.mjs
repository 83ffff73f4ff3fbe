#!/usr/bin/env node
// `npm run portal:size`: what a browser loads before the portal's first screen, gzipped: the
// scripts and styles index.html names, and every module those scripts import statically (lazy
// chunks, like the GraphQL Builder, are loaded with import() and left out). Reads the built files
// in portal/dist; test/portal-bundle.test.ts holds the JavaScript to 300 KB.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const root = path.resolve(import.meta.dirname, '..');

/** The initial load of the build in `dist`: { js, css } as lists of { file, raw, gzip } bytes. */
export function initialLoad(dist = path.join(root, 'portal', 'dist')) {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const local = (url) => path.join(dist, url.replace(/^\/portal\//, ''));
  const js = new Set();
  const css = new Set();
  for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) js.add(local(m[1]));
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) js.add(local(m[1]));
  for (const m of html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)) css.add(local(m[1]));
  // Static imports (`import{a}from"./x.js"`, `import"./y.js"`), followed to the end; `import(` is lazy.
  const queue = [...js];
  while (queue.length) {
    const file = queue.pop();
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bimport\s*(?:[\w$*{}\s,]*?from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      const dep = path.resolve(path.dirname(file), m[1]);
      if (!js.has(dep)) {
        js.add(dep);
        queue.push(dep);
      }
    }
  }
  const measure = (files) =>
    [...files].map((file) => {
      const raw = fs.readFileSync(file);
      return { file: path.relative(dist, file), raw: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
    });
  return { js: measure(js), css: measure(css) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { js, css } = initialLoad();
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  for (const f of [...js, ...css])
    process.stdout.write(`${f.file.padEnd(44)} ${kb(f.raw).padStart(10)} ${kb(f.gzip).padStart(10)} gzipped\n`);
  const sum = (l, k) => l.reduce((a, f) => a + f[k], 0);
  process.stdout.write(
    `initial JavaScript: ${kb(sum(js, 'raw'))}, ${kb(sum(js, 'gzip'))} gzipped (limit 300 KB); CSS ${kb(sum(css, 'gzip'))} gzipped\n`,
  );
}
