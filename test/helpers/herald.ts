import type { Dialect } from '../../src/db/db.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createHerald, type Herald } from '../../src/herald.js';
import { createLogger } from '../../src/log.js';
import { freshDatabase, TEST_SECRET_KEY, type TestDatabase } from './db.js';

export interface TestHerald {
  herald: Herald;
  database: TestDatabase;
  config: Config;
  /** Base URL of the real listening API. */
  url: string;
  sandboxKey: string;
  productionKey: string;
  /** JSON request against the API with the sandbox key (or `key`). */
  api(
    method: string,
    path: string,
    body?: unknown,
    opts?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** A whole Herald (API + worker) on a fresh database of `dialect`, listening on 127.0.0.1. */
export async function startHerald(dialect: Dialect, env: Record<string, string> = {}): Promise<TestHerald> {
  const database = await freshDatabase(dialect);
  const config = loadConfig({
    HERALD_PORT: '0',
    HERALD_HOST: '127.0.0.1',
    HERALD_DATA_DIR: database.dataDir,
    HERALD_LOG_LEVEL: process.env.HERALD_TEST_LOG ?? 'silent',
    HERALD_POLL_INTERVAL_MS: '100',
    HERALD_SQLITE_SYNC: 'normal',
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl, HERALD_SECRET_KEY: TEST_SECRET_KEY } : {}),
    ...env,
  });
  const herald = await createHerald(config, createLogger(config.logLevel), { db: database.open() });
  const keys = Object.fromEntries(herald.firstStartKeys.map((k) => [k.environment, k.key]));
  const url = `http://127.0.0.1:${herald.port}`;
  const t: TestHerald = {
    herald,
    database,
    config,
    url,
    sandboxKey: keys.sandbox,
    productionKey: keys.production,
    async api(method, path, body, opts = {}) {
      const key = opts.key === undefined ? keys.sandbox : opts.key;
      const res = await fetch(url + path, {
        // A request Herald never answers fails its test, named, instead of holding the file until
        // the runner's 10-minute timeout.
        signal: AbortSignal.timeout(60_000),
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...opts.headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // Not JSON: the test sees the text.
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async close() {
      await within(60_000, 'Herald to stop', herald.stop());
      await within(60_000, 'the database connection to close', herald.db.close());
      await within(60_000, 'the test database to be dropped', database.drop());
    },
  };
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a failure naming what never finished after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
