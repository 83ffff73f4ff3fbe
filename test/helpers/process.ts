import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_SECRET_KEY, type TestDatabase } from './db.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/herald');

import { freePort } from '../../scripts/embedded-postgres.mjs';

export { freePort };

export function heraldEnv(database: TestDatabase, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HERALD_DATA_DIR: database.dataDir, HERALD_LOG_LEVEL: 'warn', ...extra };
  delete env.DATABASE_URL;
  if (database.databaseUrl) {
    env.DATABASE_URL = database.databaseUrl;
    env.HERALD_SECRET_KEY = TEST_SECRET_KEY;
  }
  return env;
}

/** Runs `bin/herald start` as a real process; resolves once it prints that it is running. */
export async function spawnHerald(
  env: NodeJS.ProcessEnv,
): Promise<{ proc: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald did not start: ${out}${err}`)), 20_000);
    const check = () => {
      if (out.includes('Herald is running')) {
        clearTimeout(timer);
        setTimeout(resolve, 50); // the first-start key lines follow in the same write
      }
    };
    proc.stdout.on('data', check);
    proc.on('exit', () => reject(new Error(`herald exited early: ${out}${err}`)));
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Runs `bin/herald <args>` to completion, with `input` (if any) on its standard input. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

/**
 * A first start of a real Herald process on a fresh database, for crash tests: short leases (2 s)
 * and a quick poll, so what a killed process held comes due again soon. Answers the process, the
 * environment to start it again with, its address and the sandbox key its first start printed.
 */
export async function firstStartForCrash(database: TestDatabase) {
  const port = await freePort();
  const env = heraldEnv(database, { HERALD_PORT: String(port), HERALD_LEASE_SECONDS: '2', HERALD_POLL_INTERVAL_MS: '100' });
  const first = await spawnHerald(env);
  const key = /sandbox\s+(sk_test_\S+)/.exec(first.stdout())?.[1];
  if (!key) throw new Error(`the first start printed no sandbox key:\n${first.stdout()}\n${first.stderr()}`);
  return { first, env, base: `http://127.0.0.1:${port}`, key };
}
