// The portal's build: React + TypeScript, served by Herald at /portal/ (src/portal/servePortal.ts).
// Everything it loads is bundled here: no CDN, no request to another host.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * A .gz beside every text asset over 1 KB, at the highest level, once at build time: Herald sends
 * it to browsers that accept gzip (@fastify/static's preCompressed) without compressing per request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'herald-precompress',
    apply: 'build',
    configResolved(c) {
      outDir = path.resolve(c.root, c.build.outDir);
    },
    writeBundle() {
      const dir = path.join(outDir, 'assets');
      for (const name of fs.readdirSync(dir)) {
        if (!/\.(js|css|svg|json|ttf)$/.test(name)) continue;
        const file = path.join(dir, name);
        const raw = fs.readFileSync(file);
        if (raw.length > 1024) fs.writeFileSync(`${file}.gz`, zlib.gzipSync(raw, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/portal/',
  plugins: [react(), precompress()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under assets/ are served with a year-long cache; index.html never is.
    assetsDir: 'assets',
    // The Builder (GraphiQL with its Monaco editor) is one lazy chunk of a few megabytes; the
    // portal's own screens stay small (test/portal-bundle.test.ts holds the initial load to 300 KB
    // gzipped), so the warning about big chunks says nothing here.
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's packages start files with React Compiler directives ("use no memo") that a
        // bundle cannot keep; they only tune that compiler, which the portal does not run.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    // `npm run portal:dev`: Vite's dev server in front of a Herald on :8080.
    proxy: { '/graphql': 'http://127.0.0.1:8080' },
  },
});
