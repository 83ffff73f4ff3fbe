import { chargifyChanges } from '../billing/chargify.js';
import { TtlCache } from '../cache.js';
import { applyBilling, BillingLookups, type BillingOutcome } from '../billing/applyBilling.js';
import { type BillingChange, BillingRefused, refuseNul } from '../billing/changes.js';
import { stripeChanges } from '../billing/stripe.js';
import type { Db, Queryable } from '../db/db.js';
import { ensureEventTypes } from '../event-types/eventTypes.js';
import { ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { Handover, insertEvents, type LocalWorker, type NewEvent } from '../events/eventWriter.js';
import { endSpan, SpanKind, type Tracing } from '../observability/tracing.js';
import type { Logger } from '../log.js';
import { PollLoop } from '../runtime/pollLoop.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { isRegisteredType, MalformedBody, PROVIDERS } from '../sources/providers/index.js';
import { claimInbound, type ClaimedInbound } from './sql/claimInbound.js';
import { retryInbound, settleInbound } from './sql/settleInbound.js';

/** Processing gives up on a message after this many failed tries (the database down for long). */
const MAX_ATTEMPTS = 10;

/**
 * Receiving comes first. A provider waits for its 200 (and gives up, retries or disables the
 * endpoint when it is slow); what a message means can be worked out a moment later. While a burst
 * arrives, processing takes only a share of the time (after a round that took d ms it rests
 * d × (1/share − 1)), and the share grows with how far processing is behind: the age of the oldest
 * message of its last round, against `burstLagMs` (HERALD_INBOUND_BURST_LAG). Just behind, it
 * takes MIN_SHARE, so a burst is answered at nearly the speed of storing alone; at the lag it may
 * reach, MAX_SHARE. Under a steady stream of bursts it settles where its share keeps up, at a lag
 * below that bound, and it always progresses. When the burst ends, processing runs flat out.
 */
const MIN_SHARE = 0.05;
const MAX_SHARE = 1 / 3;

/** Processing's share of the time while a burst arrives, `lagMs` behind (see MIN_SHARE). */
export function shareWhileBusy(lagMs: number, burstLagMs: number): number {
  if (burstLagMs <= 0) return MAX_SHARE;
  return MIN_SHARE + (MAX_SHARE - MIN_SHARE) * Math.min(1, Math.max(0, lagMs) / burstLagMs);
}

/** A burst: at least this many requests stored per second on this node, over the last window. */
const BUSY_PER_SECOND = 1000;
const WINDOW_MS = 50;

function billingChanges(m: ClaimedInbound, payload: string): BillingChange[] {
  if (m.provider === 'chargify') return refuseNul(chargifyChanges(JSON.parse(payload) as Record<string, unknown>, m.receivedAt));
  if (m.provider === 'stripe') return refuseNul(stripeChanges(JSON.parse(payload) as Record<string, unknown>, m.receivedAt));
  return [];
}

type Outcome = BillingOutcome | { status: 'failed'; reason: string; events: [] };

/**
 * Turns received messages into what they mean, after the sender has had its answer: each becomes
 * an event of the tenant (forwarded through the normal delivery engine) and, for billing
 * providers, records under the tenant's customers. One transaction per claimed batch (or per
 * message, when a batch fails) holds the forwarded events, the records, their events and the
 * messages' new statuses, so a crash at any point leaves the messages `received` and they are
 * simply processed again when their lease ends.
 */
export class InboundProcessor {
  private readonly loop: PollLoop;
  /**
   * Provider event types known to exist, per database and environment, so registering one is a
   * write only the first time. Only a provider's known events are registered (see
   * registeredTypes), so this holds at most their number per environment; the cache's own limit
   * and time-out are a second bound, and let a type the operator deleted come back in time.
   */
  private readonly knownTypes = new TtlCache<true>(3_600_000, 1000);
  /** Messages stored on this node in the current window and the one before (see busy()). */
  private windowStart = 0;
  private inWindow = 0;
  private inWindowBefore = 0;
  /** How old the oldest message of the last round was when it was claimed: how far processing is behind. */
  private lagMs = 0;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly log: Logger,
    /**
     * Called after a commit that wrote events, with how many. Without a `worker` in opts, the
     * delivery worker should look for their deliveries; with one, they were handed to it (or it
     * was woken for them).
     */
    private readonly onEvents: (created: number) => void,
    /**
     * `clock`: the database's (db/clock.ts); the forwarded events' deliveries are due by it.
     * `worker`: this node's delivery worker, which takes the deliveries it has room for in memory.
     */
    private readonly opts: {
      pollIntervalMs: number;
      leaseMs: number;
      /** How far behind processing may fall while a burst arrives before it takes its largest share (see MIN_SHARE). */
      burstLagMs?: number;
      tracing?: Tracing | null;
      clock?: { now(): number };
      worker?: LocalWorker | null;
    },
  ) {
    this.loop = new PollLoop(() => this.step(), {
      what: 'claiming received messages',
      intervalMs: opts.pollIntervalMs,
      log,
      restAfterWork: (roundMs) => (this.busy() ? roundMs * (1 / shareWhileBusy(this.lagMs, opts.burstLagMs ?? 0) - 1) : 0),
    });
  }

  /** Whether a burst of requests is arriving at this node now (see MIN_SHARE). */
  busy(): boolean {
    this.slideWindow(performance.now());
    return Math.max(this.inWindow, this.inWindowBefore) >= (BUSY_PER_SECOND * WINDOW_MS) / 1000;
  }

  private slideWindow(now: number): void {
    if (now - this.windowStart < WINDOW_MS) return;
    // The window just ended counts as the one before; an older one counts as empty.
    this.inWindowBefore = now - this.windowStart < 2 * WINDOW_MS ? this.inWindow : 0;
    this.inWindow = 0;
    this.windowStart = now;
  }

  start(): void {
    this.loop.start();
  }

  /** Messages were stored: look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  /** This node stored a provider's request: process it soon, and leave the time to receiving while more arrive. */
  received(): void {
    this.slideWindow(performance.now());
    this.inWindow++;
    this.loop.wake();
  }

  /**
   * Waits for the round in progress. A batch being processed message by message stops after the
   * current one: the rest come due again when their lease ends.
   */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One round of the poll loop: claims a batch of received messages, oldest first, and processes
   * them. Answers whether there were any (then the loop claims again at once).
   *
   * A batch is one transaction, and on SQLite a transaction never yields the event loop: 100
   * messages held every request (the providers' own, waiting for their 200) for 30 ms and more
   * under a burst. 20 keep that to a few milliseconds; on Postgres the queries are I/O, and a
   * larger batch only saves commits.
   */
  async step(): Promise<boolean> {
    const limit = this.db.dialect === 'sqlite' ? 20 : 100;
    const batch = await claimInbound(this.db, { limit, leaseMs: this.opts.leaseMs });
    if (batch.length === 0) return false;
    // Claimed oldest first: the first is as far behind as processing is.
    this.lagMs = Date.now() - batch[0].receivedAt;
    await this.processBatch(batch);
    return true;
  }

  /**
   * A claimed batch in one transaction (one commit for all, in arrival order). If it fails, each
   * message goes alone, so one message that cannot be processed holds up no other.
   */
  async processBatch(batch: ClaimedInbound[]): Promise<void> {
    const newTypes: string[] = [];
    const spans: Span[] = [];
    const handover = this.handover();
    try {
      const wrote = await this.db.tx((q) => this.applyAll(q, batch, newTypes, spans, handover));
      handover?.commit();
      for (const t of newTypes) this.knownTypes.set(t, true);
      for (const span of spans) endSpan(span);
      if (wrote) this.onEvents(wrote);
    } catch (err) {
      handover?.abandon();
      for (const span of spans) endSpan(span, err);
      if (batch.length > 1)
        this.log.warn({ err, count: batch.length }, 'processing a batch of received messages failed; processing each alone');
      for (const m of batch) {
        if (this.loop.stopping) break; // the rest come due again when their lease ends
        await this.process(m);
      }
    }
  }

  /** Processes one claimed message alone; never throws. */
  async process(m: ClaimedInbound): Promise<void> {
    const spans: Span[] = [];
    const handover = this.handover();
    try {
      const newTypes: string[] = [];
      const wrote = await this.db.tx((q) => this.applyAll(q, [m], newTypes, spans, handover));
      handover?.commit();
      // Only a committed registration is remembered.
      for (const t of newTypes) this.knownTypes.set(t, true);
      for (const span of spans) endSpan(span);
      if (wrote) this.onEvents(wrote);
    } catch (err) {
      handover?.abandon();
      for (const span of spans) endSpan(span, err);
      // The database failed mid-way: nothing of this try was kept. Try again later.
      const attempts = m.attempts + 1;
      this.log.warn(
        { err, message: m.id, attempts },
        attempts >= MAX_ATTEMPTS ? 'processing a received message failed for good' : 'processing a received message failed; retrying',
      );
      await retryInbound(this.db, m.id, attempts, MAX_ATTEMPTS, `processing failed: ${(err as Error).message}`, Date.now()).catch((err2) =>
        // Still down: the lease runs out and the message comes due anyway.
        this.log.warn(
          { err: err2, message: m.id },
          'could not record the failed processing; the message comes due again when its lease ends',
        ),
      );
    }
  }

  /** Hands the deliveries of one transaction's events to this node's worker, when it has one. */
  private handover(): Handover | null {
    return this.opts.worker ? new Handover(this.opts.worker) : null;
  }

  /** What one message means: its forwarded event and its billing outcome (records written, events not yet). */
  private async decide(
    q: Queryable,
    m: ClaimedInbound,
    newTypes: string[],
    traceParent: string | undefined,
    seen: BillingLookups,
  ): Promise<{ type: string | null; forwarded: NewEvent | null; outcome: Outcome }> {
    try {
      const parsed = PROVIDERS[m.provider].parse({ headers: m.headers, body: m.body, receivedAt: m.receivedAt });
      await this.ensureType(q, m.environmentId, parsed.type, m.provider, newTypes);
      // The forwarded event's idempotency key makes a second pass (a release from `unmatched`,
      // a retry) find the same event instead of sending it twice.
      const forwarded = {
        type: parsed.type,
        payload: parsed.payload,
        idempotencyKey: `inbound:${m.id}`,
        inboundId: m.id,
        occurredAt: m.receivedAt,
        traceParent,
        original: { headers: m.headers, body: m.body },
      };
      let outcome: Outcome;
      try {
        outcome = await applyBilling(q, m.tenantId, billingChanges(m, parsed.payload), seen);
      } catch (err) {
        if (!(err instanceof BillingRefused)) throw err;
        outcome = { status: 'failed', reason: err.message, events: [] };
      }
      return { type: parsed.type, forwarded, outcome };
    } catch (err) {
      if (!(err instanceof MalformedBody)) throw err;
      return { type: null, forwarded: null, outcome: { status: 'failed', reason: err.message, events: [] } };
    }
  }

  /**
   * Applies messages in arrival order, then writes the events of all of them with one outbox
   * write per tenant (each forwarded event followed by its billing events), then their statuses.
   * Answers how many events were written. With tracing on, each message gets a span (in `spans`,
   * ended by the caller once the transaction is over), and the events it causes are its children.
   */
  private async applyAll(
    q: Queryable,
    batch: ClaimedInbound[],
    newTypes: string[],
    spans: Span[],
    handover: Handover | null,
  ): Promise<number> {
    const decided = [];
    const tracing = this.opts.tracing;
    // The batch's lookups and queued payments (see BillingLookups): this transaction's only.
    const seen = new BillingLookups();
    for (const m of batch) {
      let traceParent: string | undefined;
      if (tracing) {
        const span = tracing.start('herald.inbound.process', SpanKind.CONSUMER, ROOT_CONTEXT, {
          'herald.inbound.id': m.id,
          'herald.inbound.provider': m.provider,
          'herald.tenant.id': m.tenantId,
        });
        spans.push(span);
        traceParent = tracing.traceParentOf(span);
      }
      const d = await this.decide(q, m, newTypes, traceParent, seen);
      for (const e of d.outcome.events) e.traceParent ??= traceParent;
      decided.push(d);
    }
    // The batch's payments, queued as its messages were applied, go in before its events.
    await seen.flush(q);
    const byTenant = new Map<string, { events: NewEvent[]; owner: (number | null)[] }>();
    decided.forEach((d, i) => {
      const t = byTenant.get(batch[i].tenantId) ?? { events: [], owner: [] };
      byTenant.set(batch[i].tenantId, t);
      if (d.forwarded) {
        t.events.push(d.forwarded);
        t.owner.push(i);
      }
      for (const e of seen.announced(d.outcome.events)) {
        t.events.push(e);
        t.owner.push(null);
      }
    });
    const forwardedId: (string | null)[] = batch.map(() => null);
    let wrote = 0;
    for (const [tenantId, t] of byTenant) {
      const accepted = await insertEvents(q, this.box, tenantId, t.events, this.opts.clock?.now(), handover);
      accepted.forEach((a, j) => {
        const owner = t.owner[j];
        if (owner !== null) forwardedId[owner] = a.id;
      });
      for (const a of accepted) if (a.created) wrote++;
    }
    await settleInbound(
      q,
      decided.map((d, i) => ({ id: batch[i].id, outcome: d.outcome, eventId: forwardedId[i], eventType: d.type })),
      Date.now(),
    );
    return wrote;
  }

  /** How many event types the processor remembers as registered (bounded; for tests and metrics). */
  get rememberedTypes(): number {
    return this.knownTypes.size;
  }

  /**
   * Registers a forwarded type in the environment's catalogue if it is one of the provider's known
   * events. Any other type is forwarded without a catalogue entry: the name comes from the request,
   * and a tenant would otherwise write without limit to a list every tenant shares.
   */
  private async ensureType(q: Queryable, environmentId: string, type: string, provider: string, newTypes: string[]): Promise<void> {
    if (!isRegisteredType(type)) return;
    const key = `${q.where}|${environmentId}|${type}`;
    if (this.knownTypes.get(key)) return;
    await ensureEventTypes(q, environmentId, [{ name: type, description: `Forwarded from ${provider} webhooks.` }]);
    newTypes.push(key);
  }
}
