// The writer thread's side of db/sqliteThread.ts: one SQLite connection of its own, on which each
// job runs in a transaction of its own, committed and flushed before it is answered.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { TxJob } from './db.js';
import { SqliteStatements } from './sqliteStatements.js';

export interface JobMessage {
  id: number;
  module: string;
  name: string;
  input: unknown;
}

export type JobAnswer = { id: number; out: unknown } | { id: number; error: { name: string; message: string; code?: string } };

const { file, synchronous } = workerData as { file: string; synchronous: 'normal' | 'full' };
const db = new Database(file);
// The same settings as the main thread's connection (db/sqlite.ts), except the flush: here
// `full` is SQLite's own, in COMMIT. Blocking this thread on the disk blocks no request.
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');
const statements = new SqliteStatements(db);
const q = statements.queryable(file);

const jobs = new Map<string, TxJob<unknown, unknown>>();
async function jobOf(module: string, name: string): Promise<TxJob<unknown, unknown>> {
  const key = `${module}#${name}`;
  let job = jobs.get(key);
  if (!job) {
    job = ((await import(module)) as Record<string, TxJob<unknown, unknown> | undefined>)[name];
    if (typeof job?.run !== 'function') throw new Error(`${module} exports no job named ${name}`);
    jobs.set(key, job);
  }
  return job;
}

const errorOf = (err: unknown): { name: string; message: string; code?: string } => {
  const e = err as { name?: string; message?: string; code?: unknown };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : undefined };
};

/**
 * The jobs that arrived while the last commit was written and flushed share the next one: one
 * transaction, each job in a savepoint of its own (a job that fails is rolled back alone and
 * answered its error), one COMMIT, one flush, and then every answer. Under load the event writer's
 * groups and the attempt recorder's batches meet here, and a flush serves them all.
 */
let queued: JobMessage[] = [];
let closing = false;
let draining = false;

async function drain(): Promise<void> {
  draining = true;
  while (queued.length) {
    const batch = queued;
    queued = [];
    const answers: JobAnswer[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const m of batch) {
          db.exec('SAVEPOINT job');
          try {
            const job = await jobOf(m.module, m.name);
            answers.push({ id: m.id, out: await job.run(q, m.input) });
            db.exec('RELEASE job');
          } catch (err) {
            db.exec('ROLLBACK TO job');
            db.exec('RELEASE job');
            answers.push({ id: m.id, error: errorOf(err) });
          }
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      // The transaction itself failed (BEGIN found the database busy beyond the timeout, COMMIT
      // could not write): nothing of the batch was kept.
      const error = errorOf(err);
      answers.length = 0;
      for (const m of batch) answers.push({ id: m.id, error });
    }
    for (const a of answers) parentPort!.postMessage(a);
  }
  draining = false;
  if (closing) {
    db.close();
    parentPort!.close();
  }
}

parentPort!.on('message', (m: JobMessage | 'close') => {
  if (m === 'close') closing = true;
  else queued.push(m);
  // After the messages already waiting have arrived: they join the same commit.
  if (!draining) {
    draining = true;
    setImmediate(() => void drain());
  }
});
