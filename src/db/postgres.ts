import pg from 'pg';
import type { Db, Queryable, Row, TxJob } from './db.js';

// int8 (bigint) columns hold millisecond timestamps and counts well inside 2^53: read them as
// numbers instead of pg's default strings. Done per pool, not globally.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
  },
};

function queryable(client: pg.Pool | pg.PoolClient, where: string): Queryable {
  return {
    dialect: 'postgres',
    where,
    all: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
    one: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows[0] as T | undefined,
    run: async (sql: string, params: unknown[] = []) => (await client.query(sql, params)).rowCount ?? 0,
  };
}

const DEADLOCK_DETECTED = '40P01';

export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly where: string;
  readonly pool: pg.Pool;
  private readonly q: Queryable;

  constructor(
    private readonly url: string,
    opts: { max?: number; onError?: (err: Error) => void } = {},
  ) {
    const u = new URL(url);
    this.where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20, types });
    // An idle client that loses its connection (Postgres restarted) must not crash the process;
    // the pool drops it and opens a new one on the next query.
    this.pool.on('error', (err) => opts.onError?.(err));
    this.q = queryable(this.pool, this.where);
  }

  all<T = Row>(sql: string, params?: unknown[]) {
    return this.q.all<T>(sql, params);
  }
  one<T = Row>(sql: string, params?: unknown[]) {
    return this.q.one<T>(sql, params);
  }
  run(sql: string, params?: unknown[]) {
    return this.q.run(sql, params);
  }

  /**
   * Runs `fn` in a transaction. When Postgres breaks a deadlock by aborting this transaction
   * (40P01), nothing of it was kept, so it runs again (at most twice more, after a short random
   * pause): two writers that lock the same rows in different orders (recording attempts while a
   * tenant is deleted) both succeed instead of one answering 500. `fn` must not have effects
   * outside the database before it returns; Herald's transactions act on what they return.
   */
  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(fn);
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
      }
    }
  }

  txJob<I, O>(job: TxJob<I, O>, input: I): Promise<O> {
    return this.tx((q) => job.run(q, input));
  }

  async txThenFlush<T>(fn: (q: Queryable) => Promise<T>): Promise<{ out: T; durable: Promise<void> }> {
    // synchronous_commit is on: COMMIT returned, so the commit is on disk.
    return { out: await this.tx(fn), durable: Promise.resolve() };
  }

  private async txOnce<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose connection drops (Postgres restarting) emits 'error'; unheard, that
    // would crash the process. Note it, let the query in progress fail, destroy the client after.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const out = await fn(queryable(client, this.where));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      // A failed ROLLBACK means the connection itself is gone (Postgres restarted): destroy it
      // instead of handing it back to the pool, or the next transaction would get it.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * A connection of its own, outside the pool, for a session that stays open (LISTEN): the caller
   * connects it, listens for its 'error', and ends it. Named in pg_stat_activity by
   * `applicationName`. TCP keepalive every 10 s of silence: a connection that idles for hours
   * between notifications is not dropped by a firewall or NAT that forgets quiet connections.
   */
  sessionClient(applicationName: string): pg.Client {
    return new pg.Client({
      connectionString: this.url,
      application_name: applicationName,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
