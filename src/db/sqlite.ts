import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Db, Queryable, Row, TxJob } from './db.js';
import { SqliteStatements } from './sqliteStatements.js';
import { SqliteThread } from './sqliteThread.js';
import { WalSync } from './walSync.js';

// better-sqlite3 is synchronous, so a query never yields. A transaction whose body awaits can
// yield, though, and another request's statements would then run inside it. A promise chain
// (`lock`) serialises transactions and keeps other statements out while one is open.
//
// The hot writers' transactions (TxJob) run on a writer thread with a connection of its own
// (sqliteThread.ts). SQLite has one writer at a time, so a write on this thread's connection (a
// transaction, or a statement on its own) first waits until no job is under way, and jobs wait
// while such a write holds the lock: neither ever meets the other's open transaction in SQLite's
// busy handler, which would block the event loop. Reads go on: the log gives them a snapshot.

export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly where: string;
  private readonly db: Database.Database;
  private readonly statements: SqliteStatements;
  private lock: Promise<void> = Promise.resolve();
  /** A transaction of this thread is open (its body may be awaiting). */
  private inTx = false;
  /** A write of this thread holds the lock, or waits for the jobs under way to end before it runs. */
  private writing = false;
  /** `full`: each commit's log flushed off the event loop before it resolves (walSync.ts). */
  private readonly walSync: WalSync | null;
  /** Where jobs run; null when opened with `thread: false` (then they run here, as transactions). */
  private readonly thread: SqliteThread | null;

  constructor(file: string, opts: { synchronous?: 'normal' | 'full'; thread?: boolean } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.where = file;
    this.db = new Database(file);
    this.statements = new SqliteStatements(this.db);
    this.q = this.statements.queryable(file);
    // WAL lets the CLI and readers work while the server writes; busy_timeout makes a second
    // process wait for the write lock instead of failing at once.
    this.db.pragma('journal_mode = WAL');
    // `full` keeps FULL's promise (a resolved commit survives power loss) with the fsync moved to
    // the thread pool: SQLite itself runs at NORMAL, and walSync flushes the log after each commit.
    this.db.pragma('synchronous = NORMAL');
    const synchronous = opts.synchronous ?? 'full';
    this.walSync = synchronous === 'full' ? new WalSync(`${file}-wal`) : null;
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.thread = opts.thread === false ? null : new SqliteThread(file, synchronous);
  }

  private readonly q: Queryable;

  /** Waits until no transaction of this thread is open: a statement would run inside it. */
  private async outside<T>(fn: () => T): Promise<T> {
    while (this.inTx) await this.lock;
    return fn();
  }

  /**
   * Takes the lock for a write on this thread: after the transactions queued before it, and once
   * no job is under way (none is posted meanwhile). Answers the release.
   */
  private async acquire(): Promise<() => void> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.writing = true;
    while (this.thread && this.thread.running > 0) await this.thread.idle();
    return () => {
      this.writing = false;
      release();
    };
  }

  /** A statement on its own commits by itself: one that writes resolves once its commit is flushed. */
  private async alone<T>(sql: string, run: (c: ReturnType<SqliteStatements['compile']>) => T): Promise<T> {
    const c = this.statements.compile(sql);
    if (c.readonly) return this.outside(() => run(c));
    const done = await this.acquire();
    let out: T;
    try {
      out = run(c);
    } finally {
      done();
    }
    if (this.walSync) await this.walSync.sync();
    return out;
  }

  all<T = Row>(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.statements.allOf<T>(c, params));
  }
  one<T = Row>(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.statements.oneOf<T>(c, params));
  }
  run(sql: string, params: unknown[] = []) {
    return this.alone(sql, (c) => this.statements.runOf(c, params));
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const { out, durable } = await this.txThenFlush(fn);
    await durable;
    return out;
  }

  async txThenFlush<T>(fn: (q: Queryable) => Promise<T>): Promise<{ out: T; durable: Promise<void> }> {
    const done = await this.acquire();
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
      done();
    }
    // The next transaction may run while this one's log is flushed.
    return { out, durable: this.walSync ? this.walSync.sync() : Promise.resolve() };
  }

  async txJob<I, O>(job: TxJob<I, O>, input: I): Promise<O> {
    if (!this.thread) return this.tx((q) => job.run(q, input));
    // Not beside a write of this thread (see acquire): wait for the ones queued to be done.
    while (this.writing || this.inTx) await this.lock;
    return this.thread.run(job, input);
  }

  async exec(sql: string): Promise<void> {
    const done = await this.acquire();
    try {
      this.db.exec(sql);
    } finally {
      done();
    }
    await this.walSync?.sync();
  }

  async close(): Promise<void> {
    await this.lock;
    await this.thread?.close();
    await this.walSync?.close();
    this.db.close();
  }
}
