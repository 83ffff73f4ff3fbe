import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Db, Queryable, Row } from './db.js';
import type { Reply, Request, ThreadOptions } from './sqliteThread.js';

// The connection lives on a thread of its own (sqliteThread.ts): each statement is a message to it
// and its answer a message back, so SQLite's work (and its disk waits) runs beside the event loop
// instead of stopping it. A transaction's statements are sent one after another while it holds
// the lock below: a promise chain that serialises transactions and keeps other statements out
// while one is open, so a statement sent between BEGIN and COMMIT is always the transaction's own.

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

/** An Error as the thread describes it, with SQLite's code (isUniqueViolation and the like read it). */
function rebuilt(e: { message: string; code?: string; name: string }): Error {
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}

/** Blobs come back as plain Uint8Arrays (structured clone); callers expect Buffers, as before. */
function withBuffers<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const row of value) withBufferColumns(row);
  } else withBufferColumns(value);
  return value;
}

function withBufferColumns(row: unknown): void {
  if (row === null || typeof row !== 'object') return;
  const r = row as Record<string, unknown>;
  for (const k in r) {
    const v = r[k];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) r[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
}

export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly where: string;
  private readonly thread: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private lock: Promise<void> = Promise.resolve();
  private inTx = false;
  private died: Error | null = null;

  constructor(file: string, opts: { synchronous?: 'normal' | 'full' } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.where = file;
    this.q = { ...this.q, where: file };
    // From the build, or from the sources when they run as TypeScript (the tests, through tsx).
    const workerData: ThreadOptions = { file, synchronous: opts.synchronous ?? 'full' };
    this.thread = import.meta.url.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sqliteThread.ts', import.meta.url).href)}); })`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./sqliteThread.js', import.meta.url), { workerData });
    // The thread keeps the process alive only while a statement waits for its answer.
    this.thread.unref();
    this.thread.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.thread.unref();
      if ('error' in m) p.reject(rebuilt(m.error));
      else p.resolve(m.value);
    });
    const fail = (err: Error) => {
      this.died ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`the SQLite thread stopped (exit code ${code})`)));
  }

  private call(req: Distribute<Request>): Promise<unknown> {
    if (this.died) return Promise.reject(this.died);
    const id = ++this.nextId;
    if (this.pending.size === 0) this.thread.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.postMessage({ ...req, id });
    });
  }

  private statement<T>(op: 'all' | 'one' | 'run', sql: string, params: unknown[], tx: boolean): Promise<T> {
    return this.call({ op, sql, params, tx }).then((v) => (op === 'run' ? v : withBuffers(v)) as T);
  }

  /** Inside a transaction: the statements of `fn`. */
  private q: Queryable = {
    dialect: 'sqlite',
    where: '',
    all: <T>(sql: string, params: unknown[] = []) => this.statement<T[]>('all', sql, params, true),
    one: <T>(sql: string, params: unknown[] = []) => this.statement<T | undefined>('one', sql, params, true),
    run: (sql: string, params: unknown[] = []) => this.statement<number>('run', sql, params, true),
    write: (sql: string, params: unknown[] = []) => {
      // Sent, not waited for: the thread runs it in order, and its error fails the COMMIT.
      if (this.died) return Promise.reject(this.died);
      this.thread.postMessage({ op: 'write', sql, params, id: 0 } satisfies Request);
      return Promise.resolve();
    },
  };

  /** Waits while a transaction is open: a statement on its own must not run inside it. */
  private async outside<T>(fn: () => Promise<T>): Promise<T> {
    while (this.inTx) await this.lock;
    return fn();
  }

  // A statement on its own commits by itself: one that writes resolves once its commit is flushed.
  all<T = Row>(sql: string, params: unknown[] = []) {
    return this.outside(() => this.statement<T[]>('all', sql, params, false));
  }
  one<T = Row>(sql: string, params: unknown[] = []) {
    return this.outside(() => this.statement<T | undefined>('one', sql, params, false));
  }
  run(sql: string, params: unknown[] = []) {
    return this.outside(() => this.statement<number>('run', sql, params, false));
  }
  async write(sql: string, params: unknown[] = []) {
    await this.run(sql, params);
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const { out, durable } = await this.txThenFlush(fn);
    await durable;
    return out;
  }

  /**
   * BEGIN goes with the transaction's first statement, and COMMIT with the request for its flush:
   * neither waits a round trip of its own. This resolves as soon as COMMIT is sent, and the lock
   * passes to the next transaction then (the thread takes messages in order, and rolls back a
   * COMMIT that fails), so the next transaction is written while this one commits and flushes;
   * `durable` resolves once the commit is on disk, and rejects if it failed.
   */
  async txThenFlush<T>(fn: (q: Queryable) => Promise<T>): Promise<{ out: T; durable: Promise<void> }> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.inTx = true;
    let committed: Promise<unknown>;
    let out: T;
    const begun = this.call({ op: 'begin' });
    try {
      try {
        out = await fn(this.q);
      } catch (err) {
        await this.call({ op: 'rollback' }).catch(() => undefined);
        // A failed BEGIN is why the statements failed: say so.
        throw (
          (await begun.then(
            () => null,
            (e: unknown) => e,
          )) ?? err
        );
      }
      committed = this.call({ op: 'commit' });
    } finally {
      this.inTx = false;
      release();
    }
    const flushed = this.call({ op: 'flush' });
    const durable = Promise.allSettled([begun, committed, flushed]).then((results) => {
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    });
    return { out, durable };
  }

  async exec(sql: string): Promise<void> {
    await this.outside(() => this.call({ op: 'exec', sql }));
  }

  async close(): Promise<void> {
    await this.lock;
    if (!this.died) await this.call({ op: 'close' }).catch(() => undefined);
    await this.thread.terminate();
  }
}
