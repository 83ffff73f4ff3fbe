import type { Catalog } from './catalog.js';

// The events Herald sends when a customer or a billing record changes: customers through the API,
// billing records from Chargify or Stripe webhooks received at a source. Each carries the whole
// record as the API shows it, so a receiver needs no second call.

const customer = {
  id: 'cus_01jf3k9z0000abcdefghjkmn',
  tenantId: 'ten_01jf3k8y0000abcdefghjkmn',
  key: 'acme-42',
  kind: 'organization',
  name: 'Acme Inc.',
  email: 'billing@acme.example',
  profile: {},
  address: { placeId: 'ChIJN1t_tDeuEmsRUsoyG83frY4' },
  customData: { tier: 'gold' },
  createdAt: '2026-11-23T09:00:00.000Z',
  updatedAt: '2026-11-23T09:00:00.000Z',
};
const subscription = {
  id: 'sub_01jf3kb20000abcdefghjkmn',
  customerId: customer.id,
  customerKey: customer.key,
  provider: 'chargify',
  providerId: '16372192',
  productId: '4442358',
  productName: 'Gold Product',
  plan: { id: 'plan_01jf3k9a0000abcdefghjkmn', key: '4442358', name: 'Gold' },
  state: 'active',
  amount: 5000,
  currency: 'USD',
  components: { '399853': 10 },
  createdAt: '2026-11-23T09:01:00.000Z',
  updatedAt: '2026-11-23T09:01:00.000Z',
};
const transaction = {
  id: 'txn_01jf3kc30000abcdefghjkmn',
  customerId: customer.id,
  customerKey: customer.key,
  subscriptionId: subscription.id,
  provider: 'chargify',
  providerId: '173961106',
  amount: 5000,
  currency: 'USD',
  memo: 'Gold Product: Renewal payment',
  occurredAt: '2026-11-23T09:02:00.000Z',
  createdAt: '2026-11-23T09:02:01.000Z',
};
const refund = {
  id: 'rfd_01jf3kd40000abcdefghjkmn',
  customerId: customer.id,
  customerKey: customer.key,
  transactionId: transaction.id,
  paymentId: '173961106',
  provider: 'chargify',
  providerId: '2871',
  amount: 1500,
  currency: 'USD',
  memo: 'Partial refund',
  occurredAt: '2026-11-24T10:00:00.000Z',
  createdAt: '2026-11-24T10:00:01.000Z',
};

export const billing: Catalog = {
  name: 'billing',
  description: 'Customers and the billing records Herald keeps for them (from Chargify and Stripe webhooks).',
  types: [
    {
      name: 'customer.created',
      title: 'Customer created',
      description:
        'A customer (person or organization) was created. Billing webhooks held as unmatched for its key are applied right after.',
      fields: [
        {
          name: 'customer',
          type: 'object',
          description: 'The customer, as GET /v1/tenants/:tenant/customers/:id shows it.',
          required: true,
        },
      ],
      example: { customer },
    },
    {
      name: 'customer.updated',
      title: 'Customer updated',
      description: 'A customer was changed (its key, profile, address or custom data).',
      fields: [{ name: 'customer', type: 'object', description: 'The customer after the change.', required: true }],
      example: { customer: { ...customer, customData: { tier: 'platinum' } } },
    },
    {
      name: 'transaction.recorded',
      title: 'Transaction recorded',
      description:
        'A payment was recorded under a customer (Chargify payment_success; Stripe charge.succeeded or invoice.payment_succeeded).',
      fields: [
        {
          name: 'transaction',
          type: 'object',
          description: 'The transaction: amount in minor units, currency, customer, subscription.',
          required: true,
        },
      ],
      example: { transaction },
    },
    {
      name: 'subscription.created',
      title: 'Subscription created',
      description:
        "A subscription was recorded under a customer (Chargify signup_success; Stripe customer.subscription.created). `plan` is the tenant's plan whose key is the product id.",
      fields: [{ name: 'subscription', type: 'object', description: 'The subscription.', required: true }],
      example: { subscription },
    },
    {
      name: 'subscription.updated',
      title: 'Subscription updated',
      description:
        'A subscription changed state, product or component allocation (Chargify subscription_state_change, subscription_product_change, component_allocation_change; Stripe customer.subscription.updated or deleted).',
      fields: [
        { name: 'subscription', type: 'object', description: 'The subscription after the change.', required: true },
        { name: 'changed', type: 'array', description: 'Names of the fields that changed.', required: true },
        { name: 'previous', type: 'object', description: 'Their values before the change.', required: true },
      ],
      example: { subscription: { ...subscription, state: 'past_due' }, changed: ['state'], previous: { state: 'active' } },
    },
    {
      name: 'refund.recorded',
      title: 'Refund recorded',
      description: 'A refund was recorded against a payment (Chargify refund_success; Stripe charge.refunded).',
      fields: [
        {
          name: 'refund',
          type: 'object',
          description: 'The refund: amount in minor units, the refunded transaction when Herald has it.',
          required: true,
        },
      ],
      example: { refund },
    },
  ],
};
