// What a Postgres statement costs the thread that sends it, beyond its own work. The main thread
// burns the CPU in 0.5 ms slices (a stand-in for a busy event loop) while one connection runs
// small UPDATEs back to back for 6 s, sent either from the main thread (`main`) or from a worker
// thread of the same process (`worker`). It prints statements per second and how many slices the
// main thread got through: the slices it lost in `main` are the time the woken backends ran on its
// core (docs/architecture.md, on `writev`). Run alternately, on an idle machine and beside a busy
// process, e.g.:
//   for m in main worker main worker; do node bench/pg-wakeup.mjs $m; done
// DATABASE_URL (default the local postgres database) gets a table `pg_wakeup_probe`, dropped after.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';

const DB = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = 6;
const SLICE_MS = 0.5;

/** Runs 50-row UPDATEs on one connection for `seconds`; answers how many. */
async function send(seconds) {
  const c = new pg.Client(DB);
  await c.connect();
  let n = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await c.query('UPDATE pg_wakeup_probe SET n = n + 1 WHERE id BETWEEN $1 AND $1 + 49', [1 + ((n * 50) % 4950)]);
    n++;
  }
  await c.end();
  return n;
}

if (!isMainThread) {
  parentPort.postMessage(await send(workerData.seconds));
} else {
  const mode = process.argv[2];
  if (mode !== 'main' && mode !== 'worker') {
    console.error('usage: node bench/pg-wakeup.mjs main|worker');
    process.exit(2);
  }
  const admin = new pg.Client(DB);
  await admin.connect();
  await admin.query('CREATE TABLE IF NOT EXISTS pg_wakeup_probe (id int PRIMARY KEY, n int NOT NULL)');
  await admin.query('INSERT INTO pg_wakeup_probe SELECT g, 0 FROM generate_series(1, 5000) g ON CONFLICT DO NOTHING');

  let slices = 0;
  let stop = false;
  const burn = () => {
    const t = performance.now();
    while (performance.now() - t < SLICE_MS);
    slices++;
    if (!stop) setImmediate(burn);
  };
  const started = performance.now();
  setImmediate(burn);
  const statements =
    mode === 'main'
      ? await send(SECONDS)
      : await new Promise((resolve, reject) =>
          new Worker(new URL(import.meta.url), { workerData: { seconds: SECONDS } }).once('message', resolve).once('error', reject),
        );
  stop = true;
  const s = (performance.now() - started) / 1000;
  console.log(
    `${mode}: ${(statements / s).toFixed(0)} statements/s; the main thread got through ${(slices / s).toFixed(0)} slices/s of ${1000 / SLICE_MS}`,
  );
  await admin.query('DROP TABLE pg_wakeup_probe');
  await admin.end();
}
