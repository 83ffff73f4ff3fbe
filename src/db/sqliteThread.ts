// The SQLite connection's own thread (db/sqlite.ts starts it). better-sqlite3 is synchronous: run
// on the event loop, every statement stops everything else the process does (parsing requests,
// sending deliveries) for as long as SQLite works. Here it works beside the event loop, on the
// machine's other core; the main thread only sends statements and reads their answers.
//
// Messages are handled one at a time, in the order they come: the main thread keeps transactions
// apart (its lock), so a statement sent between BEGIN and COMMIT belongs to that transaction.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { WalSync } from './walSync.js';

export interface ThreadOptions {
  file: string;
  /** `full`: each commit's log flushed (walSync.ts) before a `flush` is answered. */
  synchronous: 'normal' | 'full';
}

/**
 * What the main thread asks. `tx`: a statement of the open transaction (refused when there is
 * none: its BEGIN failed); otherwise a statement on its own, answered once durable. `write`: a
 * statement of the transaction whose answer nobody waits for: it gets none, and if it fails, the
 * transaction's later statements and its COMMIT fail with its error.
 */
export type Request =
  | { id: number; op: 'all' | 'one' | 'run'; sql: string; params: unknown[]; tx: boolean }
  | { id: number; op: 'write'; sql: string; params: unknown[] }
  | { id: number; op: 'begin' | 'commit' | 'rollback' | 'flush' | 'close' }
  | { id: number; op: 'exec'; sql: string };

export type Reply = { id: number; value: unknown } | { id: number; error: { message: string; code?: string; name: string } };

interface Compiled {
  stmt: Database.Statement;
  order: number[];
  reader: boolean;
  /** Changes nothing: needs no flush when run on its own. */
  readonly: boolean;
}

class Connection {
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Compiled>();
  private readonly walSync: WalSync | null;
  /** The error of a `write` of the open transaction: it fails the rest of it. */
  private failed: Error | null = null;

  constructor(opts: ThreadOptions) {
    this.db = new Database(opts.file);
    // WAL lets the CLI and readers work while the server writes; busy_timeout makes a second
    // process wait for the write lock instead of failing at once (here, without stopping the
    // event loop).
    this.db.pragma('journal_mode = WAL');
    // `full` keeps FULL's promise (a resolved commit survives power loss) with the fsync on the
    // thread pool: SQLite itself runs at NORMAL, and walSync flushes the log after each commit, so
    // the next transaction is written while the last one is flushed.
    this.db.pragma('synchronous = NORMAL');
    this.walSync = opts.synchronous === 'full' ? new WalSync(`${opts.file}-wal`) : null;
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
  }

  private compile(sql: string): Compiled {
    let c = this.cache.get(sql);
    if (c) {
      // Least recently used first out: multi-row inserts make one text per row count.
      this.cache.delete(sql);
      this.cache.set(sql, c);
      return c;
    }
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
    return c;
  }

  private static bind(c: Compiled, params: unknown[]): unknown[] {
    const out = new Array<unknown>(c.order.length);
    for (let i = 0; i < c.order.length; i++) {
      const v = params[c.order[i]];
      // A Buffer arrives as a plain Uint8Array (structured clone): SQLite binds Buffers as blobs.
      out[i] =
        typeof v === 'boolean'
          ? v
            ? 1
            : 0
          : v === undefined
            ? null
            : v instanceof Uint8Array && !Buffer.isBuffer(v)
              ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
              : v;
    }
    return out;
  }

  /** Runs one statement; on its own (not `tx`) and writing, answers once its commit is flushed. */
  statement(op: 'all' | 'one' | 'run', sql: string, params: unknown[], tx: boolean): unknown {
    if (tx) this.assertTx();
    const c = this.compile(sql);
    const args = Connection.bind(c, params);
    const value =
      op === 'one'
        ? c.stmt.get(...args)
        : op === 'all'
          ? c.reader
            ? c.stmt.all(...args)
            : (c.stmt.run(...args), [])
          : c.stmt.run(...args).changes;
    if (!tx && !c.readonly && this.walSync) return this.walSync.sync().then(() => value);
    return value;
  }

  /** A statement of the transaction that nobody waits for: its error is kept for what follows. */
  write(sql: string, params: unknown[]): void {
    try {
      this.assertTx();
      const c = this.compile(sql);
      c.stmt.run(...Connection.bind(c, params));
    } catch (err) {
      this.failed ??= err instanceof Error ? err : new Error(String(err));
    }
  }

  private assertTx(): void {
    if (this.failed) throw this.failed;
    if (!this.db.inTransaction) throw new Error('a statement of a transaction arrived outside it: its BEGIN failed or it was rolled back');
  }

  control(op: 'begin' | 'commit' | 'rollback' | 'flush' | 'close'): unknown {
    switch (op) {
      case 'begin':
        this.failed = null;
        return void this.db.exec('BEGIN IMMEDIATE');
      case 'commit':
        // A transaction that cannot commit is rolled back here, at once: the main thread may have
        // sent the next transaction's BEGIN already.
        try {
          if (this.failed) throw this.failed;
          this.db.exec('COMMIT');
        } catch (err) {
          this.rollback();
          throw err;
        }
        return undefined;
      case 'rollback':
        return this.rollback();
      case 'flush':
        return this.walSync?.sync();
      case 'close':
        return (async () => {
          await this.walSync?.close();
          this.db.close();
        })();
    }
  }

  private rollback(): void {
    this.failed = null;
    // After an error SQLite may have rolled back already.
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  exec(sql: string): Promise<void> | void {
    this.db.exec(sql);
    return this.walSync?.sync();
  }
}

function errorOf(err: unknown): { message: string; code?: string; name: string } {
  const e = err as { message?: string; code?: string; name?: string };
  return { message: e?.message ?? String(err), code: e?.code, name: e?.name ?? 'Error' };
}

if (parentPort) {
  const port = parentPort;
  let conn: Connection | null = null;
  let openError: Error | null = null;
  try {
    conn = new Connection(workerData as ThreadOptions);
  } catch (err) {
    // Answered to every request: the main thread's first query fails with why it cannot open.
    openError = err instanceof Error ? err : new Error(String(err));
  }
  const answer = (id: number, run: () => unknown) => {
    let value: unknown;
    try {
      if (!conn) throw openError!;
      value = run();
    } catch (err) {
      port.postMessage({ id, error: errorOf(err) } satisfies Reply);
      return;
    }
    if (value instanceof Promise)
      value.then(
        (v: unknown) => port.postMessage({ id, value: v } satisfies Reply),
        (err: unknown) => port.postMessage({ id, error: errorOf(err) } satisfies Reply),
      );
    else port.postMessage({ id, value } satisfies Reply);
  };
  port.on('message', (m: Request) => {
    switch (m.op) {
      case 'all':
      case 'one':
      case 'run':
        return answer(m.id, () => conn!.statement(m.op, m.sql, m.params, m.tx));
      case 'write':
        // No answer: the main thread does not wait for it (an unopened connection fails the COMMIT).
        return conn?.write(m.sql, m.params);
      case 'exec':
        return answer(m.id, () => conn!.exec(m.sql));
      default: {
        const op = m.op;
        if (op === 'close' && !conn) return port.postMessage({ id: m.id, value: undefined } satisfies Reply);
        return answer(m.id, () => conn!.control(op));
      }
    }
  });
}
