// `npm run bench`: Herald's speed, measured against a bare relay on the same machine.
//
// For each of SQLite and Postgres it starts Herald as a real process (bin/herald start), a webhook
// receiver on 127.0.0.1 and a load generator in this process, and prints:
//   - sustained deliveries per second under concurrent single-event POSTs (closed loop);
//   - p50 / p99 from "event accepted" (the 202 arrives) to "delivered" (the receiver has the POST),
//     at a fixed open-loop rate of 500 events/s;
//   - fairness (bench/fairness.ts): one tenant's single events while another's slow backlog drains;
//   - GraphQL (bench/graphql.ts): logIn's cost, customer search and the delivery report per second;
//   - the same throughput for a bare Node relay (bench/relay.mjs: same POST in, same POST out, no
//     storage), and Herald's ratio to it.
//   - the peer (bench/bullmq-peer.mjs): BullMQ on Redis + an undici worker, with the same load, and
//     each Herald figure as a ratio of it (skipped when no Redis answers at 127.0.0.1:6379);
//   - receiving: verified webhooks accepted per second against a bare verifying receiver
//     (bench/verifying-receiver.mjs), the ceiling of that side.
// Postgres is DATABASE_URL (a fresh database is made in it) or an embedded one.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { freePort } from '../scripts/embedded-postgres.mjs';
import { batchMemoryFigures, printBatchMemory } from './batchMemory.js';
import { FAIRNESS_SETUP, fairnessFigures } from './fairness.js';
import { GRAPHQL_SETUP, graphqlFigures } from './graphql.js';
import { INBOUND_BUSY_RATE, inboundCeiling, inboundFigures, inboundKey, commitFigures } from './inbound.js';
import { NODES_SETUP, type NodesFigures, nodesFigures } from './nodes.js';
import { printStages, stageTimes } from './stages.js';
import { type BenchDb, rssMb, seedDeliveries } from './scale.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The node flags `npm start` gives Herald, read from package.json so the two cannot drift apart. */
const START_NODE_FLAGS = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string)
  .split(/\s+/)
  .filter((w) => w.startsWith('--'));
/**
 * The throughput phase posts for THROUGHPUT_SECONDS (the load the targets were set for: 64 posters
 * for 10 s), or exactly BENCH_EVENTS events when that is set.
 */
const THROUGHPUT_EVENTS = process.env.BENCH_EVENTS ? Number(process.env.BENCH_EVENTS) : null;
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE = 500;
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);

/** The receiver: notes when each webhook-id arrives. */
class Receiver {
  arrivals = new Map<string, number>();
  count = 0;
  server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      if (!this.arrivals.has(id)) this.arrivals.set(id, performance.now());
      this.count++;
      res.writeHead(200).end();
    });
  });
  url = '';
  async start() {
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  reset() {
    this.arrivals.clear();
    this.count = 0;
  }
  /** Resolves when `count` (all requests, duplicates and fan-out included) reaches n. */
  waitForCount(n: number, timeoutMs = 300_000) {
    const until = Date.now() + timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const tick = () => {
        if (this.count >= n) return resolve();
        if (Date.now() > until) return reject(new Error(`only ${this.count}/${n} requests arrived`));
        setTimeout(tick, 5);
      };
      tick();
    });
  }
  waitFor(n: number, timeoutMs = 120_000) {
    const until = Date.now() + timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const tick = () => {
        if (this.arrivals.size >= n) return resolve();
        if (Date.now() > until) return reject(new Error(`only ${this.arrivals.size}/${n} deliveries arrived`));
        setTimeout(tick, 5);
      };
      tick();
    });
  }
}

/** Every process the bench starts: killed if the bench itself stops on an error, so none outlives it. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function spawnReady(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  proc.stdout.on('data', (c) => (out += c));
  await new Promise<void>((resolve, reject) => {
    proc.on('exit', (c) => reject(new Error(`${args.join(' ')} exited with ${c}: ${out}`)));
    const check = () => out.includes(ready) && setTimeout(resolve, 100);
    proc.stdout.on('data', check);
  });
  return { proc, out: () => out };
}

async function stop(proc: ChildProcess) {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Target {
  post: (body: string) => Promise<{ status: number; id: string }>;
  close: () => Promise<void>;
}

function target(base: string, path: string, key?: string): Target {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  return {
    async post(body) {
      const r = await pool.request({ method: 'POST', path, headers, body });
      const json = (await r.body.json()) as { id: string };
      return { status: r.statusCode, id: json.id };
    },
    close: () => pool.close(),
  };
}

const payload = (i: number) =>
  JSON.stringify({
    type: 'bench.event',
    payload: { orderId: `o_${i}`, amount: 1250, currency: 'EUR', customer: { id: `c_${i % 100}`, email: 'someone@example.com' } },
  });

/**
 * Closed loop: CONCURRENCY posters send `n` events, or as many as they can for THROUGHPUT_SECONDS;
 * deliveries/s from the first post to the last arrival (what is still being delivered when the
 * posting stops counts too).
 */
async function throughput(
  t: Target,
  rx: Receiver,
  n: number | null = THROUGHPUT_EVENTS,
): Promise<{ rate: number; events: number; behind: number }> {
  rx.reset();
  let next = 0;
  const start = performance.now();
  const deadline = start + THROUGHPUT_SECONDS * 1000;
  const more = () => (n === null ? performance.now() < deadline : next < n);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (more()) {
        const r = await t.post(payload(next++));
        if (r.status !== 202) throw new Error(`POST answered ${r.status}`);
      }
    }),
  );
  // Which side bounds the closed loop: accepted far ahead of delivered means the sending side.
  const behind = next - rx.arrivals.size;
  await rx.waitFor(next);
  return { rate: next / ((performance.now() - start) / 1000), events: next, behind };
}

/** Open loop at RATE/s: latency from the 202 to the arrival at the receiver. */
async function latency(t: Target, rx: Receiver): Promise<{ p50: number; p99: number; max: number }> {
  rx.reset();
  const accepted = new Map<string, number>();
  const total = RATE * RATE_SECONDS;
  const start = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sends.push(t.post(payload(i)).then((r) => void accepted.set(r.id, performance.now())));
  }
  await Promise.all(sends);
  await rx.waitFor(total);
  const lat = [...accepted].map(([id, at]) => Math.max(0, rx.arrivals.get(id)! - at)).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] };
}

async function postgresUrl(suffix = ''): Promise<{ url: string; cleanup: () => Promise<void> }> {
  let base = process.env.DATABASE_URL;
  let embedded: { url: string; stop: () => Promise<void> } | null = null;
  if (!base) {
    const { startEmbeddedPostgres } = await import('../scripts/embedded-postgres.mjs');
    embedded = await startEmbeddedPostgres();
    base = embedded.url;
  }
  const name = `herald_bench_${process.pid}${suffix}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await embedded?.stop();
    },
  };
}

async function benchHerald(label: string, rx: Receiver, extraEnv: Record<string, string>) {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HERALD_PORT: String(port),
    HERALD_HOST: '127.0.0.1',
    HERALD_DATA_DIR: dataDir,
    HERALD_LOG_LEVEL: 'warn',
    // The load generator is one key far over the default per-key API limit: measure Herald, not the limiter.
    HERALD_API_RATE_LIMIT: '0',
    ...extraEnv,
  };
  if (!extraEnv.DATABASE_URL) delete env.DATABASE_URL;
  // Herald runs with the node flags of `npm start` (package.json), plus a CPU profile when asked.
  const nodeArgs = [
    ...START_NODE_FLAGS,
    ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
  ];
  const { proc, out } = await spawnReady([...nodeArgs, path.join(ROOT, 'bin/herald'), 'start'], env, 'Herald is running');
  const key = /sandbox\s+(sk_test_\S+)/.exec(out())![1];
  const base = `http://127.0.0.1:${port}`;
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(base + p, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  const setup = (p: string, body: unknown) => api('POST', p, body);
  await setup('/v1/event-types', { name: 'bench.event' });
  await setup('/v1/tenants', { name: 'Bench', uid: 'bench' });
  await setup('/v1/tenants/bench/endpoints', { url: rx.url });
  const t = target(base, '/v1/tenants/bench/events', key);
  const metrics = async () => (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  await throughput(t, rx, 1000); // warm-up: JIT, connection pools, SQLite page cache
  const metricsBefore = await metrics();
  const { rate, events, behind } = await throughput(t, rx);
  const commits = commitFigures(metricsBefore, await metrics(), 'events');
  const lat = await latency(t, rx);
  const batch = process.env.BENCH_BATCH === '0' ? null : await batchMemoryFigures(proc.pid!, base, key);
  const fairness = process.env.BENCH_FAIRNESS === '0' ? null : await fairnessFigures(api);
  const inbound = process.env.BENCH_INBOUND === '0' ? null : await inboundFigures(base, api, metrics);
  const db: BenchDb = extraEnv.DATABASE_URL
    ? { dialect: 'postgres', where: extraEnv.DATABASE_URL }
    : { dialect: 'sqlite', where: path.join(dataDir, 'herald.db') };
  const graphql = process.env.BENCH_GRAPHQL === '0' ? null : await graphqlFigures(base, api, db, env, rx.url);
  const scale =
    process.env.BENCH_SCALE === '0' ? null : await scaleFigures(proc, setup, () => target(base, '/v1/tenants/bench/events', key), rx, db);
  await t.close();
  await stop(proc);
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (process.env.BENCH_PROFILE)
    stageTable(process.env.BENCH_PROFILE, label, proc.pid!, 1000 + events + RATE * RATE_SECONDS, [
      batch,
      fairness,
      inbound,
      graphql,
      scale,
    ]);
  return { label, rate, behind, ...lat, commits, batch, fairness, inbound, graphql, scale };
}

/**
 * The stage table of this run's profile (bench/stages.ts): per delivery of the warm-up, throughput
 * and latency phases, so only when no other section ran in the same process.
 */
function stageTable(dir: string, label: string, pid: number, deliveries: number, others: unknown[]) {
  if (others.some((o) => o !== null)) {
    console.log(
      `${label}: no stage table; run the profile with BENCH_SCALE=0 BENCH_BATCH=0 BENCH_FAIRNESS=0 BENCH_GRAPHQL=0 BENCH_INBOUND=0`,
    );
    return;
  }
  // node --cpu-prof writes one file per thread: CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile, the main thread 0.
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
  const main = files.find((f) => f.includes(`.${pid}.0.`));
  if (!main) return console.log(`${label}: no CPU profile of process ${pid} in ${dir}`);
  console.log(`\n${label}:`);
  printStages(path.join(dir, main), deliveries);
  for (const f of files.filter((f) => f !== main)) {
    const { busyMs } = stageTimes(path.join(dir, f));
    console.log(`${'another thread'.padEnd(24)} ${((busyMs * 1000) / deliveries).toFixed(0).padStart(8)}          (${f})`);
  }
}

const FANOUT_ENDPOINTS = 100;
const FANOUT_EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 100);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const WAITING = Number(process.env.BENCH_WAITING ?? 1_000_000);

/** Fan-out, backlog drain and memory with a million deliveries waiting, on a running Herald. */
async function scaleFigures(
  proc: ChildProcess,
  setup: (p: string, body: unknown) => Promise<any>,
  connect: () => Target,
  rx: Receiver,
  db: BenchDb,
) {
  // Fan-out: one event to 100 endpoints.
  await setup('/v1/tenants', { name: 'Fan', uid: 'fan' });
  for (let i = 0; i < FANOUT_ENDPOINTS; i++) await setup('/v1/tenants/fan/endpoints', { url: rx.url.replace('/hook', `/fan/${i}`) });
  rx.reset();
  let started = performance.now();
  for (let i = 0; i < FANOUT_EVENTS; i += 10) {
    await setup('/v1/tenants/fan/events/batch', {
      events: Array.from({ length: 10 }, (_, j) => ({ type: 'bench.event', payload: { n: i + j } })),
    });
  }
  await rx.waitForCount(FANOUT_EVENTS * FANOUT_ENDPOINTS);
  const fanout = (FANOUT_EVENTS * FANOUT_ENDPOINTS) / ((performance.now() - started) / 1000);

  // A backlog of due deliveries, written straight into the table; Herald drains it.
  const tenant = await setup('/v1/tenants', { name: 'Backlog', uid: 'backlog' });
  const ep = await setup('/v1/tenants/backlog/endpoints', { url: rx.url });
  rx.reset();
  await seedDeliveries(db, tenant.id, ep.id, BACKLOG, Date.now(), 'backlog');
  started = performance.now();
  await rx.waitFor(BACKLOG, 600_000);
  const drain = BACKLOG / ((performance.now() - started) / 1000);

  // A million deliveries waiting (due in an hour), while Herald takes the usual load.
  const idle = await setup('/v1/tenants/backlog/endpoints', { url: rx.url.replace('/hook', '/later') });
  await seedDeliveries(db, tenant.id, idle.id, WAITING, Date.now() + 3600_000, 'waiting');
  let peak = rssMb(proc.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(proc.pid!))), 100);
  // New connections: seeding a million rows blocks this process for a while (SQLite is written from
  // here, synchronously), long enough for Herald to close idle keep-alive connections that this
  // side has not yet noticed are closed ("other side closed" on the next POST).
  const t = connect();
  const underLoad = (await throughput(t, rx)).rate;
  await t.close();
  clearInterval(sampler);
  return { fanout, drain, peakRss: peak, underLoad };
}

async function benchRelay(rx: Receiver) {
  const port = await freePort();
  const { proc } = await spawnReady(
    [path.join(ROOT, 'bench/relay.mjs')],
    { ...process.env, RELAY_PORT: String(port), RELAY_TARGET: rx.url },
    'relay ready',
  );
  const t = target(`http://127.0.0.1:${port}`, '/events');
  await throughput(t, rx, 1000);
  const { rate, behind } = await throughput(t, rx);
  const lat = await latency(t, rx);
  await t.close();
  await stop(proc);
  return { label: 'bare relay (ceiling)', rate, behind, ...lat };
}

/**
 * The peer (bench/bullmq-peer.mjs): BullMQ on the machine's Redis, with the append-only file
 * fsynced every second (what a team running BullMQ for webhooks would configure). The bench turns
 * AOF on for its run and puts Redis's settings back afterwards; no Redis, no peer row.
 */
async function benchPeer(rx: Receiver) {
  const modules = peerModules();
  const { Redis } = createRequire(path.join(modules, 'resolve.js'))('ioredis') as { Redis: RedisClass };
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    redis.disconnect();
    console.log('bench: no Redis answers at 127.0.0.1:6379; the BullMQ peer is skipped');
    return null;
  }
  const before = {
    appendonly: await redis.config('GET', 'appendonly'),
    appendfsync: await redis.config('GET', 'appendfsync'),
  };
  await redis.config('SET', 'appendonly', 'yes');
  await redis.config('SET', 'appendfsync', 'everysec');
  const port = await freePort();
  try {
    const { proc } = await spawnReady(
      [path.join(ROOT, 'bench/bullmq-peer.mjs')],
      { ...process.env, RELAY_PORT: String(port), RELAY_TARGET: rx.url, PEER_MODULES: modules },
      'peer ready',
    );
    const t = target(`http://127.0.0.1:${port}`, '/events');
    await throughput(t, rx, 1000);
    const { rate, behind } = await throughput(t, rx);
    const lat = await latency(t, rx);
    await t.close();
    await stop(proc);
    return { label: 'BullMQ + undici (peer)', rate, behind, ...lat, peer: true };
  } finally {
    await redis.config('SET', 'appendonly', before.appendonly[1]);
    await redis.config('SET', 'appendfsync', before.appendfsync[1]);
    redis.disconnect();
  }
}

/**
 * BullMQ and ioredis, installed on first use into bench/.peer (ignored by git): they are the
 * peer's, not Herald's, and BullMQ's msgpackr pulls native packages for every platform that some
 * registries do not all carry, which would break `npm ci` for everyone. Answers the folder to
 * resolve them from.
 */
function peerModules(): string {
  const dir = path.join(ROOT, 'bench/.peer');
  if (!fs.existsSync(path.join(dir, 'node_modules/bullmq/package.json'))) {
    console.log(`bench: installing ${PEER_PACKAGES.join(' ')} into bench/.peer for the peer (once)`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ private: true, description: 'the bench peer (bench/run.ts)' }) + '\n',
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', ...PEER_PACKAGES], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  return path.join(dir, 'node_modules');
}
const PEER_PACKAGES = ['bullmq@6.7.0', 'ioredis@6.0.0'];
/** What the bench uses of ioredis (not a dependency of Herald, so no types from it). */
type RedisClass = new (opts: object) => {
  connect(): Promise<void>;
  ping(): Promise<string>;
  config(...args: string[]): Promise<string[]>;
  disconnect(): void;
};

/** Several nodes over one Postgres (bench/nodes.ts): pickup by a worker-only node, and a node killed mid-burst. */
async function benchNodes(rx: Receiver): Promise<NodesFigures> {
  const db = await postgresUrl('_nodes');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-nodes-'));
  try {
    return await nodesFigures(
      {
        start: async (extra) => {
          const port = await freePort();
          const env: NodeJS.ProcessEnv = {
            ...process.env,
            HERALD_PORT: String(port),
            HERALD_HOST: '127.0.0.1',
            HERALD_DATA_DIR: dataDir,
            HERALD_LOG_LEVEL: 'error',
            HERALD_API_RATE_LIMIT: '0',
            DATABASE_URL: db.url,
            ...extra,
          };
          const started = await spawnReady([...START_NODE_FLAGS, path.join(ROOT, 'bin/herald'), 'start'], env, 'Herald is running');
          return { ...started, base: `http://127.0.0.1:${port}` };
        },
        stop,
        receiver: rx,
      },
      'bench-secret-key-0123456789abcdefghijklmnop',
    );
  } finally {
    await db.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The bare verifying receiver (bench/verifying-receiver.mjs): receiving's ceiling. */
async function benchReceivingCeiling() {
  const port = await freePort();
  const { proc } = await spawnReady(
    [path.join(ROOT, 'bench/verifying-receiver.mjs')],
    { ...process.env, RECEIVER_PORT: String(port), RECEIVER_KEY: inboundKey },
    'receiver ready',
  );
  const figures = await inboundCeiling(`http://127.0.0.1:${port}`);
  await stop(proc);
  return figures;
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(8);

async function main() {
  const rx = new Receiver();
  await rx.start();
  const pgDb = await postgresUrl();
  const rows: any[] = [];
  let receivingCeiling: Awaited<ReturnType<typeof benchReceivingCeiling>> | null = null;
  let nodes: NodesFigures | null = null;
  try {
    // BENCH_ONLY=sqlite|postgres skips the other dialect while working on one.
    const only = process.env.BENCH_ONLY;
    rows.push(await benchRelay(rx));
    if (process.env.BENCH_PEER !== '0') {
      const peer = await benchPeer(rx);
      if (peer) rows.push(peer);
    }
    if (process.env.BENCH_INBOUND !== '0') receivingCeiling = await benchReceivingCeiling();
    if (only !== 'postgres') rows.push(await benchHerald('Herald on SQLite', rx, {}));
    if (only !== 'sqlite')
      rows.push(
        await benchHerald('Herald on Postgres', rx, {
          DATABASE_URL: pgDb.url,
          HERALD_SECRET_KEY: 'bench-secret-key-0123456789abcdefghijklmnop',
        }),
      );
    // BENCH_NODES=0 skips the several-node figures (Postgres only).
    if (only !== 'sqlite' && process.env.BENCH_NODES !== '0') nodes = await benchNodes(rx);
  } finally {
    await pgDb.cleanup();
    rx.server.close();
  }
  const ceiling = rows[0].rate;
  const peer = rows.find((r: any) => r.peer);
  console.log(
    `\nHerald bench — ${os.cpus().length} cores, node ${process.version}; ${THROUGHPUT_EVENTS === null ? `${THROUGHPUT_SECONDS} s` : `${THROUGHPUT_EVENTS} events`} at concurrency ${CONCURRENCY}; latency at ${RATE}/s for ${RATE_SECONDS} s`,
  );
  console.log(
    `${'target'.padEnd(24)} ${'deliv/s'.padStart(8)} ${'% ceil'.padStart(8)} ${'× peer'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
  );
  for (const r of rows) {
    const vsPeer = peer ? fmt(r.rate / peer.rate, 2) : '       –';
    console.log(
      `${r.label.padEnd(24)} ${fmt(r.rate, 0)} ${fmt((100 * r.rate) / ceiling, 0)}% ${vsPeer} ${fmt(r.p50)} ${fmt(r.p99)} ${fmt(r.max)}`,
    );
  }
  if (!peer && process.env.BENCH_PEER !== '0') console.log('(no BullMQ peer: no Redis at 127.0.0.1:6379)');
  // Which side bounds each closed loop, and where Herald's 202 waits (its herald_group_commit_*
  // histograms over the loop): a POST waits for the group being written, then for its own.
  const behind = rows.filter((r: any) => r.behind !== undefined);
  if (behind.length) {
    console.log(
      'closed loop: accepted but not yet delivered when the posting stopped; Herald: events per commit, ms writing, ms from commit to flush (means, from /metrics)',
    );
    for (const r of behind) {
      const c = r.commits ? ` ${fmt(r.commits.perGroup, 1)} ${fmt(r.commits.writeMs, 2)} ${fmt(r.commits.flushMs, 2)}` : '';
      console.log(`${r.label.padEnd(24)} ${fmt(r.behind, 0)}${c}`);
    }
  }
  const fair = rows.filter((r: any) => r.fairness);
  if (fair.length) {
    console.log(
      `\nFairness: tenant B's single events to a fast endpoint, alone and while tenant A's backlog drains (${FAIRNESS_SETUP}); ms from the 202 to the arrival`,
    );
    console.log(`${'target'.padEnd(24)} ${'B alone'.padStart(8)} ${'B beside'.padStart(8)} ${'max'.padStart(8)}  A pending`);
    for (const r of fair) {
      const f = r.fairness;
      console.log(`${r.label.padEnd(24)} ${fmt(f.aloneMs)} ${fmt(f.besideMs)} ${fmt(f.besideMaxMs)}  ${f.aPending} of ${f.aTotal}`);
    }
  }
  const inbound = rows.filter((r: any) => r.inbound);
  if (inbound.length) {
    console.log(
      `\nInbound: verified Chargify payment_success webhooks to a source; accepted/s and p99 answer at concurrency ${CONCURRENCY}; receipt → billing record and → forwarded delivery at 100/s`,
    );
    console.log(
      `${'target'.padEnd(24)} ${'accept/s'.padStart(8)} ${'% ceil'.padStart(8)} ${'p50 2xx'.padStart(8)} ${'p99 2xx'.padStart(8)} ${'rec p50'.padStart(8)} ${'rec p99'.padStart(8)} ${'fwd p50'.padStart(8)} ${'fwd p99'.padStart(8)}`,
    );
    const top = receivingCeiling?.acceptedPerSec;
    if (receivingCeiling)
      console.log(
        `${'bare verifier (ceiling)'.padEnd(24)} ${fmt(receivingCeiling.acceptedPerSec, 0)} ${fmt(100, 0)}% ${fmt(receivingCeiling.p50AnswerMs)} ${fmt(receivingCeiling.p99AnswerMs)}`,
      );
    for (const r of inbound) {
      const i = r.inbound;
      const share = top ? `${fmt((100 * i.acceptedPerSec) / top, 0)}%` : '       – ';
      console.log(
        `${r.label.padEnd(24)} ${fmt(i.acceptedPerSec, 0)} ${share} ${fmt(i.p50AnswerMs)} ${fmt(i.p99AnswerMs)} ${fmt(i.p50RecordMs)} ${fmt(i.p99RecordMs)} ${fmt(i.p50ForwardMs)} ${fmt(i.p99ForwardMs)}`,
      );
    }
    // Where the answer waits, from Herald's herald_group_commit_* histograms over the closed loop.
    console.log('store, per commit of the closed loop (means, from /metrics): webhooks, ms writing, ms from commit to flush');
    for (const r of inbound) {
      const st = r.inbound.store;
      console.log(`${r.label.padEnd(24)} ${fmt(st.perGroup, 1)} ${fmt(st.writeMs, 2)} ${fmt(st.flushMs, 2)}`);
    }
    // Answering comes first while webhooks arrive fast (HERALD_INBOUND_BURST_LAG): what processing pays for it.
    console.log(
      `processing behind receiving: ms from the closed loop's last answer to its last forwarded delivery; receipt → forwarded delivery at a steady ${INBOUND_BUSY_RATE}/s, p50 / p99`,
    );
    for (const r of inbound) {
      const i = r.inbound;
      console.log(`${r.label.padEnd(24)} ${fmt(i.drainMs, 0)} ${fmt(i.p50BusyForwardMs)} ${fmt(i.p99BusyForwardMs)}`);
    }
  }
  const graphql = rows.filter((r: any) => r.graphql);
  if (graphql.length) {
    console.log(`\nGraphQL: ${GRAPHQL_SETUP}; logIn verifies an argon2id hash on purpose`);
    console.log(
      `${'target'.padEnd(24)} ${'logIn p50'.padStart(9)} ${'p99 ms'.padStart(8)} ${'search/s'.padStart(8)} ${'p50 ms'.padStart(8)}`,
    );
    for (const r of graphql) {
      const g = r.graphql;
      console.log(
        `${r.label.padEnd(24)} ${fmt(g.logInP50Ms).padStart(9)} ${fmt(g.logInP99Ms)} ${fmt(g.searchPerSec, 0)} ${fmt(g.searchP50Ms)}`,
      );
    }
    console.log(
      `${'report(DAY), rollups'.padEnd(24)} ${'deliveries'.padStart(10)} ${'report/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'rebuild s'.padStart(9)}`,
    );
    for (const r of graphql) {
      for (const x of r.graphql.reports) {
        console.log(
          `${r.label.padEnd(24)} ${String(x.deliveries).padStart(10)} ${fmt(x.perSec, 1)} ${fmt(x.p50Ms)} ${fmt(x.p99Ms)} ${fmt(x.rebuildS, 1).padStart(9)}`,
        );
      }
    }
  }
  if (nodes) {
    console.log(`\nSeveral nodes over one Postgres (${NODES_SETUP})`);
    console.log(
      `${'pickup'.padEnd(24)} p50 ${nodes.pickup.p50.toFixed(1)} ms, p99 ${nodes.pickup.p99.toFixed(1)} ms, max ${nodes.pickup.max.toFixed(1)} ms from the 202 to the arrival`,
    );
    const k = nodes.kill;
    console.log(
      `${'kill -9 mid-burst'.padEnd(24)} ${k.delivered} of ${k.accepted} accepted events delivered, ${k.duplicates} sent twice, the last ${k.lastAfterKillS.toFixed(1)} s after the kill`,
    );
  }
  printBatchMemory(rows.filter((r: any) => r.batch));
  const scaled = rows.filter((r: any) => r.scale);
  if (scaled.length) {
    console.log(
      `\nScale: fan-out = ${FANOUT_EVENTS} events × ${FANOUT_ENDPOINTS} endpoints; drain = ${BACKLOG} due deliveries; memory = peak RSS under load with ${WAITING} deliveries waiting`,
    );
    console.log(
      `${'target'.padEnd(24)} ${'fan-out/s'.padStart(10)} ${'drain/s'.padStart(10)} ${'RSS MB'.padStart(8)} ${'deliv/s'.padStart(8)}`,
    );
    for (const r of scaled) {
      console.log(
        `${r.label.padEnd(24)} ${fmt(r.scale.fanout, 0).padStart(10)} ${fmt(r.scale.drain, 0).padStart(10)} ${fmt(r.scale.peakRss, 0)} ${fmt(r.scale.underLoad, 0)}`,
      );
    }
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
