import fs from 'node:fs/promises';

/**
 * Makes committed transactions durable without blocking the event loop. SQLite's
 * `synchronous = FULL` fsyncs the write-ahead log inside COMMIT, on the only thread Herald has:
 * every request waits while the disk flushes. Herald opens SQLite with `synchronous = NORMAL`
 * (the log is synced before each checkpoint, so the database stays consistent) and fsyncs the
 * log itself after each commit, on libuv's thread pool, before it answers anyone whose data the
 * commit holds. Same syncs of the same file as FULL, in the same order relative to the answers;
 * meanwhile the event loop parses requests, sends deliveries and runs the next transaction.
 *
 * Concurrent callers share flushes: a commit needs one fsync that starts after it; every commit
 * that finishes while a flush runs is covered by the single flush that follows it.
 */
export class WalSync {
  private file: fs.FileHandle | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (!this.running) return (this.running = this.flush());
    // A flush is running, but it may have started before our commit: wait for the one after it.
    this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  private startNext(): Promise<void> {
    this.next = null;
    return (this.running = this.flush());
  }

  private async flush(): Promise<void> {
    try {
      // Opened on first use: the log exists once something was committed. fsync flushes the
      // file's dirty pages whichever descriptor wrote them.
      if (!this.file) {
        try {
          this.file = await fs.open(this.walPath, 'r');
        } catch (err) {
          // No log yet: nothing was committed to one, so there is nothing to flush.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
      }
      await this.file.sync();
    } finally {
      this.running = null;
    }
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.next?.catch(() => undefined);
    await this.file?.close();
    this.file = null;
  }
}
