#!/usr/bin/env node
// `npm test`: runs every test file under test/ with Node's test runner. Storage tests run on SQLite
// and on Postgres: DATABASE_URL when it is set, otherwise an embedded Postgres started here (and
// stopped at the end), so the suite passes on a laptop with nothing installed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const only = process.argv.slice(2);

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'helpers' ? [] : testFiles(p);
    return d.name.endsWith('.test.ts') ? [p] : [];
  });
}

let embedded = null;
const env = { ...process.env };
if (!env.DATABASE_URL) {
  embedded = await startEmbeddedPostgres();
  env.DATABASE_URL = embedded.url;
  process.stdout.write(`embedded Postgres at ${embedded.url} (set DATABASE_URL to use your own)\n`);
}

const files = only.length ? only : testFiles(path.join(root, 'test')).sort();
const concurrency = Math.max(2, os.availableParallelism());
// --test-force-exit: a file whose tests are done exits even if a failed test left a socket or a
// child process open, so one failure cannot hold the whole run open. --test-timeout fails a test
// (or suite) that hangs instead of waiting for it forever.
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-force-exit', '--test-timeout=600000'];
// The runner and its per-file processes get a process group of their own, so the watchdog below
// (and Ctrl-C) stops all of them.
const child = spawn(process.execPath, [...args, ...files], { cwd: root, env, stdio: 'inherit', detached: true });
const stopAll = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(signal));
const minutes = Number(process.env.TEST_RUN_MINUTES ?? 40);
const watchdog = setTimeout(() => {
  process.stderr.write(
    `\nthe test run passed ${minutes} minutes (TEST_RUN_MINUTES): stopping it; the output above shows what was still running\n`,
  );
  stopAll('SIGKILL');
}, minutes * 60_000);
const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
clearTimeout(watchdog);
if (embedded) await embedded.stop();
process.exit(code);
