import fs from 'node:fs/promises';

/**
 * Flushes running at once, at most: the rest of libuv's thread pool (four threads) stays free for
 * DNS lookups and files.
 */
const MAX_RUNNING = 2;

interface Flush {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Makes committed transactions durable without blocking the event loop. SQLite's
 * `synchronous = FULL` fsyncs the write-ahead log inside COMMIT, on the only thread Herald has:
 * every request waits while the disk flushes. Herald opens SQLite with `synchronous = NORMAL`
 * (the log is synced before each checkpoint, so the database stays consistent) and fsyncs the
 * log itself after each commit, on libuv's thread pool, before it answers anyone whose data the
 * commit holds. Same syncs of the same file as FULL, in the same order relative to the answers;
 * meanwhile the event loop parses requests, sends deliveries and runs the next transaction.
 *
 * A commit needs one fsync that starts after it. Commits of the same turn of the event loop share
 * one, started once that turn's synchronous work is done. It does not wait for a flush still
 * running to end: under load the event loop hears of that end a turn later (a few milliseconds
 * while it parses requests), for an fsync of a fraction of one. Two run at once at most; beyond
 * that, commits share the one that starts when one ends. Flushes answer in the order they
 * started, so callers hear of their commits in commit order.
 *
 * Each of the two has a descriptor of its own: Linux reports a failed write-back once per open
 * file, so two flushes sharing one descriptor could see one report between them, and the other
 * would succeed over data that never reached the disk.
 */
export class WalSync {
  /** One descriptor per flush that may run at once; opened on first use (the log exists once something was committed). */
  private readonly files: (fs.FileHandle | null)[] = [];
  private readonly busy: boolean[] = [];
  /** The flush commits made so far will share: not started yet, so it starts after them. */
  private next: Flush | null = null;
  /** Settles after the last started flush answered: the next one answers after it. */
  private answered: Promise<void> = Promise.resolve();

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.next) return this.next.promise;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.next = { promise, resolve, reject };
    // After the rest of this turn, whose commits then share it.
    queueMicrotask(() => this.start());
    return promise;
  }

  private start(): void {
    const flush = this.next;
    const slot = this.busy.findIndex((b) => !b);
    const free = slot >= 0 ? slot : this.busy.length < MAX_RUNNING ? this.busy.length : -1;
    if (!flush || free < 0) return; // started when a running one ends
    this.next = null;
    this.busy[free] = true;
    const done = this.flush(free).finally(() => {
      this.busy[free] = false;
      this.start();
    });
    // Its failure is answered below, perhaps only once the flush before has answered: handled now,
    // so that the process does not take it for an unhandled rejection meanwhile.
    done.catch(() => undefined);
    // In order: after the flush before it has answered, whatever its outcome.
    const answer = this.answered.then(() => done);
    this.answered = answer.catch(() => undefined);
    answer.then(flush.resolve, flush.reject);
  }

  private async flush(slot: number): Promise<void> {
    if (!this.files[slot]) {
      try {
        this.files[slot] = await fs.open(this.walPath, 'r');
      } catch (err) {
        // No log yet: nothing was committed to one, so there is nothing to flush.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    // fsync flushes the file's dirty pages whichever descriptor wrote them.
    await this.files[slot].sync();
  }

  async close(): Promise<void> {
    while (this.next || this.busy.some(Boolean)) {
      await Promise.allSettled([this.next?.promise, this.answered]);
    }
    for (const f of this.files) await f?.close();
    this.files.length = 0;
  }
}
