import { Worker } from 'node:worker_threads';
import type { TxJob } from './db.js';
import type { JobAnswer, JobMessage } from './sqliteThreadMain.js';

/**
 * SQLite's writer thread. better-sqlite3 runs every statement on the thread that calls it, so on
 * the main thread a transaction's statements, its COMMIT (the pages written into the log) and
 * SQLite's checkpoints all take the event loop's time, while requests wait. The hot writers are
 * jobs (db.ts, TxJob): posted here, run on a connection of this thread in a transaction of their
 * own, committed and flushed there (`synchronous = FULL` on this connection when Herald's is
 * `full`), and answered once durable. The main thread meanwhile parses requests and sends
 * deliveries, on a core the thread does not hold.
 *
 * Jobs run in the order they were posted. The SqliteDb that owns the thread keeps its own
 * transactions and writes apart from them (db/sqlite.ts): SQLite has one writer at a time, and a
 * main-thread BEGIN that found the thread's transaction open would wait in SQLite's busy handler,
 * blocking the event loop.
 *
 * The thread starts with the first job, and holds the process open only while jobs are under way.
 */
export class SqliteThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (out: unknown) => void; reject: (e: unknown) => void }>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly file: string,
    private readonly synchronous: 'normal' | 'full',
  ) {}

  /** Jobs posted and not yet answered. */
  get running(): number {
    return this.pending.size;
  }

  /** Resolves once no job is under way. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  run<I, O>(job: TxJob<I, O>, input: I): Promise<O> {
    const worker = this.worker ?? this.start();
    if (this.pending.size === 0) worker.ref();
    const id = this.nextId++;
    return new Promise<O>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (out: unknown) => void, reject });
      worker.postMessage({ id, module: job.module, name: job.name, input } satisfies JobMessage);
    });
  }

  private start(): Worker {
    // Under tsx (the tests) this module is the .ts source, and so is the thread's: loaded through
    // tsx's own import, since a worker does not take the --import hooks the main thread was given.
    const entry = new URL(import.meta.url.endsWith('.ts') ? './sqliteThreadMain.ts' : './sqliteThreadMain.js', import.meta.url);
    const workerData = { file: this.file, synchronous: this.synchronous };
    // The thread allocates little that lives (a job's input, its statements' rows): a small young
    // generation is enough. The thread still costs memory of its own (its heap, the modules of its
    // jobs, its connection's cache): about 30 MB of peak RSS with a million deliveries waiting
    // (docs/architecture.md, the hot writers on a thread of their own).
    const resourceLimits = { maxYoungGenerationSizeMb: 4 };
    const worker = entry.pathname.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`, {
          eval: true,
          workerData,
          resourceLimits,
        })
      : new Worker(entry, { workerData, resourceLimits });
    worker.on('message', (a: JobAnswer) => {
      const p = this.pending.get(a.id);
      if (!p) return;
      this.settled(a.id);
      if ('error' in a) p.reject(Object.assign(new Error(a.error.message), { name: a.error.name, code: a.error.code }));
      else p.resolve(a.out);
    });
    // A thread that died (out of memory, a crash in the driver) fails what it held; the next job
    // starts another. Whatever a failed job was writing was rolled back with its transaction.
    const failAll = (err: unknown) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, p] of [...this.pending]) {
        this.settled(id);
        p.reject(err);
      }
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the SQLite writer thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size > 0) return;
    this.worker?.unref();
    for (const r of this.idleWaiters.splice(0)) r();
  }

  /** Waits for the jobs under way, then closes the thread's connection and ends it. */
  async close(): Promise<void> {
    await this.idle();
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.ref();
    worker.postMessage('close');
    await exited;
  }
}
