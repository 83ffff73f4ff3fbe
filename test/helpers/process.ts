import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_SECRET_KEY, type TestDatabase } from './db.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/herald');

import { freePort } from '../../scripts/embedded-postgres.mjs';

export { freePort };

/**
 * The environment of a Herald process on this test database. HERALD_PORT is 0 unless `extra` names
 * one: the system picks a free port as Herald binds it, so tests running side by side never race
 * for a port, and spawnHerald reads the port from the start banner.
 */
export function heraldEnv(database: TestDatabase, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HERALD_DATA_DIR: database.dataDir,
    HERALD_LOG_LEVEL: 'warn',
    HERALD_PORT: '0',
    ...extra,
  };
  delete env.DATABASE_URL;
  if (database.databaseUrl) {
    env.DATABASE_URL = database.databaseUrl;
    env.HERALD_SECRET_KEY = TEST_SECRET_KEY;
  }
  return env;
}

export interface HeraldProcess {
  proc: ChildProcess;
  /** Where its API answers: http://127.0.0.1:<the port it bound>. */
  base: string;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

// Every process started here is killed when the test file's process exits, whatever the test did:
// a test that fails before its own kill must not leave a server behind that holds the file open.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Runs `bin/herald start` as a real process; resolves once it prints that it is running. */
export async function spawnHerald(env: NodeJS.ProcessEnv): Promise<HeraldProcess> {
  const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) =>
    proc.on('exit', (code) => {
      running.delete(proc);
      r(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`herald did not start: ${out}${err}`));
    }, 20_000);
    const check = () => {
      const bound = /Herald is running on http:\/\/localhost:(\d+)/.exec(out);
      if (bound) {
        clearTimeout(timer);
        setTimeout(() => resolve(Number(bound[1])), 50); // the first-start key lines follow in the same write
      } else if (out.includes('Herald is running')) {
        clearTimeout(timer);
        reject(new Error(`herald started but its banner names no local port (is HERALD_PUBLIC_URL set?): ${out}`));
      }
    };
    proc.stdout.on('data', check);
    proc.on('exit', () => reject(new Error(`herald exited early: ${out}${err}`)));
  });
  return { proc, base: `http://127.0.0.1:${port}`, port, stdout: () => out, stderr: () => err, exited };
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
 * A first start of a real Herald process on a fresh database, for crash tests: short leases (2 s,
 * so attempts time out after 1 s: a lease must outlast one) and a quick poll, so what a killed process held comes due again soon. Answers the process, the
 * environment to start it again with, its address and the sandbox key its first start printed.
 */
export async function firstStartForCrash(database: TestDatabase) {
  const env = heraldEnv(database, { HERALD_LEASE_SECONDS: '2', HERALD_DELIVERY_TIMEOUT: '1', HERALD_POLL_INTERVAL_MS: '100' });
  const first = await spawnHerald(env);
  const key = /sandbox\s+(sk_test_\S+)/.exec(first.stdout())?.[1];
  if (!key) throw new Error(`the first start printed no sandbox key:\n${first.stdout()}\n${first.stderr()}`);
  return { first, env, base: first.base, key };
}

export interface CliProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `re` in stdout; rejects after `timeoutMs` with what was printed. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Runs a long-lived `bin/herald <args>` (listen, tail); killed with the test file like spawnHerald's. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) =>
    proc.on('exit', (code) => {
      running.delete(proc);
      r(code);
    }),
  );
  const waitFor = (re: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (!m) return false;
        clearTimeout(timer);
        proc.stdout.off('data', check);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        proc.stdout.off('data', check);
        reject(new Error(`herald ${args[0]} printed no ${re} within ${timeoutMs} ms:\n${out}\n${err}`));
      }, timeoutMs);
      if (!check()) proc.stdout.on('data', check);
    });
  return { proc, stdout: () => out, stderr: () => err, waitFor, exited };
}
