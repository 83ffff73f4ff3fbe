import type Database from 'better-sqlite3';
import type { Queryable } from './db.js';

interface Compiled {
  stmt: Database.Statement;
  order: number[];
  reader: boolean;
  /** Changes nothing: needs no flush when run on its own. */
  readonly: boolean;
}

/**
 * One SQLite connection's compiled statements, and the Queryable over them. Shared by the main
 * thread's connection (db/sqlite.ts) and the writer thread's (db/sqliteThreadMain.ts).
 */
export class SqliteStatements {
  private readonly cache = new Map<string, Compiled>();

  constructor(private readonly db: Database.Database) {}

  compile(sql: string): Compiled {
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
  allOf<T>(c: Compiled, params: unknown[]): T[] {
    const args = this.bind(c, params);
    return (c.reader ? c.stmt.all(...args) : (c.stmt.run(...args), [])) as T[];
  }
  oneOf<T>(c: Compiled, params: unknown[]): T | undefined {
    return c.stmt.get(...this.bind(c, params)) as T | undefined;
  }
  runOf(c: Compiled, params: unknown[]): number {
    return c.stmt.run(...this.bind(c, params)).changes;
  }

  /** Statements run as they come, inside whatever transaction the connection has open. */
  queryable(where: string): Queryable {
    return {
      dialect: 'sqlite',
      where,
      all: async <T>(sql: string, params: unknown[] = []) => this.allOf<T>(this.compile(sql), params),
      one: async <T>(sql: string, params: unknown[] = []) => this.oneOf<T>(this.compile(sql), params),
      run: async (sql: string, params: unknown[] = []) => this.runOf(this.compile(sql), params),
    };
  }
}
