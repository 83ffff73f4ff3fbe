// Several nodes over one Postgres, for `npm run bench`:
//   - pickup: an API-only node and a worker-only node that polls once a minute. Events are posted
//     one at a time at PICKUP_RATE/s; the figure is the time from the 202 to the arrival at the
//     receiver, so it is how fast the worker hears of new work (LISTEN/NOTIFY, runtime/pgWakeups.ts)
//     rather than its poll interval.
//   - kill: two nodes running both roles take a burst of KILL_EVENTS events at concurrency 64, half
//     to each; one is killed with SIGKILL halfway. Posts that fail go to the survivor with the same
//     idempotency key, as a load balancer's retry would. Every accepted event (a 202) must arrive;
//     the figure is how many did, how many arrived twice (at least once: the dead node's requests in
//     flight, sent again when its leases ran out), and how long after the kill the last one came.
import type { ChildProcess } from 'node:child_process';
import { Pool } from 'undici';

export interface BenchNode {
  proc: ChildProcess;
  base: string;
}

/** What the bench run gives this section: its Herald starter and receiver (bench/run.ts). */
export interface NodesDeps {
  /** Starts `bin/herald start` with these settings on the shared database; answers once it runs. */
  start: (env: Record<string, string>) => Promise<BenchNode & { out: () => string }>;
  stop: (proc: ChildProcess) => Promise<void>;
  receiver: {
    url: string;
    arrivals: Map<string, number>;
    count: number;
    reset: () => void;
    waitFor: (n: number, timeoutMs?: number) => Promise<void>;
  };
}

const PICKUP_RATE = 50;
const PICKUP_EVENTS = Number(process.env.BENCH_PICKUP_EVENTS ?? 500);
const KILL_EVENTS = Number(process.env.BENCH_KILL_EVENTS ?? 6000);
const CONCURRENCY = 64;
/** The leases of the kill test: short, so the survivor takes over the dead node's work soon. */
const KILL_LEASE_SECONDS = 10;

export const NODES_SETUP = `pickup: ${PICKUP_EVENTS} events at ${PICKUP_RATE}/s to an API-only node, a worker-only node polling every 60 s; kill: ${KILL_EVENTS} events at concurrency ${CONCURRENCY} to two nodes, one killed with SIGKILL halfway (leases ${KILL_LEASE_SECONDS} s)`;

export interface NodesFigures {
  pickup: { p50: number; p99: number; max: number };
  kill: { accepted: number; delivered: number; duplicates: number; lastAfterKillS: number };
}

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

function client(base: string, key: string) {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  return {
    async post(path: string, body: unknown, extra: Record<string, string> = {}) {
      const r = await pool.request({ method: 'POST', path, headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      const json = (await r.body.json()) as { id?: string; message?: string };
      if (r.statusCode >= 300) throw new Error(`POST ${path}: ${r.statusCode} ${json.message ?? ''}`);
      return json;
    },
    close: () => pool.destroy(),
  };
}

export async function nodesFigures(deps: NodesDeps, secretKey: string): Promise<NodesFigures> {
  const { start, stop, receiver: rx } = deps;
  const shared = { HERALD_SECRET_KEY: secretKey, HERALD_LEASE_SECONDS: String(KILL_LEASE_SECONDS), HERALD_DELIVERY_TIMEOUT: '2' };

  // Pickup: the API node writes the deliveries due, unleased; only the worker-only node sends.
  const api = await start({ ...shared, HERALD_ROLES: 'api' });
  const key = /sandbox\s+(sk_test_\S+)/.exec(api.out())?.[1];
  if (!key) throw new Error(`the first node printed no sandbox key:\n${api.out()}`);
  const worker = await start({ ...shared, HERALD_ROLES: 'worker', HERALD_POLL_INTERVAL_MS: '60000' });
  const a = client(api.base, key);
  await a.post('/v1/event-types', { name: 'bench.event' });
  await a.post('/v1/tenants', { name: 'Nodes', uid: 'nodes' });
  await a.post('/v1/tenants/nodes/endpoints', { url: rx.url });
  rx.reset();
  const accepted = new Map<string, number>();
  const begin = performance.now();
  for (let i = 0; i < PICKUP_EVENTS; i++) {
    const wait = begin + (i * 1000) / PICKUP_RATE - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const e = await a.post('/v1/tenants/nodes/events', { type: 'bench.event', payload: { n: i } });
    accepted.set(e.id!, performance.now());
  }
  await rx.waitFor(PICKUP_EVENTS, 120_000);
  const lat = [...accepted].map(([id, at]) => Math.max(0, rx.arrivals.get(id)! - at)).sort((x, y) => x - y);
  await a.close();
  await Promise.all([stop(api.proc), stop(worker.proc)]);

  // Kill: two full nodes; B dies halfway through the burst.
  const nodeA = await start(shared);
  const nodeB = await start(shared);
  const clients = [client(nodeA.base, key), client(nodeB.base, key)];
  rx.reset();
  const ids = new Set<string>();
  let next = 0;
  let bDead = false;
  let killedAt = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (next < KILL_EVENTS) {
        const i = next++;
        if (i === Math.floor(KILL_EVENTS / 2)) {
          nodeB.proc.kill('SIGKILL');
          bDead = true;
          killedAt = performance.now();
        }
        const body = { type: 'bench.event', payload: { n: i }, idempotencyKey: `kill_${i}` };
        const first = bDead ? 0 : lane % 2;
        try {
          ids.add((await clients[first].post('/v1/tenants/nodes/events', body)).id!);
        } catch {
          // Node B is gone (connection refused or reset): the survivor, with the same key.
          ids.add((await clients[0].post('/v1/tenants/nodes/events', body)).id!);
        }
      }
    }),
  );
  const until = Date.now() + (KILL_LEASE_SECONDS + 60) * 1000;
  while ([...ids].some((id) => !rx.arrivals.has(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const delivered = [...ids].filter((id) => rx.arrivals.has(id));
  const last = Math.max(...delivered.map((id) => rx.arrivals.get(id)!));
  // What the dead node had sent but not recorded is sent again once its leases run out: wait for
  // those too before counting the duplicates.
  const settled = killedAt + (KILL_LEASE_SECONDS + 5) * 1000 - performance.now();
  if (settled > 0) await new Promise((r) => setTimeout(r, settled));
  await Promise.all(clients.map((c) => c.close()));
  await new Promise((r) => (nodeB.proc.exitCode !== null || nodeB.proc.signalCode !== null ? r(null) : nodeB.proc.once('exit', r)));
  await stop(nodeA.proc);
  return {
    pickup: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1] },
    kill: {
      accepted: ids.size,
      delivered: delivered.length,
      duplicates: rx.count - rx.arrivals.size,
      lastAfterKillS: (last - killedAt) / 1000,
    },
  };
}
