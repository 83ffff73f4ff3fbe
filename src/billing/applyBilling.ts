import type { Queryable } from '../db/db.js';
import { chunks, valuesRows } from '../db/sql.js';
import type { NewEvent } from '../events/eventWriter.js';
import { newId } from '../ids.js';
import { releaseWaiting } from '../inbound/sql/settleInbound.js';
import type { BillingChange, CustomerRef, RefundChange, SubscriptionChange, TransactionChange } from './changes.js';
import { readSubscription, refundOfRow, type RefundRow, transactionOfRow, type TransactionRow } from './records.js';

// Writes billing changes under the tenant's customers, inside the processing transaction of the
// message they came from. Every write is keyed by the provider's own id, so applying a message a
// second time (after a crash, or when it is released from `unmatched`) changes nothing and
// announces nothing twice. A change whose customer (or subscription) does not exist yet is not
// an error: the message is held as `unmatched`, waiting for it, and released when it appears.

export type BillingOutcome =
  { status: 'processed'; events: NewEvent[] } | { status: 'unmatched'; waitingFor: string; reason: string; events: NewEvent[] };

/** Thrown inside a billing change to hold the message: not a failure, a wait (see the top of this file). */
class Unmatched extends Error {
  constructor(
    readonly waitingFor: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'Unmatched';
  }
}

const event = (type: string, body: Record<string, unknown>): NewEvent => ({ type, payload: JSON.stringify(body) });

/**
 * What a processing transaction knows and owes, kept for the rest of it: the customers and
 * subscriptions it looked up (a batch of webhooks names the same few again and again: a
 * customer's payments, a subscription's changes), and the payments it has yet to insert, which
 * go in one statement (`flush`) instead of one each. On Postgres every statement is a round trip
 * the batch waits for. It lives exactly as long as its transaction (a rolled-back one takes its
 * memory with it), every write here that changes an answer updates it, and the pending payments
 * are written before any statement that reads or links payments, and before the transaction's
 * events are. Billing never changes customers; another transaction deleting one meanwhile makes
 * the insert that names it fail its foreign key, as it would without this. A subscription another
 * node's transaction creates meanwhile is not seen until the next batch, which is the race a
 * lookup made just before it was created always had (its signup links the payments already
 * recorded without it; only one recorded by a transaction it cannot see yet stays unlinked).
 */
export class BillingLookups {
  private readonly customers = new Map<string, { id: string; key: string }>();
  private readonly subscriptions = new Map<string, string | null>();
  /** Payments to insert, in arrival order, each with the event that announces it once it is in. */
  private pending: PendingPayment[] = [];
  /** Events of payments that turned out to be recorded already: announced by no one. */
  private readonly withdrawn = new Set<NewEvent>();

  async customer(q: Queryable, tenantId: string, ref: CustomerRef): Promise<{ id: string; key: string }> {
    let key: string;
    if ('key' in ref) {
      key = ref.key;
    } else {
      const link = await q.one<{ customer_key: string }>(
        'SELECT customer_key FROM provider_customers WHERE tenant_id = $1 AND provider = $2 AND external_id = $3',
        [tenantId, ref.provider, ref.externalId],
      );
      if (!link) {
        throw new Unmatched(
          `provider-customer:${ref.provider}:${ref.externalId}`,
          `${ref.provider} customer ${ref.externalId} is not known to stand for a customer key yet; it will be applied when a customer event with metadata.customer_key arrives`,
        );
      }
      key = link.customer_key;
    }
    const memo = `${tenantId}\u0000${key}`;
    const known = this.customers.get(memo);
    if (known) return known;
    const row = await q.one<{ id: string }>('SELECT id FROM customers WHERE tenant_id = $1 AND key = $2', [tenantId, key]);
    if (!row)
      throw new Unmatched(`customer:${key}`, `no customer with key "${key}" in this tenant yet; it will be applied when one is created`);
    const found = { id: row.id, key };
    this.customers.set(memo, found);
    return found;
  }

  async subscriptionId(q: Queryable, tenantId: string, provider: string, providerId: string | null): Promise<string | null> {
    if (!providerId) return null;
    const memo = `${tenantId}\u0000${provider}\u0000${providerId}`;
    const known = this.subscriptions.get(memo);
    if (known !== undefined) return known;
    const row = await q.one<{ id: string }>('SELECT id FROM subscriptions WHERE tenant_id = $1 AND provider = $2 AND provider_id = $3', [
      tenantId,
      provider,
      providerId,
    ]);
    this.subscriptions.set(memo, row?.id ?? null);
    return row?.id ?? null;
  }

  /** A payment to insert at the next flush; its event is announced only if it goes in. */
  queuePayment(p: PendingPayment): void {
    this.pending.push(p);
  }

  /**
   * Inserts the pending payments, a slice of the batch per statement, and fills in each one's
   * event from its row (RETURNING: nothing is read back). One already recorded (the same
   * provider id, before or earlier in this batch) inserts nothing and its event is withdrawn.
   */
  async flush(q: Queryable): Promise<void> {
    // One insert per provider id: a second in the same statement would meet the first.
    const firsts = new Map<string, PendingPayment>();
    for (const p of this.pending) {
      const key = `${p.tenantId}\u0000${p.change.provider}\u0000${p.change.providerId}`;
      if (firsts.has(key)) this.withdrawn.add(p.event);
      else firsts.set(key, p);
    }
    this.pending = [];
    for (const chunk of chunks(q.dialect, [...firsts.values()], 100)) {
      const params: unknown[] = [];
      for (const { id, tenantId, customer, subscriptionId, change: c, now } of chunk) {
        params.push(
          id,
          tenantId,
          customer.id,
          subscriptionId,
          c.subscriptionProviderId,
          c.provider,
          c.providerId,
          c.amount,
          c.currency,
          c.memo,
          Math.round(c.occurredAt),
          now,
        );
      }
      const rows = await q.all<TransactionRow>(
        `INSERT INTO transactions (${TRANSACTION_COLUMNS.join(', ')}) VALUES ${valuesRows(chunk.length, TRANSACTION_COLUMNS.length)}
         ON CONFLICT (tenant_id, provider, provider_id) DO NOTHING RETURNING *`,
        params,
      );
      const inserted = new Map(rows.map((r) => [r.id, r]));
      for (const p of chunk) {
        const row = inserted.get(p.id);
        if (row) p.event.payload = JSON.stringify({ transaction: transactionOfRow({ ...row, customer_key: p.customer.key }) });
        else this.withdrawn.add(p.event);
      }
    }
  }

  /** The events of `events` that announce something (see flush): call after the last flush. */
  announced(events: NewEvent[]): NewEvent[] {
    return this.withdrawn.size === 0 ? events : events.filter((e) => !this.withdrawn.has(e));
  }

  /** A subscription read or created in this transaction. */
  noteSubscription(tenantId: string, provider: string, providerId: string, id: string): void {
    this.subscriptions.set(`${tenantId}\u0000${provider}\u0000${providerId}`, id);
  }
}

const TRANSACTION_COLUMNS = [
  'id',
  'tenant_id',
  'customer_id',
  'subscription_id',
  'subscription_provider_id',
  'provider',
  'provider_id',
  'amount',
  'currency',
  'memo',
  'occurred_at',
  'created_at',
] as const;

/** A payment queued for its batch's insert (BillingLookups.flush), with the event that will announce it. */
interface PendingPayment {
  id: string;
  tenantId: string;
  customer: { id: string; key: string };
  subscriptionId: string | null;
  change: TransactionChange;
  now: number;
  event: NewEvent;
}

/** A payment: queued for the batch's one insert (BillingLookups.flush), with the event that announces it. */
async function applyTransaction(
  q: Queryable,
  tenantId: string,
  c: TransactionChange,
  now: number,
  seen: BillingLookups,
): Promise<NewEvent[]> {
  const customer = await seen.customer(q, tenantId, c.customer);
  const subscriptionId = await seen.subscriptionId(q, tenantId, c.provider, c.subscriptionProviderId);
  // Its payload is written at the flush, from the inserted row.
  const announce = event('transaction.recorded', {});
  seen.queuePayment({ id: newId('txn', now), tenantId, customer, subscriptionId, change: c, now, event: announce });
  return [announce];
}

async function applySubscription(
  q: Queryable,
  tenantId: string,
  c: SubscriptionChange,
  now: number,
  seen: BillingLookups,
): Promise<NewEvent[]> {
  const current = await q.one<{
    id: string;
    product_id: string | null;
    product_name: string | null;
    state: string;
    amount: number | string | null;
    currency: string | null;
    components: string;
  }>(
    'SELECT id, product_id, product_name, state, amount, currency, components FROM subscriptions WHERE tenant_id = $1 AND provider = $2 AND provider_id = $3',
    [tenantId, c.provider, c.providerId],
  );
  if (!current) {
    if (!c.customer) {
      throw new Unmatched(
        `subscription:${c.provider}:${c.providerId}`,
        `no ${c.provider} subscription ${c.providerId} recorded yet; it will be applied when its signup is`,
      );
    }
    const customer = (await seen.customer(q, tenantId, c.customer)).id;
    const id = newId('sub', now);
    await q.run(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, provider, provider_id, product_id, product_name, state, amount, currency, components, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
      [
        id,
        tenantId,
        customer,
        c.provider,
        c.providerId,
        c.productId ?? null,
        c.productName ?? null,
        c.state ?? 'active',
        c.amount ?? null,
        c.currency ?? null,
        JSON.stringify(c.components ?? {}),
        now,
      ],
    );
    seen.noteSubscription(tenantId, c.provider, c.providerId, id);
    // A payment recorded before its signup (providers do not promise order) named this
    // subscription without finding it: it belongs here. The payment is recorded at once rather
    // than held, because its signup may never come (a subscription older than the source).
    // Those of this batch first: they are only queued.
    await seen.flush(q);
    await q.run(
      `UPDATE transactions SET subscription_id = $1
        WHERE tenant_id = $2 AND provider = $3 AND subscription_provider_id = $4 AND subscription_id IS NULL`,
      [id, tenantId, c.provider, c.providerId],
    );
    // Changes that came before their signup (an allocation, say) wait for it: their turn now.
    await releaseWaiting(q, tenantId, `subscription:${c.provider}:${c.providerId}`);
    return [event('subscription.created', { subscription: await readSubscription(q, id) })];
  }
  seen.noteSubscription(tenantId, c.provider, c.providerId, current.id);
  const before = {
    productId: current.product_id,
    productName: current.product_name,
    state: current.state,
    amount: current.amount === null ? null : Number(current.amount),
    currency: current.currency,
    components: JSON.parse(current.components) as Record<string, number>,
  };
  const after = {
    productId: c.productId === undefined ? before.productId : c.productId,
    productName: c.productName === undefined ? before.productName : c.productName,
    state: c.state ?? before.state,
    amount: c.amount === undefined ? before.amount : c.amount,
    currency: c.currency === undefined ? before.currency : c.currency,
    components: { ...before.components, ...c.components },
  };
  const changed = (Object.keys(after) as (keyof typeof after)[]).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
  if (changed.length === 0) return [];
  await q.run(
    `UPDATE subscriptions SET product_id = $2, product_name = $3, state = $4, amount = $5, currency = $6, components = $7, updated_at = $8 WHERE id = $1`,
    [current.id, after.productId, after.productName, after.state, after.amount, after.currency, JSON.stringify(after.components), now],
  );
  const previous = Object.fromEntries(changed.map((k) => [k, before[k]]));
  return [event('subscription.updated', { subscription: await readSubscription(q, current.id), changed, previous })];
}

async function applyRefund(q: Queryable, tenantId: string, c: RefundChange, now: number, seen: BillingLookups): Promise<NewEvent[]> {
  const customer = await seen.customer(q, tenantId, c.customer);
  // The refunded payment may be one of this batch, still queued.
  if (c.paymentId) await seen.flush(q);
  const payment = c.paymentId
    ? await q.one<{ id: string; currency: string }>(
        'SELECT id, currency FROM transactions WHERE tenant_id = $1 AND provider = $2 AND provider_id = $3',
        [tenantId, c.provider, c.paymentId],
      )
    : undefined;
  const inserted = await q.one<RefundRow>(
    `INSERT INTO refunds (id, tenant_id, customer_id, transaction_id, provider, provider_id, payment_id, amount, currency, memo, occurred_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (tenant_id, provider, provider_id) DO NOTHING RETURNING *`,
    [
      newId('rfd', now),
      tenantId,
      customer.id,
      payment?.id ?? null,
      c.provider,
      c.providerId,
      c.paymentId,
      c.amount,
      c.currency ?? payment?.currency ?? 'USD',
      c.memo,
      Math.round(c.occurredAt),
      now,
    ],
  );
  return inserted ? [event('refund.recorded', { refund: refundOfRow({ ...inserted, customer_key: customer.key }) })] : [];
}

async function applyOne(q: Queryable, tenantId: string, c: BillingChange, now: number, seen: BillingLookups): Promise<NewEvent[]> {
  switch (c.kind) {
    case 'transaction':
      return applyTransaction(q, tenantId, c, now, seen);
    case 'subscription':
      return applySubscription(q, tenantId, c, now, seen);
    case 'refund':
      return applyRefund(q, tenantId, c, now, seen);
    case 'customer-link':
      await q.run(
        `INSERT INTO provider_customers (tenant_id, provider, external_id, customer_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, provider, external_id) DO UPDATE SET customer_key = excluded.customer_key`,
        [tenantId, c.provider, c.externalId, c.customerKey],
      );
      await releaseWaiting(q, tenantId, `provider-customer:${c.provider}:${c.externalId}`);
      return [];
  }
}

/**
 * Applies one message's changes inside a processing transaction. `seen` is that transaction's
 * (see BillingLookups), shared by the messages of its batch: call `seen.flush(q)` before the
 * transaction writes its events or ends, and announce only `seen.announced(events)`.
 */
export async function applyBilling(
  q: Queryable,
  tenantId: string,
  changes: BillingChange[],
  seen: BillingLookups,
): Promise<BillingOutcome> {
  const now = Date.now();
  const events: NewEvent[] = [];
  for (const c of changes) {
    try {
      events.push(...(await applyOne(q, tenantId, c, now, seen)));
    } catch (err) {
      if (err instanceof Unmatched) return { status: 'unmatched', waitingFor: err.waitingFor, reason: err.reason, events };
      throw err;
    }
  }
  return { status: 'processed', events };
}
