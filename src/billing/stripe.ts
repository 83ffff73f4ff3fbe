import { type BillingChange, type CustomerRef, BillingRefused, minorUnits, timeOf } from './changes.js';

// Stripe's events: charge.succeeded and invoice.payment_succeeded record a transaction,
// customer.subscription.created/updated/deleted a subscription, charge.refunded a refund. The
// customer key is the Stripe customer's metadata.customer_key. Events about charges carry only the
// customer's id (cus_…), so Herald learns which key an id stands for from customer.created and
// customer.updated events, from an expanded customer object, or from the object's own
// metadata.customer_key. Amounts are already in minor units; currencies are lower case ("usd").

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function customerOf(o: Obj): CustomerRef {
  const ownKey = text(obj(o.metadata).customer_key);
  if (ownKey) return { key: ownKey };
  const customer = o.customer;
  if (customer && typeof customer === 'object') {
    const key = text(obj(obj(customer).metadata).customer_key);
    if (key) return { key };
    const id = text(obj(customer).id);
    if (id) return { provider: 'stripe', externalId: id };
  }
  const id = text(customer);
  if (!id) throw new BillingRefused('the object has no customer; Herald cannot tell whose it is');
  return { provider: 'stripe', externalId: id };
}

const currencyOf = (o: Obj) => (text(o.currency) ?? 'usd').toUpperCase();

/** The billing changes of one Stripe event ({id, type, data: {object}}); none for other types. */
export function stripeChanges(event: Obj, receivedAt: number): BillingChange[] {
  const o = obj(obj(event.data).object);
  const created = timeOf(o.created ?? event.created, receivedAt);
  const id = (field: string) => {
    const v = text(o[field]);
    if (!v) throw new BillingRefused(`data.object.${field} is missing`);
    return v;
  };
  switch (event.type) {
    case 'customer.created':
    case 'customer.updated': {
      const key = text(obj(o.metadata).customer_key);
      return key ? [{ kind: 'customer-link', provider: 'stripe', externalId: id('id'), customerKey: key }] : [];
    }
    case 'charge.succeeded':
      return [
        {
          kind: 'transaction',
          provider: 'stripe',
          providerId: id('id'),
          customer: customerOf(o),
          subscriptionProviderId: null,
          amount: minorUnits(o.amount, 'data.object.amount'),
          currency: currencyOf(o),
          memo: text(o.description),
          occurredAt: created,
        },
      ];
    case 'invoice.payment_succeeded':
      return [
        {
          kind: 'transaction',
          provider: 'stripe',
          providerId: id('id'),
          customer: customerOf(o),
          subscriptionProviderId: text(o.subscription),
          amount: minorUnits(o.amount_paid, 'data.object.amount_paid'),
          currency: currencyOf(o),
          memo: text(o.description),
          occurredAt: created,
        },
      ];
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted': {
      const item = obj(((obj(o.items).data as unknown[]) ?? [])[0]);
      const price = obj(item.price ?? item.plan);
      return [
        {
          kind: 'subscription',
          provider: 'stripe',
          providerId: id('id'),
          customer: customerOf(o),
          productId: text(price.product) ?? text(price.id),
          productName: text(price.nickname),
          state: event.type === 'customer.subscription.deleted' ? 'canceled' : (text(o.status) ?? 'active'),
          amount: price.unit_amount === undefined || price.unit_amount === null ? null : minorUnits(price.unit_amount, 'price.unit_amount'),
          currency: text(price.currency)?.toUpperCase() ?? currencyOf(o),
        },
      ];
    }
    case 'charge.refunded': {
      // One charge may be refunded in parts; each refund event carries the latest refund first.
      const refunds = ((obj(o.refunds).data as unknown[]) ?? []).map(obj);
      const latest = refunds[0];
      return [
        {
          kind: 'refund',
          provider: 'stripe',
          providerId: latest ? (text(latest.id) ?? `${id('id')}:${String(o.amount_refunded)}`) : `${id('id')}:${String(o.amount_refunded)}`,
          customer: customerOf(o),
          paymentId: id('id'),
          amount: latest ? minorUnits(latest.amount, 'refund amount') : minorUnits(o.amount_refunded, 'data.object.amount_refunded'),
          currency: currencyOf(o),
          memo: latest ? text(latest.reason) : null,
          occurredAt: latest ? timeOf(latest.created, created) : created,
        },
      ];
    }
    default:
      return [];
  }
}
