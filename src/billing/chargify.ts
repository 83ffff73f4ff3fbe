import { type BillingChange, BillingRefused, minorUnits, timeOf } from './changes.js';

// Chargify's webhooks as PartnerStack's Chargify listener reads them. The customer is the one whose key
// equals the subscription's customer reference (payload[subscription][customer][reference]);
// refund_success carries it flat (payload[customer_reference]); component_allocation_change
// carries none, so its subscription is found by Chargify's subscription id. Amounts arrive in
// cents (…_in_cents). Chargify sites bill in one currency, given on the subscription; USD when
// the webhook does not say.

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

function need(v: unknown, field: string, hint = ''): string {
  const t = text(v);
  if (t === null) throw new BillingRefused(`${field} is missing${hint}`);
  return t;
}

const REFERENCE_HINT = '; set the customer reference in Chargify to the Herald customer key';

function subscriptionOf(payload: Obj, withCustomer: boolean) {
  const sub = obj(payload.subscription);
  const product = obj(sub.product);
  const id = need(sub.id, 'payload[subscription][id]');
  return {
    kind: 'subscription' as const,
    provider: 'chargify',
    providerId: id,
    customer: withCustomer
      ? { key: need(obj(sub.customer).reference, 'payload[subscription][customer][reference]', REFERENCE_HINT) }
      : null,
    productId: text(product.id),
    productName: text(product.name),
    state: text(sub.state) ?? 'active',
    amount:
      product.price_in_cents === undefined ? null : minorUnits(product.price_in_cents, 'payload[subscription][product][price_in_cents]'),
    currency: text(sub.currency) ?? text(product.currency) ?? 'USD',
  };
}

/** The billing changes of one Chargify webhook ({id, event, payload}); none for other events. */
export function chargifyChanges(body: Obj, receivedAt: number): BillingChange[] {
  const payload = obj(body.payload);
  switch (body.event) {
    case 'payment_success': {
      const sub = obj(payload.subscription);
      const tx = obj(payload.transaction);
      return [
        {
          kind: 'transaction',
          provider: 'chargify',
          providerId: need(tx.id, 'payload[transaction][id]'),
          customer: { key: need(obj(sub.customer).reference, 'payload[subscription][customer][reference]', REFERENCE_HINT) },
          subscriptionProviderId: text(sub.id),
          amount: minorUnits(tx.amount_in_cents, 'payload[transaction][amount_in_cents]'),
          currency: text(tx.currency) ?? text(sub.currency) ?? 'USD',
          memo: text(tx.memo),
          occurredAt: timeOf(tx.created_at, receivedAt),
        },
      ];
    }
    case 'signup_success':
    case 'subscription_state_change':
    case 'subscription_product_change':
      return [subscriptionOf(payload, true)];
    case 'component_allocation_change': {
      const sub = obj(payload.subscription);
      const component = obj(payload.component);
      const componentId = need(component.id, 'payload[component][id]');
      return [
        {
          kind: 'subscription',
          provider: 'chargify',
          providerId: need(sub.id, 'payload[subscription][id]'),
          customer: null,
          components: { [componentId]: minorUnits(payload.new_allocation, 'payload[new_allocation]') },
        },
      ];
    }
    case 'refund_success':
      return [
        {
          kind: 'refund',
          provider: 'chargify',
          providerId: need(payload.refund_id, 'payload[refund_id]'),
          customer: { key: need(payload.customer_reference, 'payload[customer_reference]', REFERENCE_HINT) },
          paymentId: text(payload.payment_id),
          amount: minorUnits(payload.refund_amount_in_cents, 'payload[refund_amount_in_cents]'),
          currency: text(payload.currency),
          memo: text(payload.memo),
          occurredAt: timeOf(payload.timestamp, receivedAt),
        },
      ];
    default:
      return [];
  }
}
