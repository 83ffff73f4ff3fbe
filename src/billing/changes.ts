// What a billing provider's webhook means for Herald's records, independent of the provider. The
// normalizers (chargify.ts, stripe.ts) produce these; applyBilling.ts writes them.

/** Who a change belongs to: a customer key, or a provider's own customer id that maps to one. */
export type CustomerRef = { key: string } | { provider: string; externalId: string };

export interface TransactionChange {
  kind: 'transaction';
  provider: string;
  providerId: string;
  customer: CustomerRef;
  /** The provider's subscription id, when the payment belongs to one. */
  subscriptionProviderId: string | null;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  memo: string | null;
  occurredAt: number;
}

export interface SubscriptionChange {
  kind: 'subscription';
  provider: string;
  providerId: string;
  /** Null when the webhook does not say (Chargify's allocation changes): the subscription must exist. */
  customer: CustomerRef | null;
  productId?: string | null;
  productName?: string | null;
  state?: string;
  amount?: number | null;
  currency?: string | null;
  /** Allocated quantity by component id, merged into what is recorded. */
  components?: Record<string, number>;
}

export interface RefundChange {
  kind: 'refund';
  provider: string;
  providerId: string;
  customer: CustomerRef;
  /** The provider's id of the refunded payment. */
  paymentId: string | null;
  amount: number;
  /** Null: the refunded payment's currency. */
  currency: string | null;
  memo: string | null;
  occurredAt: number;
}

/** A provider's customer id stands for this customer key from now on. */
export interface CustomerLinkChange {
  kind: 'customer-link';
  provider: string;
  externalId: string;
  customerKey: string;
}

export type BillingChange = TransactionChange | SubscriptionChange | RefundChange | CustomerLinkChange;

/** A webhook that cannot become a record, ever, as it is (missing fields): recorded as failed, with the reason. */
export class BillingRefused extends Error {}

export function minorUnits(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v);
  throw new BillingRefused(
    `${field} is ${v === undefined ? 'missing' : `not an amount in minor units (${JSON.stringify(v).slice(0, 40)})`}`,
  );
}

export function timeOf(v: unknown, fallback: number): number {
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return fallback;
}

/** Keys and ids are stored as text, and Postgres text cannot hold NUL: such a webhook is refused. */
export function refuseNul(changes: BillingChange[]): BillingChange[] {
  if (JSON.stringify(changes).includes('\\u0000'))
    throw new BillingRefused('a field holds a NUL character, which cannot be a key, id or memo');
  return changes;
}
