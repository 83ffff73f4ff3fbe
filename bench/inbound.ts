// Inbound figures for `npm run bench`: verified Chargify webhooks posted to a source of a running
// Herald. Reports webhooks accepted per second (closed loop), p99 from sending to the 200, and,
// at a steady 100 webhooks/s, the time from sending to the billing record (the transaction's
// createdAt, same clock) and to the forwarded event's arrival at an endpoint.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const N = Number(process.env.BENCH_INBOUND ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE = 100;
const RATE_SECONDS = 5;
/**
 * A steady rate above the processor's burst threshold (1,000/s stored on a node): answering comes
 * first there, so this shows how far processing falls behind a sustained stream, not just a burst.
 */
const BUSY_RATE = 2000;
const BUSY_SECONDS = 5;
const KEY = 'bench-shared-key';
/** Both sides are warmed up with the same number of webhooks, numbered apart from the measured ones. */
const WARM_UP = 1000;
const WARM_UP_FIRST_ID = 1_000_000_000;

/** Forwarded chargify.payment_success events: arrival time by Chargify webhook id. */
function forwardReceiver() {
  const arrivals = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = String(JSON.parse(Buffer.concat(chunks).toString()).data.id);
      if (!arrivals.has(id)) arrivals.set(id, Date.now());
      res.writeHead(200).end();
    });
  });
  return { arrivals, server };
}

const body = (i: number) =>
  `id=${i}&event=payment_success&payload[subscription][id]=${1 + (i % 50)}&payload[subscription][customer][reference]=acme` +
  `&payload[subscription][currency]=USD&payload[transaction][id]=${i}&payload[transaction][amount_in_cents]=1999&payload[transaction][memo]=Renewal`;

const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** Signed Chargify webhooks posted to `base` + `path`, CONCURRENCY at a time. */
function sender(base: string, path: string) {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  const send = async (i: number): Promise<number> => {
    const b = body(i);
    const started = performance.now();
    const r = await pool.request({
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', KEY).update(b).digest('hex'),
      },
      body: b,
    });
    await r.body.dump();
    if (r.statusCode !== 200) throw new Error(`inbound answered ${r.statusCode}`);
    return performance.now() - started;
  };
  /** Closed loop over ids first … first + n - 1: accepted per second, and each answer's time. */
  const closedLoop = async (first: number, n: number): Promise<{ perSec: number; answers: number[] }> => {
    const answers: number[] = [];
    let next = first;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < first + n) answers.push(await send(next++));
      }),
    );
    return { perSec: n / ((performance.now() - started) / 1000), answers };
  };
  return { send, closedLoop, close: () => pool.close() };
}

export interface InboundCeiling {
  acceptedPerSec: number;
  p50AnswerMs: number;
  p99AnswerMs: number;
}

/**
 * The same closed loop against a bare verifying receiver at `base` (bench/verifying-receiver.mjs,
 * started with RECEIVER_KEY = inboundKey): the ceiling Herald's receiving is read against.
 */
export async function inboundCeiling(base: string): Promise<InboundCeiling> {
  const s = sender(base, '/in/bench');
  await s.closedLoop(WARM_UP_FIRST_ID, WARM_UP);
  const { perSec, answers } = await s.closedLoop(1, N);
  await s.close();
  return { acceptedPerSec: perSec, p50AnswerMs: pct(answers, 0.5), p99AnswerMs: pct(answers, 0.99) };
}
export const inboundKey = KEY;
export const INBOUND_BUSY_RATE = BUSY_RATE;

/** Means over a phase of one writer's group commits (events or inbound), from Herald's own /metrics. */
export interface CommitFigures {
  /** Items (events or webhooks) per commit. */
  perGroup: number;
  /** Writing a group (statements and commit), and from its commit to its flush, in ms. */
  writeMs: number;
  flushMs: number;
}

/** Sum and count of one histogram of a writer's group commit, from a /metrics text. */
function histogram(text: string, name: string, writer: string): { sum: number; count: number } {
  const read = (suffix: string) => Number(new RegExp(`^${name}_${suffix}\\{writer="${writer}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

export function commitFigures(before: string, after: string, writer: 'events' | 'inbound'): CommitFigures {
  const delta = (name: string) => {
    const [a, b] = [histogram(before, name, writer), histogram(after, name, writer)];
    return { sum: b.sum - a.sum, count: b.count - a.count };
  };
  const items = delta('herald_group_commit_items');
  const write = delta('herald_group_commit_write_seconds');
  const flush = delta('herald_group_commit_flush_seconds');
  return {
    perGroup: items.count ? items.sum / items.count : 0,
    writeMs: write.count ? (1000 * write.sum) / write.count : 0,
    flushMs: flush.count ? (1000 * flush.sum) / flush.count : 0,
  };
}

export interface InboundFigures {
  /** The closed loop's commits (Herald's herald_group_commit_* histograms). */
  store: CommitFigures;
  acceptedPerSec: number;
  p50AnswerMs: number;
  p99AnswerMs: number;
  p50RecordMs: number;
  p99RecordMs: number;
  p50ForwardMs: number;
  p99ForwardMs: number;
  /** From the closed loop's last answer to the arrival of its last forwarded delivery. */
  drainMs: number;
  /** Receipt → forwarded delivery at BUSY_RATE, above the burst threshold. */
  p50BusyForwardMs: number;
  p99BusyForwardMs: number;
}

export async function inboundFigures(
  base: string,
  api: (method: string, path: string, body?: unknown) => Promise<any>,
  /** GET /metrics, as text. */
  metrics: () => Promise<string>,
): Promise<InboundFigures> {
  const fwd = forwardReceiver();
  await new Promise<void>((r) => fwd.server.listen(0, '127.0.0.1', r));
  const fwdUrl = `http://127.0.0.1:${(fwd.server.address() as AddressInfo).port}/forwarded`;
  await api('POST', '/v1/tenants', { name: 'Inbound', uid: 'inbound' });
  await api('POST', '/v1/tenants/inbound/customers', { key: 'acme', kind: 'organization' });
  const src = await api('POST', '/v1/tenants/inbound/sources', { provider: 'chargify', name: 'Chargify', secret: KEY });
  await api('POST', '/v1/tenants/inbound/endpoints', { url: fwdUrl, eventTypes: ['chargify.payment_success'] });
  const { send, closedLoop, close } = sender(base, `/in/${src.id}`);
  const until = Date.now() + 300_000;
  const arrived = async (n: number) => {
    while (fwd.arrivals.size < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  };

  // Warm-up, as the ceiling's: the same 1,000 webhooks (ids of their own), received, processed and
  // forwarded before anything is measured.
  await closedLoop(WARM_UP_FIRST_ID, WARM_UP);
  await arrived(WARM_UP);

  // Closed loop: how many verified webhooks are stored and answered per second.
  const metricsBefore = await metrics();
  const { perSec: acceptedPerSec, answers } = await closedLoop(1, N);
  const store = commitFigures(metricsBefore, await metrics(), 'inbound');
  const answeredAt = Date.now();
  await arrived(WARM_UP + N);
  // How long after its last answer the burst's last webhook reached the endpoint, forwarded.
  // (A loop, not Math.max(...): a spread of every arrival overflows the call's arguments for a large BENCH_INBOUND.)
  let lastArrival = answeredAt;
  for (const at of fwd.arrivals.values()) if (at > lastArrival) lastArrival = at;
  const drainMs = lastArrival - answeredAt;

  // Open loop at a steady rate: receipt to record, receipt to forwarded delivery.
  const steady = async (first: number, rate: number, seconds: number): Promise<Map<string, number>> => {
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    const sends: Promise<number>[] = [];
    for (let i = 0; i < rate * seconds; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(String(first + i), Date.now());
      sends.push(send(first + i));
    }
    await Promise.all(sends);
    while ([...sentAt.keys()].some((id) => !fwd.arrivals.has(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return sentAt;
  };
  const forwardTimes = (sentAt: Map<string, number>) => [...sentAt].map(([id, at]) => fwd.arrivals.get(id)! - at);
  const total = RATE * RATE_SECONDS;
  const sentAt = await steady(N + 1, RATE, RATE_SECONDS);
  const record: number[] = [];
  for (let cursor: string | null = null, done = false; !done;) {
    const page: { data: { providerId: string; createdAt: string }[]; nextCursor: string | null } = await api(
      'GET',
      `/v1/tenants/inbound/transactions?limit=250${cursor ? `&cursor=${cursor}` : ''}`,
    );
    for (const t of page.data) {
      const at = sentAt.get(t.providerId);
      if (at !== undefined) record.push(Date.parse(t.createdAt) - at);
    }
    cursor = page.nextCursor;
    done = !cursor || record.length >= total;
  }
  const forward = forwardTimes(sentAt);
  const busy = forwardTimes(await steady(N + total + 1, BUSY_RATE, BUSY_SECONDS));
  await close();
  fwd.server.close();
  return {
    store,
    acceptedPerSec,
    p50AnswerMs: pct(answers, 0.5),
    p99AnswerMs: pct(answers, 0.99),
    p50RecordMs: pct(record, 0.5),
    p99RecordMs: pct(record, 0.99),
    p50ForwardMs: pct(forward, 0.5),
    p99ForwardMs: pct(forward, 0.99),
    drainMs,
    p50BusyForwardMs: pct(busy, 0.5),
    p99BusyForwardMs: pct(busy, 0.99),
  };
}
