import type { Db, Queryable } from './db.js';

/**
 * Many small writes, one commit. Items submitted while a transaction is being written wait and go
 * together in the next one; each caller is answered after the commit that holds its item. On
 * SQLite a commit is a WAL flush (an fsync with synchronous=full), so under load one flush serves
 * dozens of requests instead of one. If a group fails, each item is retried alone, so one bad item
 * fails only its own caller. (The event outbox does the same with multi-row inserts:
 * events/eventWriter.ts.)
 */
export class GroupCommit<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly write: (q: Queryable, item: I) => Promise<O>,
    private readonly maxGroup = 500,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        // The next turn, not now: requests parsed in the same I/O phase join this group.
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, this.maxGroup);
        try {
          const out = await this.db.tx(async (q) => {
            const results: O[] = [];
            for (const g of group) results.push(await this.write(q, g.item));
            return results;
          });
          group.forEach((g, i) => g.resolve(out[i]));
        } catch {
          for (const g of group) await this.db.tx((q) => this.write(q, g.item)).then(g.resolve, g.reject);
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    }
  }
}
