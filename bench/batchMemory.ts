// Peak memory while a maximum-size batch is posted (issue 8, item 15): one 32 MiB batch once took
// Herald from 142 to 916 MB of RSS. `npm run bench` runs this on the Herald it started; alone,
// `node --import tsx bench/batchMemory.ts` starts a Herald on SQLite with the flags of `npm start`.
// BENCH_BATCH_BYTES sizes the batch (default: HERALD_MAX_BATCH_BYTES's default, 8 MiB);
// BENCH_BATCH_POSTS how many are posted one after the other (default 3).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rssMb } from './scale.js';

const BYTES = Number(process.env.BENCH_BATCH_BYTES ?? 8 * 1024 * 1024);
const POSTS = Number(process.env.BENCH_BATCH_POSTS ?? 3);
const EVENTS = 1000;

export interface BatchMemory {
  bodyBytes: number;
  events: number;
  /** RSS before the first batch, and the highest seen while they were posted (sampled every 10 ms). */
  baselineRss: number;
  peakRss: number;
  /** Slowest answer to one batch. */
  maxMs: number;
}

/** A batch of EVENTS events whose body is just under `bytes`. */
function batchBody(bytes: number, type: string): string {
  const overhead = JSON.stringify({ events: Array.from({ length: EVENTS }, (_, i) => ({ type, payload: { i, note: '' } })) }).length;
  const filler = Math.max(0, Math.floor((bytes - overhead - 64) / EVENTS));
  return JSON.stringify({ events: Array.from({ length: EVENTS }, (_, i) => ({ type, payload: { i, note: 'x'.repeat(filler) } })) });
}

/**
 * Posts POSTS maximum-size batches to a running Herald (process `pid`) and samples its RSS. The
 * tenant has no endpoint: this measures reading, parsing, validating and storing the batch.
 */
export async function batchMemoryFigures(pid: number, base: string, key: string, bytes = BYTES): Promise<BatchMemory> {
  const api = async (method: string, p: string, body?: string) => {
    const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${(await r.text()).slice(0, 300)}`);
    return r.json() as Promise<any>;
  };
  await api('POST', '/v1/event-types', JSON.stringify({ name: 'bench.batch' })).catch(() => undefined);
  await api('POST', '/v1/tenants', JSON.stringify({ name: 'Batch memory', uid: 'batch-memory' }));
  const body = batchBody(bytes, 'bench.batch');
  const baselineRss = rssMb(pid);
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 10);
  let maxMs = 0;
  try {
    for (let i = 0; i < POSTS; i++) {
      const started = performance.now();
      await api('POST', '/v1/tenants/batch-memory/events/batch', body);
      maxMs = Math.max(maxMs, performance.now() - started);
    }
  } finally {
    clearInterval(sampler);
  }
  return { bodyBytes: Buffer.byteLength(body), events: EVENTS, baselineRss, peakRss: Math.max(peakRss, rssMb(pid)), maxMs };
}

export function printBatchMemory(rows: { label: string; batch: BatchMemory }[]): void {
  if (!rows.length) return;
  const b = rows[0].batch;
  console.log(
    `\nBatch memory: ${POSTS} batches of ${b.events} events, ${(b.bodyBytes / 1048576).toFixed(1)} MiB each, posted one after the other; RSS before and peak`,
  );
  console.log(`${'target'.padEnd(24)} ${'RSS MB'.padStart(8)} ${'peak MB'.padStart(8)} ${'max ms'.padStart(8)}`);
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(24)} ${r.batch.baselineRss.toFixed(0).padStart(8)} ${r.batch.peakRss.toFixed(0).padStart(8)} ${r.batch.maxMs.toFixed(0).padStart(8)}`,
    );
  }
}

// Alone: a Herald of its own on SQLite, started like `npm start`.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const root = path.resolve(import.meta.dirname, '..');
  const flags = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start as string)
    .split(/\s+/)
    .filter((w) => w.startsWith('--'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-batch-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HERALD_PORT: String(port),
    HERALD_HOST: '127.0.0.1',
    HERALD_DATA_DIR: dataDir,
    HERALD_LOG_LEVEL: 'warn',
    HERALD_API_RATE_LIMIT: '0',
  };
  delete env.DATABASE_URL;
  const proc = spawn(process.execPath, [...flags, path.join(root, 'bin/herald'), 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (c) => (out += c));
  try {
    await new Promise<void>((resolve, reject) => {
      proc.on('exit', (c) => reject(new Error(`herald exited with ${c}: ${out}`)));
      proc.stdout.on('data', () => out.includes('Herald is running') && resolve());
    });
    const key = /sandbox\s+(sk_test_\S+)/.exec(out)![1];
    printBatchMemory([{ label: 'Herald on SQLite', batch: await batchMemoryFigures(proc.pid!, `http://127.0.0.1:${port}`, key) }]);
  } finally {
    proc.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
