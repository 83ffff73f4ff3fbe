import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Db, Queryable, Row } from './db.js';
import { WalSync } from './walSync.js';

// better-sqlite3 is synchronous, so a query never yields. A transaction whose body awaits can
// yield, though, and another request's statements would then run inside it. A promise chain
// (`lock`) serialises transactions and keeps other statements out while one is open.

interface Compiled {
  stmt: Database.Statement;
  order: number[];
  reader: boolean;
  /** Changes nothing: needs no flush when run on its own. */
  readonly: boolean;
}

export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly where: string;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Compiled>();
  private lock: Promise<void> = Promise.resolve();
  private inTx = false;
  /** `full`: each commit's log flushed off the event loop before it resolves (walSync.ts). */
  private readonly walSync: WalSync | null;

  constructor(file: string, opts: { synchronous?: 'normal' | 'full' } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.where = file;
    this.q = { ...this.q, where: file };
    this.db = new Database(file);
    // WAL lets the CLI and readers work while the server writes; busy_timeout makes a second
    // process wait for the write lock instead of failing at once.
    this.db.pragma('journal_mode = WAL');
    // `full` keeps FULL's promise (a resolved commit survives power loss) with the fsync moved to
    // the thread pool: SQLite itself runs at NORMAL, and walSync flushes the log after each commit.
    this.db.pragma('synchronous = NORMAL');
    this.walSync = (opts.synchronous ?? 'full') === 'full' ? new WalSync(`${file}-wal`) : null;
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
  }

  private compile(sql: string): Compiled {
    let c = this.cache.get(sql);
    if (c) {
      // Least recently used first out: multi-row inserts make one text per row count.
      this.cache.delete(sql);
      this.cache.set(sql, c);
    } else {
      if (this.cache.size >= 500) this.cache.delete(this.cache.keys().next().value!);
      // `$3` → `?` and remember which parameter goes there: SQLite binds `?` in order.
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      const stmt = this.db.prepare(text);
      c = { stmt, order, reader: stmt.reader, readonly: stmt.readonly };
      this.cache.set(sql, c);
    }
    return c;
  }

  private bind(c: Compiled, params: unknown[]): unknown[] {
    return c.order.map((i) => {
      const v = params[i];
      return typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v;
    });
  }

  // One statement, compiled (cached) and run: the three ways a caller reads its answer.
  private allOf<T>(c: Compiled, params: unknown[]): T[] {
    const args = this.bind(c, params);
    return (c.reader ? c.stmt.all(...args) : (c.stmt.run(...args), [])) as T[];
  }
  private oneOf<T>(c: Compiled, params: unknown[]): T | undefined {
    return c.stmt.get(...this.bind(c, params)) as T | undefined;
  }
  private runOf(c: Compiled, params: unknown[]): number {
    return c.stmt.run(...this.bind(c, params)).changes;
  }

  private q: Queryable = {
    dialect: 'sqlite',
    where: '',
    all: async <T>(sql: string, params: unknown[] = []) => this.allOf<T>(this.compile(sql), params),
    one: async <T>(sql: string, params: unknown[] = []) => this.oneOf<T>(this.compile(sql), params),
    run: async (sql: string, params: unknown[] = []) => this.runOf(this.compile(sql), params),
  };

  private async outside<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.inTx) return fn();
    await this.lock;
    return this.outside(fn);
  }

  /** A statement on its own commits by itself: one that writes resolves once its commit is flushed. */
  private async alone<T>(sql: string, run: (c: Compiled) => T): Promise<T> {
    const { out, writes } = await this.outside(async () => {
      const c = this.compile(sql);
      return { out: run(c), writes: !c.readonly };
    });
    if (this.walSync && writes) await this.walSync.sync();
    return out;
  }

  all<T = Row>(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.allOf<T>(c, params));
  }
  one<T = Row>(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.oneOf<T>(c, params));
  }
  run(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.runOf(c, params));
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const { out, durable } = await this.txThenFlush(fn);
    await durable;
    return out;
  }

  async txThenFlush<T>(fn: (q: Queryable) => Promise<T>): Promise<{ out: T; durable: Promise<void> }> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.inTx = true;
    this.db.exec('BEGIN IMMEDIATE');
    let out: T;
    try {
      out = await fn(this.q);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.inTx = false;
      release();
    }
    // The next transaction may run while this one's log is flushed.
    return { out, durable: this.walSync ? this.walSync.sync() : Promise.resolve() };
  }

  async exec(sql: string): Promise<void> {
    await this.outside(async () => this.db.exec(sql));
    await this.walSync?.sync();
  }

  async close(): Promise<void> {
    await this.lock;
    await this.walSync?.close();
    this.db.close();
  }
}
