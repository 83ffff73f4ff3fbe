import type { Queryable } from '../db/db.js';
import { notFound } from '../errors.js';
import { type Page, pageOf } from '../pagination.js';

// Reading billing records. Each carries its customer's key beside the id, and a subscription its
// plan (the tenant's plan whose key is the subscription's product id), so a receiver of the
// billing events needs no second call.

export interface Subscription {
  id: string;
  customerId: string;
  customerKey: string;
  provider: string;
  providerId: string;
  productId: string | null;
  productName: string | null;
  plan: { id: string; key: string; name: string } | null;
  state: string;
  amount: number | null;
  currency: string | null;
  components: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

/** What a transaction and a refund both are: an amount of money under a customer, from a provider. */
export interface Money {
  id: string;
  customerId: string;
  customerKey: string;
  provider: string;
  providerId: string;
  /** In minor units (cents). */
  amount: number;
  currency: string;
  memo: string | null;
  occurredAt: string;
  createdAt: string;
}

export interface Transaction extends Money {
  subscriptionId: string | null;
}

export interface Refund extends Money {
  transactionId: string | null;
  /** The provider's id of the refunded payment. */
  paymentId: string | null;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
const num = (v: number | string | null) => (v === null ? null : Number(v));

// The rows the queries below answer (bigint columns arrive as numbers on Postgres, see db/postgres.ts).
interface SubscriptionRow {
  id: string;
  customer_id: string;
  customer_key: string;
  provider: string;
  provider_id: string;
  product_id: string | null;
  product_name: string | null;
  plan_id: string | null;
  plan_key: string | null;
  plan_name: string | null;
  state: string;
  amount: number | string | null;
  currency: string | null;
  components: string;
  created_at: number;
  updated_at: number;
}

interface MoneyRow {
  id: string;
  customer_id: string;
  customer_key: string;
  provider: string;
  provider_id: string;
  amount: number | string;
  currency: string;
  memo: string | null;
  occurred_at: number;
  created_at: number;
}

export interface TransactionRow extends MoneyRow {
  subscription_id: string | null;
}

export interface RefundRow extends MoneyRow {
  transaction_id: string | null;
  payment_id: string | null;
}

const SUBSCRIPTIONS = `
  SELECT s.*, c.key AS customer_key, p.id AS plan_id, p.key AS plan_key, p.name AS plan_name
    FROM subscriptions s
    JOIN customers c ON c.id = s.customer_id
    LEFT JOIN plans p ON p.tenant_id = s.tenant_id AND p.key = s.product_id`;

const toSubscription = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  customerId: r.customer_id,
  customerKey: r.customer_key,
  provider: r.provider,
  providerId: r.provider_id,
  productId: r.product_id,
  productName: r.product_name,
  plan: r.plan_id ? { id: r.plan_id, key: r.plan_key!, name: r.plan_name! } : null,
  state: r.state,
  amount: num(r.amount),
  currency: r.currency,
  components: JSON.parse(r.components) as Record<string, number>,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const TRANSACTIONS = 'SELECT t.*, c.key AS customer_key FROM transactions t JOIN customers c ON c.id = t.customer_id';

/** Maps the fields of Money from a transactions or refunds row (amounts in minor units). */
const money = (r: MoneyRow): Money => ({
  id: r.id,
  customerId: r.customer_id,
  customerKey: r.customer_key,
  provider: r.provider,
  providerId: r.provider_id,
  amount: Number(r.amount),
  currency: r.currency,
  memo: r.memo,
  occurredAt: iso(r.occurred_at),
  createdAt: iso(r.created_at),
});

/** A transactions row, with its customer's key, as the API shows it. */
export const transactionOfRow = (r: TransactionRow): Transaction => ({ ...money(r), subscriptionId: r.subscription_id });

const REFUNDS = 'SELECT f.*, c.key AS customer_key FROM refunds f JOIN customers c ON c.id = f.customer_id';

/** A refunds row, with its customer's key, as the API shows it. */
export const refundOfRow = (r: RefundRow): Refund => ({ ...money(r), transactionId: r.transaction_id, paymentId: r.payment_id });

export async function readSubscription(q: Queryable, id: string): Promise<Subscription> {
  const row = await q.one<SubscriptionRow>(`${SUBSCRIPTIONS} WHERE s.id = $1`, [id]);
  if (!row) throw notFound('subscription', id);
  return toSubscription(row);
}

export type RecordKind = 'subscriptions' | 'transactions' | 'refunds';

interface RecordOf {
  subscriptions: Subscription;
  transactions: Transaction;
  refunds: Refund;
}

// `map` takes the row of its own kind's query (typed `never` here so the three fit one table).
const LISTS: { [K in RecordKind]: { sql: string; alias: string; map: (r: never) => RecordOf[K] } } = {
  subscriptions: { sql: SUBSCRIPTIONS, alias: 's', map: toSubscription },
  transactions: { sql: TRANSACTIONS, alias: 't', map: transactionOfRow },
  refunds: { sql: REFUNDS, alias: 'f', map: refundOfRow },
};

/** One tenant's records of a kind, newest first, optionally of one customer. */
export async function listRecords<K extends RecordKind>(
  q: Queryable,
  kind: K,
  tenantId: string,
  opts: { limit: number; cursor?: string; customerId?: string },
): Promise<Page<RecordOf[K]>> {
  const { sql, alias: a, map } = LISTS[kind];
  const rows = await q.all<never>(
    `${sql} WHERE ${a}.tenant_id = $1 AND (CAST($2 AS text) IS NULL OR ${a}.customer_id = $2) AND (CAST($3 AS text) IS NULL OR ${a}.id < $3)
      ORDER BY ${a}.id DESC LIMIT $4`,
    [tenantId, opts.customerId ?? null, opts.cursor ?? null, opts.limit + 1],
  );
  return pageOf(rows.map(map), opts.limit);
}

export interface SubscriptionStateCount {
  /** As the provider names it: active, trialing, past_due, canceled, … */
  state: string;
  count: number;
}

/**
 * How many of a tenant's subscriptions are in each state now, most first: at most `limit` states
 * (providers have about ten; the bound keeps a provider inventing states from growing the answer).
 * Counted from subscriptions_tenant_state (tenant_id, state) alone.
 */
export async function subscriptionsByState(q: Queryable, tenantId: string, limit: number): Promise<SubscriptionStateCount[]> {
  const rows = await q.all<{ state: string; n: number | string }>(
    `SELECT state, COUNT(*) AS n FROM subscriptions WHERE tenant_id = $1 GROUP BY state ORDER BY COUNT(*) DESC, state LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map((r) => ({ state: r.state, count: Number(r.n) }));
}
