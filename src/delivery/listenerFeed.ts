import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { HeraldError, notFound } from '../errors.js';
import { renewListener } from '../endpoints/listeners.js';
import type { Metrics } from '../observability/metrics.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { Waker } from '../wake.js';
import { attemptOutcome } from './attemptRecorder.js';
import { classify, failureReason, REFUSED } from './classify.js';
import type { Clock } from './dispatcher.js';
import { prepare } from './prepare.js';
import { claimListenerDeliveries, countHeld, readListenedDelivery } from './sql/claimListenerDeliveries.js';
import { type AttemptOutcome, recordAttempts, releaseLeases } from './sql/recordAttempts.js';
import { DeliveryStatus } from './status.js';

// The server's half of `herald listen` (endpoints/listeners.ts). One connection of a listener is a
// ListenerFeed: it claims the endpoint's due deliveries under a lease token of its own, builds each
// request with prepare.ts (the very headers, signature and body a worker would send) and hands it
// over as a message; the CLI posts it to its local URL and answers with recordListenerAnswer, which
// classifies the answer like a worker's (retry schedule, retry-after, 410) and records it through
// recordAttempts: the delivery log, the endpoint's health, the event's status, the report rollups
// and the metrics follow as for any attempt. The REST route (api/routes/listeners.ts) and the CLI
// on a local database (cli/listen.ts) both run a feed with runListener.

/** What a listener's connection carries, one JSON object per line. */
export type ListenMessage =
  | { type: 'ready'; endpointId: string; expiresAt: string; timeoutMs: number }
  | {
      type: 'delivery';
      deliveryId: string;
      /** Send it back with the answer: it shows the answer is for this lease. */
      leaseToken: string;
      eventId: string;
      eventType: string;
      /** 1 for the first try. */
      attempt: number;
      url: string;
      headers: Record<string, string>;
      /** The exact bytes to send, base64. */
      body: string;
    }
  | { type: 'ping'; expiresAt: string }
  | { type: 'gone'; reason: string };

export type DeliveryMessage = Extract<ListenMessage, { type: 'delivery' }>;

/** A listener's report of one request it forwarded. */
export interface ListenerAnswer {
  deliveryId: string;
  leaseToken: string;
  /** null: no answer (connection refused, timed out); `error` says why. */
  statusCode: number | null;
  durationMs: number;
  /** The first 4 KiB of the answer's body. */
  responseBody: string | null;
  error: string | null;
  /** What a 429 or 503 asked for in retry-after, in milliseconds. */
  retryAfterMs: number | null;
}

export type ListenerConfig = Pick<
  Config,
  | 'tokenHeader'
  | 'leaseMs'
  | 'listenExpiryMs'
  | 'pollIntervalMs'
  | 'deliveryTimeoutMs'
  | 'retrySchedule'
  | 'circuitThreshold'
  | 'circuitCooldownMs'
  | 'disableAfterMs'
>;

export interface ListenerDeps {
  db: Db;
  box: SecretBox;
  config: ListenerConfig;
  /** The database's clock (db/clock.ts): leases are compared across nodes. */
  clock: Clock;
  metrics?: Pick<Metrics, 'recorded'> | null;
}

/** Requests one connection holds unanswered at most: the CLI forwards them side by side. */
export const LISTENER_IN_FLIGHT = 10;

// Herald connects to nothing for a listener, so no address is guarded: the CLI's own machine is
// where the request goes.
const NO_GUARD = { guards: () => false, isBlocked: () => false };

/** Records outcomes like the worker's recorder, and counts them in the metrics. */
async function record(deps: ListenerDeps, outcomes: AttemptOutcome[]): Promise<void> {
  const { config } = deps;
  const health = { threshold: config.circuitThreshold, cooldownMs: config.circuitCooldownMs, disableAfterMs: config.disableAfterMs };
  const result = await recordAttempts(deps.db, outcomes, health, deps.clock.now());
  deps.metrics?.recorded(result, outcomes);
  if (result.unrecorded.length) throw result.unrecorded[0].error;
}

export class ListenerFeed {
  /** One per connection: what it holds is what carries this token. */
  readonly leaseToken = `listen:${randomBytes(9).toString('hex')}`;
  private handedOver = false;

  constructor(
    private readonly deps: ListenerDeps,
    readonly endpointId: string,
  ) {}

  /** Pushes the endpoint's expiry forward; null when it is gone (deleted or expired). */
  renew(): Promise<number | null> {
    return renewListener(this.deps.db, this.endpointId, this.deps.clock.now() + this.deps.config.listenExpiryMs);
  }

  /**
   * Claims what is due, up to LISTENER_IN_FLIGHT unanswered, and answers the requests to hand
   * over. A delivery that cannot be sent (its endpoint disabled meanwhile) is recorded here, as the
   * worker records it, and not handed over.
   */
  async take(): Promise<DeliveryMessage[]> {
    const { db, box, config, clock } = this.deps;
    const held = this.handedOver ? await countHeld(db, this.endpointId, this.leaseToken) : 0;
    const claimed = await claimListenerDeliveries(db, box, {
      endpointId: this.endpointId,
      limit: LISTENER_IN_FLIGHT - held,
      leaseMs: config.leaseMs,
      leaseToken: this.leaseToken,
      now: clock.now(),
    });
    const out: DeliveryMessage[] = [];
    const refused: AttemptOutcome[] = [];
    for (const d of claimed) {
      const startedAt = clock.now();
      const req = prepare(d, startedAt, config.tokenHeader, NO_GUARD);
      if (!req.send) {
        refused.push(attemptOutcome(d, startedAt, req.attempted, null, req.error, REFUSED));
        continue;
      }
      out.push({
        type: 'delivery',
        deliveryId: d.id,
        leaseToken: d.leaseToken,
        eventId: d.eventId,
        eventType: d.type,
        attempt: d.attempts + 1,
        url: req.url,
        headers: req.headers,
        body: Buffer.from(req.body).toString('base64'),
      });
    }
    if (refused.length) await record(this.deps, refused);
    if (out.length) this.handedOver = true;
    return out;
  }

  /** What this connection still holds unanswered becomes due at once (the connection ended). */
  release(): Promise<number> {
    return releaseLeases(this.deps.db, [this.leaseToken], this.deps.clock.now());
  }
}

/**
 * Runs one connection until `signal` aborts or the endpoint is gone: `ready`, then each delivery
 * as it comes due (looking every HERALD_POLL_INTERVAL_MS), and a `ping` at every renewal of the
 * expiry (every 15 s, or a third of HERALD_LISTEN_EXPIRY if that is shorter), which also shows
 * the CLI the connection is alive. What the connection still holds when it ends is released.
 */
export async function runListener(
  feed: ListenerFeed,
  deps: ListenerDeps,
  emit: (m: ListenMessage) => Promise<void>,
  signal: AbortSignal,
): Promise<'stopped' | 'gone'> {
  const renewMs = Math.max(50, Math.min(15_000, Math.floor(deps.config.listenExpiryMs / 3)));
  const waker = new Waker();
  const onAbort = () => waker.wake();
  signal.addEventListener('abort', onAbort);
  const gone = async () => {
    await emit({ type: 'gone', reason: 'the listener was deleted, or expired: start `herald listen` again' });
    return 'gone' as const;
  };
  try {
    let expiresAt = await feed.renew();
    if (expiresAt === null) return await gone();
    await emit({
      type: 'ready',
      endpointId: feed.endpointId,
      expiresAt: new Date(expiresAt).toISOString(),
      timeoutMs: deps.config.deliveryTimeoutMs,
    });
    let renewAt = Date.now() + renewMs;
    while (!signal.aborted) {
      if (Date.now() >= renewAt) {
        expiresAt = await feed.renew();
        if (expiresAt === null) return await gone();
        await emit({ type: 'ping', expiresAt: new Date(expiresAt).toISOString() });
        renewAt = Date.now() + renewMs;
      }
      const batch = await feed.take();
      for (const m of batch) await emit(m);
      if (batch.length < LISTENER_IN_FLIGHT) await waker.sleep(Math.min(deps.config.pollIntervalMs, Math.max(0, renewAt - Date.now())));
    }
    return 'stopped';
  } finally {
    signal.removeEventListener('abort', onAbort);
    await feed.release().catch(() => 0);
  }
}

/** What the delivery became after an answer was recorded. */
export interface RecordedAnswer {
  deliveryId: string;
  status: DeliveryStatus;
  attempts: number;
  /** When it is tried again (still in progress), else null. */
  nextAttemptAt: string | null;
}

/**
 * Records a listener's answer as the delivery's attempt, decided as a worker decides (classify.ts).
 * The lease token decides, as for a worker, whether the answer sets the delivery's state: an answer
 * that comes after the lease ran out and another connection took the delivery is logged, and the
 * newer holder decides; a 2xx is a success as long as nobody else holds it.
 */
export async function recordListenerAnswer(deps: ListenerDeps, endpointId: string, a: ListenerAnswer): Promise<RecordedAnswer> {
  const { db, config, clock } = deps;
  const d = await readListenedDelivery(db, endpointId, a.deliveryId);
  if (!d) throw notFound('delivery', a.deliveryId);
  if (d.status !== DeliveryStatus.InProgress) {
    throw new HeraldError(
      'conflict',
      `delivery ${d.id} is no longer in progress (it is ${d.status === DeliveryStatus.Succeeded ? 'delivered' : 'failed'}); this answer was not recorded`,
    );
  }
  const now = clock.now();
  const durationMs = Math.max(0, Math.min(Math.round(a.durationMs), config.deliveryTimeoutMs + 60_000));
  const answer = { statusCode: a.statusCode, error: a.error, durationMs, responseBody: a.responseBody, retryAfterMs: a.retryAfterMs };
  // The listener's lease token: the one its claim handed out with this delivery.
  const outcome = attemptOutcome(
    { ...d, leaseToken: a.leaseToken },
    now - durationMs,
    true,
    answer,
    failureReason(answer),
    classify(answer, d, config.retrySchedule, now),
  );
  await record(deps, [outcome]);
  const after = (await readListenedDelivery(db, endpointId, a.deliveryId)) ?? d;
  return {
    deliveryId: d.id,
    status: after.status,
    attempts: after.attempts,
    nextAttemptAt: after.status === DeliveryStatus.InProgress && after.dueAt !== null ? new Date(after.dueAt).toISOString() : null,
  };
}
