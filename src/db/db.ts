// The one interface every store module talks to. SQL is written once, with Postgres-style `$1`
// placeholders; the SQLite adapter rewrites them. Both dialects store times as integer
// milliseconds since the epoch and JSON as text, so the same SQL runs on both.

export type Dialect = 'sqlite' | 'postgres';
// What a query answers when the caller names no row type. Call sites that read more than a column
// or two pass their own row interface (`q.one<TenantRow>(…)`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the untyped default, on purpose
export type Row = Record<string, any>;

export interface Queryable {
  readonly dialect: Dialect;
  /** Which database (the SQLite path or the Postgres host/database): keys process-wide caches. */
  readonly where: string;
  /** All rows of a statement. */
  all<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T = Row>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /** Runs a statement and answers how many rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

export interface Db extends Queryable {
  /** Runs `fn` in one transaction: committed (and durable) when it resolves, rolled back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Like tx, but resolves once the transaction is committed, with `durable`, which resolves once
   * the commit survives power loss. Lets a writer start its next transaction while the disk
   * flushes (SQLite; on Postgres a commit is durable when it returns). Answer no one before `durable`.
   */
  txThenFlush<T>(fn: (q: Queryable) => Promise<T>): Promise<{ out: T; durable: Promise<void> }>;
  /**
   * Runs a job (see TxJob) in one transaction, like tx: resolves once it is committed and durable.
   * SQLite runs it on the writer thread (db/sqliteThread.ts), off the event loop; Postgres as tx.
   */
  txJob<I, O>(job: TxJob<I, O>, input: I): Promise<O>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transaction's work written so that it can run on another thread: an exported constant of its
 * module (`module` is that module's import.meta.url, `name` the export's name), a function of the
 * transaction and an input, both input and output plain data (they cross threads by
 * structuredClone). The hot writers are jobs: on SQLite they run on a thread of their own
 * (db/sqliteThread.ts), where their statements and commits no longer take the event loop's time.
 */
export interface TxJob<I, O> {
  readonly module: string;
  readonly name: string;
  run(q: Queryable, input: I): Promise<O>;
}

/** Postgres unique-violation and SQLite constraint errors, told apart from other failures. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A row refers to one that no longer exists (deleted meanwhile, perhaps on another node). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

// Optional filters are written `(CAST($n AS text) IS NULL OR col = $n)`: Postgres cannot infer the
// type of a parameter that is only tested for NULL, and CAST is the spelling both dialects accept.

/**
 * True when the database could not be reached or went away mid-query (Postgres restarting, a
 * dropped connection, SQLite busy beyond its timeout): the request may succeed if retried.
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      'ETIMEDOUT',
      'SQLITE_BUSY',
      '57P01',
      '57P02',
      '57P03',
      '08000',
      '08003',
      '08006',
      '08001',
      '08004',
    ].includes(e.code ?? '')
  )
    return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    e.message ?? '',
  );
}
