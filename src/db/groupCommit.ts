import type { Db, Queryable } from './db.js';

/** One committed group, as the metrics see it (observability/metrics.ts). */
export interface GroupTiming {
  /** Items the group held. */
  items: number;
  /** Writing the group: its statements and the commit (on Postgres, the commit's flush too). */
  writeMs: number;
  /** From the commit to its flush on disk (SQLite's WAL fsync, db/walSync.ts; 0 on Postgres, where the commit waits for it). */
  flushMs: number;
}

/** What a group's write answers: one result per item, and what to do once it is committed. */
export interface GroupWrite<O> {
  results: O[];
  /**
   * An item that failed after its group was committed (a group written as one statement): its
   * caller gets this error, and the group is not written again. results[i] is then ignored.
   */
  failures?: unknown[];
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
  /** Groups being written, and whether writers are about to start. */
  private writing = 0;
  private scheduled = false;
  /** The constructor's options, with their defaults. */
  private readonly opts: {
    maxWeight: number;
    weight: (item: I) => number;
    transaction?: boolean;
    inFlight: number;
    observe?: (timing: GroupTiming) => void;
  };

  constructor(
    private readonly db: Db,
    /** Writes the group inside the transaction; `alone` when retrying one item of a failed group. */
    private readonly writeGroup: (q: Queryable, items: I[], alone: boolean) => Promise<GroupWrite<O>>,
    /**
     * A group holds items up to `maxWeight` in total (500 unless given; but always at least one
     * item), each weighing `weight` (1 unless given). With `transaction: false`, writeGroup gets
     * the Db itself and makes its own commit (one statement is one commit on Postgres: no BEGIN and
     * COMMIT round trips); it must then not throw once something is committed, and reports an item
     * that fails after that in `failures`. `inFlight` (1 unless given) groups may be written at once,
     * each started when the last one was: only for a writeGroup whose commits keep their order
     * (jobs on SQLite's writer thread, which runs them one after the other).
     */
    opts: {
      maxWeight?: number;
      weight?: (item: I) => number;
      transaction?: boolean;
      inFlight?: number;
      /** Told of each group once it is durable. */
      observe?: (timing: GroupTiming) => void;
    } = {},
  ) {
    this.opts = {
      maxWeight: opts.maxWeight ?? 500,
      weight: opts.weight ?? (() => 1),
      transaction: opts.transaction,
      inFlight: opts.inFlight ?? 1,
      observe: opts.observe,
    };
  }

  /** Writes the group: in a transaction of its own, or as writeGroup commits it (see opts.transaction). */
  private write(items: I[], alone: boolean): Promise<{ out: GroupWrite<O>; durable: Promise<void> }> {
    if (this.opts.transaction === false) return this.writeGroup(this.db, items, alone).then((out) => ({ out, durable: Promise.resolve() }));
    return this.db.txThenFlush((q) => this.writeGroup(q, items, alone));
  }

  private static settle<O>(w: GroupWrite<O>, g: { resolve: (o: O) => void; reject: (e: unknown) => void }, i: number): void {
    const failure = w.failures?.[i];
    if (failure !== undefined) g.reject(failure);
    else g.resolve(w.results[i]);
  }

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Starts a writer for what is queued, unless enough are running, on the next turn of the event
   * loop, not now: requests parsed in the same I/O phase then join its group (with SQLite a
   * transaction never yields, so without the pause every group would hold one request).
   */
  private schedule(): void {
    if (this.scheduled || this.writing >= this.opts.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startWriters();
    });
  }

  /** Writes groups until nothing is queued: up to `inFlight` at once, the next one as soon as one ends. */
  private startWriters(): void {
    while (this.queue.length && this.writing < this.opts.inFlight) {
      this.writing++;
      void this.writeNext().finally(() => {
        // Whatever happens, what is queued gets a writer.
        this.writing--;
        this.startWriters();
      });
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
    const started = performance.now();
    try {
      const { out: w, durable } = await this.write(
        group.map((g) => g.item),
        false,
      );
      const written = performance.now();
      // The next group is written while this one's commit is flushed to disk (SQLite: off the
      // event loop); its callers, and the worker it hands deliveries to, hear of it once durable.
      void durable.then(
        () => {
          this.opts.observe?.({ items: group.length, writeMs: written - started, flushMs: performance.now() - written });
          w.afterCommit?.();
          group.forEach((g, i) => GroupCommit.settle(w, g, i));
        },
        (err: unknown) => group.forEach((g) => g.reject(err)),
      );
    } catch {
      for (const g of group) {
        await this.write([g.item], true)
          .then(async ({ out: w, durable }) => {
            await durable;
            w.afterCommit?.();
            GroupCommit.settle(w, g, 0);
          })
          .catch(g.reject);
      }
    }
  }
}
