// Fairness figures for `npm run bench` (issue 8, item 17): tenant A posts a backlog of events to 10
// endpoints that answer 200 only after a few seconds; while it drains, tenant B posts single events
// to a fast endpoint. Prints B's latency (from the 202 to the arrival) beside A's backlog, and B
// alone in the same run as the baseline, with how much of A's backlog was still pending.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const EVENTS = Number(process.env.BENCH_FAIRNESS_EVENTS ?? 200);
const DELAY_MS = Number(process.env.BENCH_FAIRNESS_DELAY_MS ?? 3000);
const ENDPOINTS = 10;
const SAMPLES = 5;

export interface FairnessFigures {
  /** B's latency with nothing else going on: median, ms. */
  aloneMs: number;
  /** B's latency while A's backlog drains: median and worst, ms. */
  besideMs: number;
  besideMaxMs: number;
  /** A's deliveries still unanswered when B's last event arrived, of EVENTS × ENDPOINTS. */
  aPending: number;
  aTotal: number;
}

/** A server on its own port (its own origin: undici pools connections per origin). */
async function server(onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const s = http.createServer(onRequest);
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => (s.closeAllConnections(), new Promise((r) => s.close(r))),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function fairnessFigures(api: (method: string, p: string, body?: unknown) => Promise<any>): Promise<FairnessFigures> {
  let answered = 0;
  const slow = await Promise.all(
    Array.from({ length: ENDPOINTS }, () =>
      server((req, res) => {
        req.resume();
        req.on('end', () => setTimeout(() => (answered++, res.writeHead(200).end()), DELAY_MS));
      }),
    ),
  );
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const fast = await server((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      arrivals.set(id, performance.now());
      waiters.get(id)?.();
      res.writeHead(200).end();
    });
  });
  try {
    await api('POST', '/v1/tenants', { name: 'Fair A', uid: 'fair-a' });
    for (const s of slow) await api('POST', '/v1/tenants/fair-a/endpoints', { url: `${s.url}/a` });
    await api('POST', '/v1/tenants', { name: 'Fair B', uid: 'fair-b' });
    await api('POST', '/v1/tenants/fair-b/endpoints', { url: `${fast.url}/b` });

    /** One event of B: ms from the 202 to its arrival. */
    const b = async (): Promise<number> => {
      const posted = await api('POST', '/v1/tenants/fair-b/events', { type: 'bench.event', payload: { b: true } });
      const accepted = performance.now();
      if (!arrivals.has(posted.id)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`B's event ${posted.id} did not arrive within 120 s`)), 120_000);
          waiters.set(posted.id, () => (clearTimeout(timer), resolve()));
        });
      }
      return Math.max(0, arrivals.get(posted.id)! - accepted);
    };

    const alone: number[] = [];
    for (let i = 0; i < SAMPLES; i++) alone.push(await b());

    // A's backlog: EVENTS events, 10 deliveries each, posted 10 events per request.
    for (let i = 0; i < EVENTS; i += 10) {
      await api('POST', '/v1/tenants/fair-a/events/batch', {
        events: Array.from({ length: Math.min(10, EVENTS - i) }, (_, j) => ({ type: 'bench.event', payload: { n: i + j } })),
      });
    }
    const aTotal = EVENTS * ENDPOINTS;
    const beside: number[] = [];
    let aPending = aTotal;
    for (let i = 0; i < SAMPLES; i++) {
      if (i) await new Promise((r) => setTimeout(r, 200));
      beside.push(await b());
      aPending = aTotal - answered;
    }
    // Let A's backlog drain before the next section measures anything.
    while (answered < aTotal) await new Promise((r) => setTimeout(r, 100));
    return { aloneMs: median(alone), besideMs: median(beside), besideMaxMs: Math.max(...beside), aPending, aTotal };
  } finally {
    await Promise.all([...slow, fast].map((s) => s.close()));
  }
}

export const FAIRNESS_SETUP = `${EVENTS} events × ${ENDPOINTS} endpoints answering after ${DELAY_MS / 1000} s`;
