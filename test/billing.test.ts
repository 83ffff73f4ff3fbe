import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';
import { chargifyBody } from './helpers/chargify.js';
import { applyBilling, BillingLookups } from '../src/billing/applyBilling.js';
import type { BillingChange } from '../src/billing/changes.js';

const FORM = 'application/x-www-form-urlencoded';

for (const dialect of DIALECTS) {
  describe(`customers and billing records (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let n = 0;
    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      assert.equal((await h.api('POST', '/v1/event-types/import', { catalog: 'billing' })).body.imported, 6);
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    /** A tenant with a Chargify source and an endpoint on the billing events. */
    async function setup() {
      const uid = `b${++n}`;
      await h.api('POST', '/v1/tenants', { name: uid, uid });
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'Chargify', secret: 'shared' })).body;
      // Ordered: the billing events arrive in the order they were recorded.
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, {
        url: `${rx.url}/billing-${uid}`,
        ordered: true,
        eventTypes: ['customer.created', 'transaction.recorded', 'subscription.created', 'subscription.updated', 'refund.recorded'],
      });
      let webhookId = 1000;
      const chargify = async (event: string, payload: Record<string, string | number>) => {
        const body = chargifyBody(++webhookId, event, payload);
        const r = await fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': FORM,
            'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'shared').update(body).digest('hex'),
          },
          body,
        });
        assert.equal(r.status, 200);
        return ((await r.json()) as { id: string }).id;
      };
      const settled = (id: string) =>
        eventually(async () => {
          const m = (await h.api('GET', `/v1/tenants/${uid}/inbound/${id}`)).body;
          return m.status !== 'received' && m;
        });
      const events = () => rx.received.filter((r) => r.path === `/billing-${uid}`).map((r) => JSON.parse(r.body));
      return { uid, src, chargify, settled, events };
    }

    const signup = (sub: number, key: string, product = 4442358) => ({
      'subscription.id': sub,
      'subscription.state': 'active',
      'subscription.currency': 'EUR',
      'subscription.customer.reference': key,
      'subscription.product.id': product,
      'subscription.product.name': 'Gold',
      'subscription.product.price_in_cents': 5000,
    });

    it('validates customers: kind, unique key, either a place id or the full address, custom data that merges', async () => {
      const { uid } = await setup();
      const person = await h.api('POST', `/v1/tenants/${uid}/customers`, {
        key: 'jane@example.com',
        kind: 'person',
        name: 'Jane Roe',
        email: 'jane@example.com',
        address: { placeId: 'ChIJN1t_tDeuEmsRUsoyG83frY4' },
        customData: { tier: 'gold', score: 7 },
      });
      assert.equal(person.status, 201);
      assert.deepEqual(person.body.address, { placeId: 'ChIJN1t_tDeuEmsRUsoyG83frY4' });
      const dup = await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'jane@example.com', kind: 'person' });
      assert.equal(dup.status, 409);
      const partial = await h.api('POST', `/v1/tenants/${uid}/customers`, {
        key: 'acme',
        kind: 'organization',
        address: { streetNumber: '1', streetName: 'Main', city: 'Boston', countryCode: 'US' },
      });
      assert.equal(partial.status, 400);
      assert.match(partial.body.error.message, /missing streetSuffix, postalCode, usTerritory/);
      const both = await h.api('POST', `/v1/tenants/${uid}/customers`, {
        key: 'acme',
        kind: 'organization',
        address: { placeId: 'x', city: 'Boston' },
      });
      assert.match(both.body.error.message, /either placeId alone or the full address/);
      assert.equal((await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'x', kind: 'robot' })).status, 400);
      const org = await h.api('POST', `/v1/tenants/${uid}/customers`, {
        key: 'acme',
        kind: 'organization',
        name: 'Acme Inc.',
        address: {
          streetNumber: '123',
          streetName: 'Anywhere',
          streetSuffix: 'St',
          unitNumber: '4',
          unitType: 'Suite',
          city: 'Boston',
          postalCode: '02120',
          countryCode: 'US',
          usTerritory: 'MA',
        },
      });
      assert.equal(org.status, 201);
      const patched = await h.api('PATCH', `/v1/tenants/${uid}/customers/jane@example.com`, { customData: { score: null, plan: 'pro' } });
      assert.deepEqual(patched.body.customData, { tier: 'gold', plan: 'pro' });
      assert.deepEqual((await h.api('GET', `/v1/tenants/${uid}/customers/${person.body.id}/custom-data`)).body, {
        customData: { tier: 'gold', plan: 'pro' },
      });
      const found = (await h.api('GET', `/v1/tenants/${uid}/customers?search=ACME`)).body.data;
      assert.deepEqual(
        found.map((c: { key: string }) => c.key),
        ['acme'],
      );
      assert.equal(
        (await h.api('GET', `/v1/tenants/${uid}/customers?search=${encodeURIComponent('%')}`)).body.data.length,
        0,
        'search text is literal, not a pattern',
      );
      const page1 = (await h.api('GET', `/v1/tenants/${uid}/customers?limit=1`)).body;
      const page2 = (await h.api('GET', `/v1/tenants/${uid}/customers?limit=1&cursor=${page1.nextCursor}`)).body;
      assert.deepEqual([page1.data[0].key, page2.data[0].key, page2.nextCursor], ['acme', 'jane@example.com', null]);
      assert.equal((await h.api('GET', `/v1/tenants/${uid}/customers?kind=person`)).body.data.length, 1);
    });

    it('records the seed’s Chargify flow under the customer whose key is the customer reference', async () => {
      const { uid, chargify, settled, events } = await setup();
      await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'acme-42', kind: 'organization', name: 'Acme' });
      await h.api('POST', `/v1/tenants/${uid}/plans`, { key: '4442358', name: 'Gold', amount: 5000, currency: 'EUR', period: 'month' });

      await settled(await chargify('signup_success', signup(16372192, 'acme-42')));
      await settled(
        await chargify('payment_success', {
          ...signup(16372192, 'acme-42'),
          'transaction.id': 173961106,
          'transaction.amount_in_cents': 5000,
          'transaction.memo': 'Signup payment',
          'transaction.created_at': '2026-11-20 11:50:55 -0500',
        }),
      );
      await settled(
        await chargify('component_allocation_change', {
          'subscription.id': 16372192,
          'component.id': 399853,
          'component.name': 'Seats',
          previous_allocation: 0,
          new_allocation: 10,
        }),
      );
      await settled(await chargify('subscription_state_change', { ...signup(16372192, 'acme-42'), 'subscription.state': 'past_due' }));
      await settled(
        await chargify('subscription_product_change', {
          ...signup(16372192, 'acme-42', 555),
          'subscription.state': 'past_due',
          'subscription.product.name': 'Platinum',
          'subscription.product.price_in_cents': 9000,
        }),
      );
      await settled(
        await chargify('refund_success', {
          subscription_id: 16372192,
          customer_reference: 'acme-42',
          payment_id: 173961106,
          refund_id: 2871,
          refund_amount_in_cents: 1500,
          memo: 'Partial refund',
        }),
      );

      const subs = (await h.api('GET', `/v1/tenants/${uid}/customers/acme-42/subscriptions`)).body.data;
      assert.equal(subs.length, 1);
      assert.deepEqual(
        {
          state: subs[0].state,
          productId: subs[0].productId,
          amount: subs[0].amount,
          currency: subs[0].currency,
          components: subs[0].components,
          plan: subs[0].plan,
          customerKey: subs[0].customerKey,
        },
        {
          state: 'past_due',
          productId: '555',
          amount: 9000,
          currency: 'EUR',
          components: { '399853': 10 },
          plan: null,
          customerKey: 'acme-42',
        },
      );
      // A plan created afterwards, keyed by the new product id, is linked to the subscription.
      const platinum = (await h.api('POST', `/v1/tenants/${uid}/plans`, { key: '555', name: 'Platinum' })).body;
      assert.equal((await h.api('GET', `/v1/tenants/${uid}/subscriptions?customer=acme-42`)).body.data[0].plan.id, platinum.id);

      const [txn] = (await h.api('GET', `/v1/tenants/${uid}/transactions`)).body.data;
      assert.deepEqual(
        {
          amount: txn.amount,
          currency: txn.currency,
          providerId: txn.providerId,
          subscriptionId: txn.subscriptionId,
          occurredAt: txn.occurredAt,
        },
        { amount: 5000, currency: 'EUR', providerId: '173961106', subscriptionId: subs[0].id, occurredAt: '2026-11-20T16:50:55.000Z' },
      );
      const [refund] = (await h.api('GET', `/v1/tenants/${uid}/customers/acme-42/refunds`)).body.data;
      assert.deepEqual(
        { amount: refund.amount, currency: refund.currency, transactionId: refund.transactionId },
        { amount: 1500, currency: 'EUR', transactionId: txn.id },
      );

      await rx.waitFor(() => events().length === 7);
      assert.deepEqual(
        events().map((e) => e.type),
        [
          'customer.created',
          'subscription.created',
          'transaction.recorded',
          'subscription.updated',
          'subscription.updated',
          'subscription.updated',
          'refund.recorded',
        ],
      );
      const allocation = events()[3].data;
      assert.deepEqual(
        { changed: allocation.changed, previous: allocation.previous },
        { changed: ['components'], previous: { components: {} } },
      );
    });

    it('links a payment that arrived before its signup to the subscription once the signup is recorded', async () => {
      const { uid, chargify, settled } = await setup();
      await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'early-pay', kind: 'organization' });
      // Chargify does not promise order: the payment of a signup may reach the source first.
      const pay = await settled(
        await chargify('payment_success', { ...signup(4711, 'early-pay'), 'transaction.id': 8801, 'transaction.amount_in_cents': 5000 }),
      );
      assert.equal(pay.status, 'processed');
      const before = (await h.api('GET', `/v1/tenants/${uid}/transactions`)).body.data;
      assert.deepEqual(
        before.map((t: { providerId: string; subscriptionId: string | null }) => [t.providerId, t.subscriptionId]),
        [['8801', null]],
      );
      // A payment of another subscription of the same customer stays with its own (none yet).
      await settled(
        await chargify('payment_success', { ...signup(4712, 'early-pay'), 'transaction.id': 8802, 'transaction.amount_in_cents': 100 }),
      );

      const sign = await settled(await chargify('signup_success', signup(4711, 'early-pay')));
      assert.equal(sign.status, 'processed');
      const sub = (await h.api('GET', `/v1/tenants/${uid}/subscriptions`)).body.data[0];
      assert.equal(sub.providerId, '4711');
      const txns = (await h.api('GET', `/v1/tenants/${uid}/customers/early-pay/transactions`)).body.data;
      assert.deepEqual(txns.map((t: { providerId: string; subscriptionId: string | null }) => [t.providerId, t.subscriptionId]).sort(), [
        ['8801', sub.id],
        ['8802', null],
      ]);
    });

    it('one processing batch looks a customer and a subscription up once, sees the subscription it created, and inserts its payments together', async () => {
      const { uid } = await setup();
      const customer = (await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'batch', kind: 'organization' })).body;
      const tenantId = (await h.api('GET', `/v1/tenants/${uid}`)).body.id as string;
      const now = Date.now();
      const payment = (providerId: string, amount: number): BillingChange => ({
        kind: 'transaction',
        provider: 'chargify',
        providerId,
        customer: { key: 'batch' },
        subscriptionProviderId: '5001',
        amount,
        currency: 'USD',
        memo: null,
        occurredAt: now,
      });
      // As the processor runs a batch: the messages in order, in one transaction, sharing their
      // lookups and their payments' insert, which goes in before the events are taken.
      const seen = new BillingLookups();
      const outcomes = await h.herald.db.tx(async (q) => {
        const applied = [
          await applyBilling(q, tenantId, [payment('9901', 100)], seen),
          await applyBilling(
            q,
            tenantId,
            [{ kind: 'subscription', provider: 'chargify', providerId: '5001', customer: { key: 'batch' }, state: 'active' }],
            seen,
          ),
          await applyBilling(q, tenantId, [payment('9902', 200)], seen),
          await applyBilling(
            q,
            tenantId,
            [
              {
                kind: 'refund',
                provider: 'chargify',
                providerId: 'r1',
                customer: { key: 'batch' },
                paymentId: '9902',
                amount: 50,
                currency: null,
                memo: 'partial',
                occurredAt: now,
              },
            ],
            seen,
          ),
          await applyBilling(q, tenantId, [payment('9902', 200)], seen),
          await applyBilling(q, tenantId, [payment('9903', 300)], seen),
          await applyBilling(q, tenantId, [payment('9903', 300)], seen),
        ];
        await seen.flush(q);
        return applied.map((o) => ({ ...o, events: seen.announced(o.events) }));
      });
      assert.deepEqual(
        outcomes.map((o) => o.events.map((e) => e.type)),
        [
          ['transaction.recorded'],
          ['subscription.created'],
          ['transaction.recorded'],
          ['refund.recorded'],
          [],
          ['transaction.recorded'],
          [],
        ],
        'a payment seen before (here, earlier in the same batch) records nothing and announces nothing',
      );
      const sub = (await h.api('GET', `/v1/tenants/${uid}/subscriptions`)).body.data[0];
      const txns = (await h.api('GET', `/v1/tenants/${uid}/customers/batch/transactions`)).body.data;
      assert.deepEqual(txns.map((t: { providerId: string; subscriptionId: string | null }) => [t.providerId, t.subscriptionId]).sort(), [
        ['9901', sub.id],
        ['9902', sub.id],
        ['9903', sub.id],
      ]);
      const last = JSON.parse(outcomes[5].events[0].payload).transaction;
      assert.deepEqual(
        last,
        txns.find((t: { providerId: string }) => t.providerId === '9903'),
        'queued after the refund, written at the flush',
      );
      // The events carry the records as the API shows them, built from the inserted rows.
      const recorded = JSON.parse(outcomes[2].events[0].payload).transaction;
      assert.deepEqual(
        recorded,
        txns.find((t: { providerId: string }) => t.providerId === '9902'),
      );
      assert.equal(recorded.customerKey, 'batch');
      assert.equal(recorded.customerId, customer.id);
      const refund = JSON.parse(outcomes[3].events[0].payload).refund;
      assert.deepEqual(refund, (await h.api('GET', `/v1/tenants/${uid}/refunds`)).body.data[0]);
      assert.equal(refund.currency, 'USD', 'the refunded payment’s currency');
    });

    it('holds events for an unknown customer as unmatched and applies them in order once the customer exists', async () => {
      const { uid, chargify, settled, events } = await setup();
      // The allocation arrives before its signup, the signup and payment before the customer.
      const alloc = await settled(
        await chargify('component_allocation_change', { 'subscription.id': 9, 'component.id': 1, new_allocation: 3 }),
      );
      const sign = await settled(await chargify('signup_success', signup(9, 'late-co')));
      const pay = await settled(
        await chargify('payment_success', { ...signup(9, 'late-co'), 'transaction.id': 91, 'transaction.amount_in_cents': 700 }),
      );
      assert.deepEqual([alloc.status, sign.status, pay.status], ['unmatched', 'unmatched', 'unmatched']);
      assert.match(alloc.reason, /no chargify subscription 9 recorded yet/);
      assert.match(sign.reason, /no customer with key "late-co"/);
      assert.equal(sign.waitingFor, 'customer:late-co');
      assert.equal((await h.api('GET', `/v1/tenants/${uid}/inbound?status=unmatched`)).body.data.length, 3);

      await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'late-co', kind: 'organization' });
      await eventually(
        async () =>
          (await h.api('GET', `/v1/tenants/${uid}/inbound?status=unmatched`)).body.data.length === 0 &&
          (await h.api('GET', `/v1/tenants/${uid}/inbound?status=received`)).body.data.length === 0,
      );
      const sub = (await h.api('GET', `/v1/tenants/${uid}/subscriptions`)).body.data[0];
      assert.deepEqual(sub.components, { '1': 3 });
      const txn = (await h.api('GET', `/v1/tenants/${uid}/transactions`)).body.data[0];
      assert.equal(txn.subscriptionId, sub.id, 'the payment was applied after its signup');
      await rx.waitFor(() => events().length === 4);
      assert.deepEqual(
        events().map((e) => e.type),
        ['customer.created', 'subscription.created', 'transaction.recorded', 'subscription.updated'],
      );
    });

    it('refuses a Chargify webhook that names no customer, keeping it as failed with what to fix', async () => {
      const { uid, chargify, settled } = await setup();
      const m = await settled(
        await chargify('payment_success', { 'subscription.id': 1, 'transaction.id': 2, 'transaction.amount_in_cents': 5 }),
      );
      assert.equal(m.status, 'failed');
      assert.match(m.reason, /customer\]\[reference\] is missing; set the customer reference in Chargify/);
      const bad = await settled(
        await chargify('payment_success', { ...signup(1, 'k'), 'transaction.id': 3, 'transaction.amount_in_cents': '12.50' }),
      );
      assert.match(bad.reason, /not an amount in minor units/);
      const nul = await settled(
        await chargify('payment_success', { ...signup(1, 'k\u0000'), 'transaction.id': 4, 'transaction.amount_in_cents': 5 }),
      );
      assert.deepEqual([nul.status, nul.reason], ['failed', 'a field holds a NUL character, which cannot be a key, id or memo']);
      assert.ok((await h.api('GET', `/v1/tenants/${uid}/inbound/${m.id}`)).body.eventId, 'it was forwarded all the same');
    });

    it('Stripe: learns the customer key from customer events and records charges, subscriptions and refunds', async () => {
      const uid = `s${++n}`;
      await h.api('POST', '/v1/tenants', { name: uid, uid });
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'stripe', name: 'Stripe', secret: 'whsec_stripe' })).body;
      let seq = 0;
      const stripe = async (type: string, object: Record<string, unknown>) => {
        const body = JSON.stringify({ id: `evt_${++seq}`, type, created: 1763900000, data: { object } });
        const t = Math.floor(Date.now() / 1000);
        const r = await fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'stripe-signature': `t=${t},v1=${createHmac('sha256', 'whsec_stripe').update(`${t}.${body}`).digest('hex')}`,
          },
          body,
        });
        assert.equal(r.status, 200);
        const id = ((await r.json()) as { id: string }).id;
        return eventually(async () => {
          const m = (await h.api('GET', `/v1/tenants/${uid}/inbound/${id}`)).body;
          return m.status !== 'received' && m;
        });
      };
      await h.api('POST', `/v1/tenants/${uid}/customers`, { key: 'key-7', kind: 'person' });
      const early = await stripe('charge.succeeded', { id: 'ch_1', amount: 2500, currency: 'usd', customer: 'cus_7' });
      assert.equal(early.status, 'unmatched');
      assert.equal(early.waitingFor, 'provider-customer:stripe:cus_7');
      await stripe('customer.created', { id: 'cus_7', metadata: { customer_key: 'key-7' } });
      await eventually(async () => (await h.api('GET', `/v1/tenants/${uid}/transactions`)).body.data.length === 1);
      await stripe('customer.subscription.created', {
        id: 'sub_1',
        customer: 'cus_7',
        status: 'trialing',
        items: { data: [{ price: { id: 'price_1', product: 'prod_9', unit_amount: 1200, currency: 'usd' } }] },
      });
      await stripe('customer.subscription.deleted', {
        id: 'sub_1',
        customer: 'cus_7',
        status: 'canceled',
        items: { data: [{ price: { id: 'price_1', product: 'prod_9', unit_amount: 1200, currency: 'usd' } }] },
      });
      await stripe('invoice.payment_succeeded', {
        id: 'in_1',
        amount_paid: 1200,
        currency: 'usd',
        customer: 'cus_7',
        subscription: 'sub_1',
      });
      await stripe('charge.refunded', {
        id: 'ch_1',
        amount: 2500,
        amount_refunded: 500,
        currency: 'usd',
        customer: 'cus_7',
        refunds: { data: [{ id: 're_1', amount: 500, reason: 'requested_by_customer', created: 1763900100 }] },
      });

      const txns = (await h.api('GET', `/v1/tenants/${uid}/customers/key-7/transactions`)).body.data;
      assert.deepEqual(
        txns.map((t: { providerId: string; amount: number; currency: string }) => [t.providerId, t.amount, t.currency]),
        [
          ['in_1', 1200, 'USD'],
          ['ch_1', 2500, 'USD'],
        ],
      );
      const sub = (await h.api('GET', `/v1/tenants/${uid}/subscriptions`)).body.data[0];
      assert.deepEqual([sub.state, sub.productId, sub.amount], ['canceled', 'prod_9', 1200]);
      assert.equal(txns[0].subscriptionId, sub.id);
      const refund = (await h.api('GET', `/v1/tenants/${uid}/refunds`)).body.data[0];
      assert.deepEqual([refund.providerId, refund.amount, refund.transactionId], ['re_1', 500, txns[1].id]);

      // Deleting the tenant takes its sources, messages, customers and records with it.
      assert.equal((await h.api('DELETE', `/v1/tenants/${uid}`)).status, 204);
      assert.equal((await fetch(`${h.url}/in/${src.id}`, { method: 'POST', body: '{}' })).status, 404);
    });
  });
}
