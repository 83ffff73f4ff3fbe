import type { Db, Queryable } from './db.js';

/** What a group's write answers: one result per item, and what to do once it is committed. */
export interface GroupWrite<O> {
  results: O[];
  afterCommit?: () => void;
}

/**
 * Many small writes, one commit. Items submitted while a transaction is being written wait and go
 * together in the next one; each caller is answered only after the commit that holds its item, so
 * nothing is acknowledged early. On SQLite a commit is a WAL flush (an fsync, on the thread pool:
 * db/walSync.ts): under load one flush serves dozens of requests instead of one, and the next
 * group is written while the last one's flush runs. If a group
 * fails, each item is written again alone, so one bad item fails only its own caller.
 *
 * Used by the event outbox (events/eventWriter.ts, multi-row inserts per group) and by the
 * receiving route (inbound/sql/storeInbound.ts).
 */
export class GroupCommit<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    /** Writes the group inside the transaction; `alone` when retrying one item of a failed group. */
    private readonly writeGroup: (q: Queryable, items: I[], alone: boolean) => Promise<GroupWrite<O>>,
    /** A group holds items up to this total weight (but always at least one item). */
    private readonly opts: { maxWeight: number; weight: (item: I) => number } = { maxWeight: 500, weight: () => 1 },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        // Start on the next turn of the event loop, not now: requests parsed in the same I/O
        // phase then join this group (with SQLite a transaction never yields, so without the
        // pause every group would hold one request).
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) await this.writeNext();
    } finally {
      // Whatever happens, the next submit must be able to start a drain again.
      this.running = false;
      if (this.queue.length) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    }
  }

  private async writeNext(): Promise<void> {
    const group: typeof this.queue = [];
    let weight = 0;
    while (this.queue.length && (group.length === 0 || weight + this.opts.weight(this.queue[0].item) <= this.opts.maxWeight)) {
      const g = this.queue.shift()!;
      weight += this.opts.weight(g.item);
      group.push(g);
    }
    try {
      const { out: w, durable } = await this.db.txThenFlush((q) =>
        this.writeGroup(
          q,
          group.map((g) => g.item),
          false,
        ),
      );
      // The next group is written while this one's commit is flushed to disk (SQLite: off the
      // event loop); its callers, and the worker it hands deliveries to, hear of it once durable.
      void durable.then(
        () => {
          w.afterCommit?.();
          group.forEach((g, i) => g.resolve(w.results[i]));
        },
        (err: unknown) => group.forEach((g) => g.reject(err)),
      );
    } catch {
      for (const g of group) {
        await this.db
          .tx((q) => this.writeGroup(q, [g.item], true))
          .then((w) => {
            w.afterCommit?.();
            g.resolve(w.results[0]);
          }, g.reject);
      }
    }
  }
}
