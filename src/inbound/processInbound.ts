import { chargifyChanges } from '../billing/chargify.js';
import { applyBilling, type BillingOutcome } from '../billing/applyBilling.js';
import { type BillingChange, BillingRefused } from '../billing/changes.js';
import { stripeChanges } from '../billing/stripe.js';
import type { Db, Queryable } from '../db/db.js';
import { ensureEventTypes } from '../event-types/eventTypes.js';
import { insertEvents } from '../events/eventWriter.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { MalformedBody, PROVIDERS } from '../sources/providers/index.js';
import { Waker } from '../wake.js';
import { claimInbound, type ClaimedInbound } from './claimInbound.js';

/** Processing gives up on a message after this many failed tries (the database down for long). */
const MAX_ATTEMPTS = 10;

function billingChanges(m: ClaimedInbound, payload: string): BillingChange[] {
  if (m.provider === 'chargify') return chargifyChanges(JSON.parse(payload), m.receivedAt);
  if (m.provider === 'stripe') return stripeChanges(JSON.parse(payload), m.receivedAt);
  return [];
}

type Outcome = BillingOutcome | { status: 'failed'; reason: string; events: [] };

/**
 * Turns received messages into what they mean, after the sender has had its answer: each becomes
 * an event of the tenant (forwarded through the normal delivery engine) and, for billing
 * providers, records under the tenant's customers. One transaction per message holds the
 * forwarded event, the records, their events and the message's new status, so a crash at any
 * point leaves the message `received` and it is simply processed again when its lease ends.
 */
export class InboundProcessor {
  private readonly waker = new Waker();
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  /** Event types known to exist, per environment: registering them is one write per new type. */
  private readonly knownTypes = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly log: Logger,
    /** Called after a commit that wrote events: the delivery worker should look for them. */
    private readonly onEvents: () => void,
    private readonly opts: { pollIntervalMs: number; leaseMs: number },
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  wake(): void {
    this.waker.wake();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.waker.wake();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      try {
        const batch = await claimInbound(this.db, { limit: 100, leaseMs: this.opts.leaseMs });
        claimed = batch.length;
        if (batch.length) await this.processBatch(batch);
      } catch (err) {
        this.log.error({ err }, 'claiming received messages failed; retrying at the next poll');
      }
      if (claimed === 0) await this.waker.sleep(this.opts.pollIntervalMs);
    }
  }

  /**
   * A claimed batch in one transaction (one commit for all, in arrival order). If it fails, each
   * message goes alone, so one message that cannot be processed holds up no other.
   */
  async processBatch(batch: ClaimedInbound[]): Promise<void> {
    const newTypes: string[] = [];
    try {
      const wrote = await this.db.tx(async (q) => {
        let any = false;
        for (const m of batch) any = (await this.apply(q, m, newTypes)) || any;
        return any;
      });
      for (const t of newTypes) this.knownTypes.add(t);
      if (wrote) this.onEvents();
    } catch {
      for (const m of batch) {
        if (this.stopping) break; // the rest come due again when their lease ends
        await this.process(m);
      }
    }
  }

  /** Processes one claimed message alone; never throws. */
  async process(m: ClaimedInbound): Promise<void> {
    try {
      const newTypes: string[] = [];
      const wrote = await this.db.tx((q) => this.apply(q, m, newTypes));
      // Only a committed registration is remembered.
      for (const t of newTypes) this.knownTypes.add(t);
      if (wrote) this.onEvents();
    } catch (err) {
      // The database failed mid-way: nothing of this try was kept. Try again later.
      const attempts = m.attempts + 1;
      const failed = attempts >= MAX_ATTEMPTS;
      this.log.warn({ err, message: m.id, attempts }, failed ? 'processing a received message failed for good' : 'processing a received message failed; retrying');
      await this.db
        .run(
          `UPDATE inbound_messages SET attempts = $2, status = $3, reason = $4, due_at = $5 WHERE id = $1 AND status = 'received'`,
          [m.id, attempts, failed ? 'failed' : 'received', `processing failed: ${(err as Error).message}`.slice(0, 500), failed ? null : Date.now() + Math.min(2 ** attempts * 1000, 600_000)],
        )
        .catch(() => undefined); // still down: the lease runs out and the message comes due anyway
    }
  }

  private async apply(q: Queryable, m: ClaimedInbound, newTypes: string[]): Promise<boolean> {
    let outcome: Outcome;
    let forwardedId: string | null = null;
    let type: string | null = null;
    try {
      const parsed = PROVIDERS[m.provider].parse({ headers: m.headers, body: m.body, receivedAt: m.receivedAt });
      type = parsed.type;
      await this.ensureType(q, m.environmentId, parsed.type, m.provider, newTypes);
      // The forwarded event's idempotency key makes a second pass (a release from `unmatched`,
      // a retry) find the same event instead of sending it twice.
      const [forwarded] = await insertEvents(q, this.box, m.tenantId, [
        { type: parsed.type, payload: parsed.payload, idempotencyKey: `inbound:${m.id}`, inboundId: m.id, occurredAt: m.receivedAt },
      ]);
      forwardedId = forwarded.id;
      outcome = await applyBilling(q, m.tenantId, billingChanges(m, parsed.payload));
    } catch (err) {
      if (!(err instanceof BillingRefused || err instanceof MalformedBody)) throw err;
      outcome = { status: 'failed', reason: err.message, events: [] };
    }
    await insertEvents(q, this.box, m.tenantId, outcome.events);
    await q.run(
      `UPDATE inbound_messages SET status = $2, reason = $3, waiting_for = $4, event_id = COALESCE($5, event_id), event_type = COALESCE($6, event_type),
              attempts = attempts + 1, due_at = NULL, processed_at = $7
        WHERE id = $1`,
      [m.id, outcome.status, 'reason' in outcome ? outcome.reason : null, outcome.status === 'unmatched' ? outcome.waitingFor : null, forwardedId, type, Date.now()],
    );
    return forwardedId !== null || outcome.events.length > 0;
  }

  private async ensureType(q: Queryable, environmentId: string, type: string, provider: string, newTypes: string[]): Promise<void> {
    const key = `${q.where}|${environmentId}|${type}`;
    if (this.knownTypes.has(key)) return;
    await ensureEventTypes(q, environmentId, [{ name: type, description: `Forwarded from ${provider} webhooks.` }]);
    newTypes.push(key);
  }
}
