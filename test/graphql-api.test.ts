import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { createHmac } from 'node:crypto';
import { totpCode } from '../src/accounts/totp.js';
import { chargifyBody } from './helpers/chargify.js';
import { authed, gql, LOG_IN, logInAs } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// The operations a person performs through GraphQL, end to end over real HTTP: the getting-started
// flow of customers (person, address by place id and in full, custom data, search), endpoints with
// a test event reaching a real receiver, events with their deliveries and attempts, resend, the
// report, and the operators' audit log.
for (const dialect of DIALECTS) {
  describe(`GraphQL API (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let op: string;
    let tenantKey: string;
    let tenantId: string;
    before(async () => {
      // Failures are part of these tests: no circuit opening in the middle of them.
      // Tenant sessions create endpoints on this machine's receiver: the sandbox lets tenants use
      // loopback addresses only when the operator allows it (HERALD_SANDBOX_TENANT_PRIVATE).
      h = await startHerald(dialect, { HERALD_RETRY_SCHEDULE: '0.1', HERALD_CIRCUIT_THRESHOLD: '100', HERALD_SANDBOX_TENANT_PRIVATE: '1' });
      rx = await new Receiver((r) => (r.path.startsWith('/fail') ? { status: 500, body: 'no' } : { status: 200, body: 'ok' })).start();
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      tenantId = (await h.api('POST', '/v1/tenants', { name: 'Acme', uid: 'acme' })).body.id;
      op = await logInAs(h);
      tenantKey = await logInAs(h, { role: 'tenant', tenantId });
    });
    after(async () => {
      await rx?.stop();
      await h?.close();
    });

    const ok = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
      const r = await authed(h, key, query, variables);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data;
    };
    const code = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code;

    const CUSTOMER =
      'id key kind name email address { placeId streetNumber streetName streetSuffix unitNumber unitType city postalCode countryCode usTerritory } customData';

    it('viewer and tenants: a tenant session sees its own tenant only', async () => {
      const v = (await ok(tenantKey, '{ viewer { role environment tenant { id uid } } }')).viewer;
      assert.deepEqual(v, { role: 'TENANT', environment: 'SANDBOX', tenant: { id: tenantId, uid: 'acme' } });
      await h.api('POST', '/v1/tenants', { name: 'Other', uid: 'other' });
      const mine = (await ok(tenantKey, '{ tenants { nodes { id uid name } pageInfo { hasNextPage endCursor } } }')).tenants;
      assert.deepEqual(mine.nodes, [{ id: tenantId, uid: 'acme', name: 'Acme' }]);
      const all = (await ok(op, '{ tenants(first: 1) { nodes { uid } pageInfo { hasNextPage endCursor } } }')).tenants;
      assert.equal(all.nodes.length, 1);
      assert.equal(all.pageInfo.hasNextPage, true);
      const next = (
        await ok(op, 'query($after: String) { tenants(first: 1, after: $after) { nodes { uid } } }', { after: all.pageInfo.endCursor })
      ).tenants;
      assert.notEqual(next.nodes[0].uid, all.nodes[0].uid);
      // Cursors are opaque and belong to their list: a raw id, garbage, or another list's cursor is refused.
      assert.ok(!all.nodes.some((n: { uid: string }) => all.pageInfo.endCursor.includes(n.uid)));
      const customersPage = (await ok(op, '{ customers(tenant: "acme", first: 1) { pageInfo { endCursor } } }')).customers;
      for (const after of ['garbage', tenantId, customersPage.pageInfo.endCursor ?? 'aaa']) {
        const r = await authed(h, op, 'query($after: String) { tenants(first: 1, after: $after) { nodes { uid } } }', { after });
        assert.equal(r.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${after}: ${JSON.stringify(r.body)}`);
      }
    });

    it('the getting-started flow: createPerson, saveAddress (place id, then full), saveCustomData, customData, customers search', async () => {
      const person = (
        await ok(tenantKey, `mutation($input: PersonInput!) { createPerson(input: $input) { ${CUSTOMER} } }`, {
          input: { key: 'cust-1', name: 'Ana Lima', email: 'ana@example.com' },
        })
      ).createPerson;
      assert.equal(person.kind, 'PERSON');
      assert.equal(person.key, 'cust-1');
      assert.equal(person.address, null);
      const org = (
        await ok(op, `mutation { createOrganization(tenant: "acme", input: {key: "org-1", name: "Lima Holdings"}) { ${CUSTOMER} } }`)
      ).createOrganization;
      assert.equal(org.kind, 'ORGANIZATION');

      const byPlace = (
        await ok(
          tenantKey,
          `mutation($id: ID!) { saveAddress(customerId: $id, input: {placeId: "ChIJN1t_tDeuEmsRUsoyG83frY4"}) { address { placeId city } } }`,
          { id: person.id },
        )
      ).saveAddress;
      assert.deepEqual(byPlace.address, { placeId: 'ChIJN1t_tDeuEmsRUsoyG83frY4', city: null });
      const full = {
        streetNumber: '350',
        streetName: 'Fifth',
        streetSuffix: 'Ave',
        unitNumber: '21',
        unitType: 'Suite',
        city: 'New York',
        postalCode: '10118',
        countryCode: 'US',
        usTerritory: 'NY',
      };
      const inFull = (
        await ok(
          tenantKey,
          `mutation($id: ID!, $a: AddressInput!) { saveAddress(customerId: $id, input: $a) { address { placeId streetNumber streetName streetSuffix unitNumber unitType city postalCode countryCode usTerritory } } }`,
          { id: person.id, a: full },
        )
      ).saveAddress;
      assert.deepEqual(inFull.address, { placeId: null, ...full });
      const missing = await authed(
        h,
        tenantKey,
        `mutation($id: ID!) { saveAddress(customerId: $id, input: {streetName: "Fifth"}) { id } }`,
        { id: person.id },
      );
      assert.equal(code(missing), 'BAD_USER_INPUT');
      assert.match(missing.body.errors[0].message, /missing streetNumber/);

      await ok(tenantKey, `mutation($id: ID!) { saveCustomData(customerId: $id, data: {tier: "gold", score: 7}) { id } }`, {
        id: person.id,
      });
      const merged = (
        await ok(tenantKey, `mutation($id: ID!, $d: JSON!) { saveCustomData(customerId: $id, data: $d) { customData } }`, {
          id: person.id,
          d: { score: null, since: 2020 },
        })
      ).saveCustomData;
      assert.deepEqual(merged.customData, { tier: 'gold', since: 2020 });
      assert.deepEqual((await ok(tenantKey, 'query($id: ID!) { customData(customerId: $id) }', { id: person.id })).customData, {
        tier: 'gold',
        since: 2020,
      });
      assert.deepEqual(
        (await ok(op, 'query { customData(tenant: "acme", customerId: "cust-1") }')).customData,
        { tier: 'gold', since: 2020 },
        'by key within a tenant',
      );
      const one = (await ok(tenantKey, `query($id: ID!) { customer(customerId: $id) { ${CUSTOMER} } }`, { id: person.id })).customer;
      assert.deepEqual(
        { key: one.key, city: one.address.city, customData: one.customData },
        { key: 'cust-1', city: 'New York', customData: { tier: 'gold', since: 2020 } },
      );

      const found = (await ok(tenantKey, `{ customers(search: "LIMA") { nodes { ${CUSTOMER} } pageInfo { hasNextPage endCursor } } }`))
        .customers;
      assert.deepEqual(found.nodes.map((c: any) => c.key).sort(), ['cust-1', 'org-1']);
      const persons = (
        await ok(tenantKey, '{ customers(search: "lima", kind: PERSON) { nodes { key address { usTerritory } customData } } }')
      ).customers;
      assert.deepEqual(persons.nodes, [{ key: 'cust-1', address: { usTerritory: 'NY' }, customData: { tier: 'gold', since: 2020 } }]);

      // REST sees the same customer, and the change was announced like a REST change.
      const rest = (await h.api('GET', '/v1/tenants/acme/customers/cust-1')).body;
      assert.equal(rest.address.city, 'New York');
      const announced = (await h.api('GET', '/v1/tenants/acme/events?type=customer.created')).body.data;
      assert.ok(announced.length >= 2, 'customer.created announced for each');
    });

    it('a customer key taken is CONFLICT; an operator without a tenant is told to name one', async () => {
      const dup = await authed(h, tenantKey, 'mutation { createPerson(input: {key: "cust-1"}) { id } }');
      assert.equal(code(dup), 'CONFLICT');
      const none = await authed(h, op, '{ customers { nodes { id } } }');
      assert.equal(code(none), 'BAD_USER_INPUT');
      assert.match(none.body.errors[0].message, /name the tenant/);
    });

    let endpointId: string;
    it('eventTypes, createEndpoint, updateEndpoint and sendTestEvent reaching a real receiver', async () => {
      const types = (await ok(tenantKey, '{ eventTypes { name description schema example } }')).eventTypes;
      const kyc = types.find((t: any) => t.name === 'KycUpdate');
      assert.ok(kyc && kyc.example && kyc.schema);
      const created = (
        await ok(
          tenantKey,
          `mutation($url: String!) { createEndpoint(input: {url: $url, eventTypes: ["KycUpdate"], format: PRODUCTFY}) { endpoint { id url eventTypes enabled format } secret } }`,
          { url: `${rx.url}/ok` },
        )
      ).createEndpoint;
      assert.match(created.secret, /^whsec_/);
      assert.deepEqual(
        { ...created.endpoint, id: undefined },
        { id: undefined, url: `${rx.url}/ok`, eventTypes: ['KycUpdate'], enabled: true, format: 'PRODUCTFY' },
      );
      endpointId = created.endpoint.id;
      const listed = (await ok(tenantKey, '{ endpoints { id url eventTypes enabled format } }')).endpoints;
      assert.deepEqual(
        listed.map((e: any) => e.id),
        [endpointId],
      );
      const updated = (
        await ok(tenantKey, `mutation($id: ID!) { updateEndpoint(id: $id, input: {format: STANDARD}) { format eventTypes } }`, {
          id: endpointId,
        })
      ).updateEndpoint;
      assert.deepEqual(updated, { format: 'STANDARD', eventTypes: ['KycUpdate'] });
      const bad = await authed(h, tenantKey, 'mutation { createEndpoint(input: {url: "ftp://example.com/x"}) { secret } }');
      assert.equal(code(bad), 'BAD_USER_INPUT');

      const before = rx.received.length;
      const sent = (
        await ok(tenantKey, `mutation($id: ID!) { sendTestEvent(endpointId: $id, eventType: "KycUpdate") { eventId } }`, { id: endpointId })
      ).sendTestEvent;
      assert.match(sent.eventId, /^evt_/);
      await rx.waitFor(
        (r) => r.length > before && r.some((x) => x.body.includes(sent.eventId) || x.headers['webhook-id'] !== undefined),
        10_000,
        'the test event',
      );
      const got = rx.received.slice(before).find((x) => x.path === '/ok');
      assert.ok(got, 'the receiver got the test event');
      assert.equal(JSON.parse(got.body).type, 'KycUpdate');
    });

    it('events with deliveries and attempts, filtered by type and status; resendDelivery sends again', async () => {
      const failing = (
        await ok(
          tenantKey,
          `mutation($url: String!) { createEndpoint(input: {url: $url, eventTypes: ["KycUpdate"]}) { endpoint { id } } }`,
          { url: `${rx.url}/fail` },
        )
      ).createEndpoint.endpoint.id;
      const post = await h.api('POST', '/v1/tenants/acme/events', { type: 'KycUpdate', payload: { personId: 'p-1', kycStatus: 'P' } });
      assert.equal(post.status, 202, JSON.stringify(post.body));
      const sent = post.body;
      const Q = `query($status: EventStatus) { events(type: "KycUpdate", status: $status, first: 10) { nodes { id type status createdAt deliveries { id endpointId status attempts { statusCode durationMs } } } pageInfo { hasNextPage } } }`;
      const event = await eventually(
        async () => {
          const e = (await ok(tenantKey, Q, { status: 'F' })).events.nodes.find((n: any) => n.id === sent.id);
          return e;
        },
        15_000,
        'the event to fail on the failing endpoint',
      );
      assert.equal(event.status, 'F');
      const okD = event.deliveries.find((d: any) => d.endpointId === endpointId);
      const failD = event.deliveries.find((d: any) => d.endpointId === failing);
      assert.equal(okD.status, 'S');
      assert.deepEqual(
        okD.attempts.map((a: any) => a.statusCode),
        [200],
      );
      assert.equal(failD.status, 'F');
      assert.deepEqual(
        failD.attempts.map((a: any) => a.statusCode),
        [500, 500],
      );
      assert.ok(failD.attempts.every((a: any) => Number.isInteger(a.durationMs) && a.durationMs >= 0));

      const before = rx.received.filter((r) => r.path === '/ok').length;
      const resent = (await ok(tenantKey, 'mutation($id: ID!) { resendDelivery(id: $id) { id status } }', { id: okD.id })).resendDelivery;
      assert.deepEqual(resent, { id: okD.id, status: 'I' });
      await rx.waitFor((r) => r.filter((x) => x.path === '/ok').length > before, 10_000, 'the resent delivery');
      // Disable the failing endpoint: its later deliveries fail at once, which keeps the report below exact.
      await ok(tenantKey, 'mutation($id: ID!) { updateEndpoint(id: $id, input: {enabled: false}) { enabled } }', { id: failing });
    });

    it('endpointSecret and rotateEndpointSecret are audited; recoverEndpoint starts a recovery; sources and inboundMessages', async () => {
      const first = (await ok(tenantKey, 'query($id: ID!) { endpointSecret(endpointId: $id) }', { id: endpointId })).endpointSecret;
      assert.match(first, /^whsec_/);
      const rotated = (await ok(tenantKey, 'mutation($id: ID!) { rotateEndpointSecret(endpointId: $id) }', { id: endpointId }))
        .rotateEndpointSecret;
      assert.notEqual(rotated, first);
      assert.equal(
        (await ok(tenantKey, 'query($id: ID!) { endpointSecret(endpointId: $id) }', { id: endpointId })).endpointSecret,
        rotated,
      );
      const audit = (await ok(op, '{ auditLog(first: 100) { nodes { action target details } } }')).auditLog.nodes;
      assert.equal(audit.filter((e: any) => e.action === 'endpoint.secret_revealed' && e.target === endpointId).length, 2);
      assert.equal(audit.filter((e: any) => e.action === 'endpoint.secret_rotated' && e.target === endpointId).length, 1);
      assert.ok(!JSON.stringify(audit).includes(rotated) && !JSON.stringify(audit).includes(first), 'no secret in the audit log');

      const recovery = (
        await ok(
          tenantKey,
          'mutation($id: ID!) { recoverEndpoint(endpointId: $id, since: "2020-01-01T00:00:00Z") { id endpointId status total done } }',
          { id: endpointId },
        )
      ).recoverEndpoint;
      assert.equal(recovery.endpointId, endpointId);
      assert.match(recovery.id, /^rcv_/);
      assert.ok(['RUNNING', 'DONE'].includes(recovery.status));

      const source = (await h.api('POST', '/v1/tenants/acme/sources', { provider: 'token', name: 'in', secret: 'token-0123456789' })).body;
      const sources = (await ok(tenantKey, '{ sources { id provider name url enabled } }')).sources;
      assert.deepEqual(
        sources.map((x: any) => [x.id, x.provider, x.url.endsWith(`/in/${source.id}`)]),
        [[source.id, 'token', true]],
      );
      const sent = await fetch(`${h.url}/in/${source.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"hello":"world"}',
      });
      assert.ok(sent.status >= 400, 'no token: refused and stored as rejected');
      const messages = (await ok(tenantKey, '{ inboundMessages(status: "rejected") { nodes { id sourceId status reason } } }'))
        .inboundMessages.nodes;
      assert.equal(messages.length, 1);
      assert.equal(messages[0].sourceId, source.id);
      assert.equal(messages[0].status, 'REJECTED');
      assert.equal(
        (await authed(h, tenantKey, '{ inboundMessages(status: "lost") { nodes { id } } }')).body.errors[0].extensions.code,
        'BAD_USER_INPUT',
      );

      const billing = (
        await ok(
          tenantKey,
          '{ customers(search: "cust-1") { nodes { subscriptions { nodes { id } } transactions { nodes { amount } } refunds { nodes { amount } pageInfo { hasNextPage } } } } }',
        )
      ).customers.nodes;
      assert.deepEqual(billing, [
        { subscriptions: { nodes: [] }, transactions: { nodes: [] }, refunds: { nodes: [], pageInfo: { hasNextPage: false } } },
      ]);
    });

    it('report: accepted, delivered, failed and latency per hour, with totals', async () => {
      const other = (await h.api('POST', '/v1/tenants', { name: 'Report', uid: 'report' })).body;
      const key = await logInAs(h, { role: 'tenant', tenantId: other.id });
      await ok(key, `mutation($url: String!) { createEndpoint(input: {url: $url}) { secret } }`, { url: `${rx.url}/ok-report` });
      await ok(key, `mutation($url: String!) { createEndpoint(input: {url: $url}) { secret } }`, { url: `${rx.url}/fail-report` });
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await h.api('POST', '/v1/tenants/report/events', { type: 'KycUpdate', payload: { personId: `p-${i}`, kycStatus: 'P' } })).status,
          202,
        );
      await eventually(
        async () => {
          const e = (await ok(key, '{ events { nodes { status } } }')).events.nodes;
          return e.length === 3 && e.every((n: any) => n.status === 'F');
        },
        15_000,
        'every event finished',
      );
      const r = (
        await ok(
          key,
          '{ report(bucket: HOUR) { buckets { start accepted delivered failed p50Ms p99Ms } totals { accepted delivered failed p50Ms p99Ms } } }',
        )
      ).report;
      assert.deepEqual(
        { ...r.totals, p50Ms: undefined, p99Ms: undefined },
        { accepted: 3, delivered: 3, failed: 3, p50Ms: undefined, p99Ms: undefined },
      );
      assert.ok(r.totals.p50Ms >= 0 && r.totals.p99Ms >= r.totals.p50Ms);
      assert.ok(r.buckets.length >= 1 && r.buckets.length <= 2, 'one hour, or two if the hour turned');
      assert.equal(
        r.buckets.reduce((n: number, b: any) => n + b.accepted, 0),
        3,
      );
      for (const b of r.buckets) assert.equal(new Date(b.start).getUTCMinutes(), 0);
      const day = (
        await ok(key, '{ report(bucket: DAY, from: "2020-01-01T00:00:00Z") { buckets { start accepted } totals { accepted } } }')
      ).report;
      assert.equal(day.totals.accepted, 3);
      const empty = (
        await ok(
          key,
          '{ report(from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z") { buckets { start } totals { accepted p50Ms } } }',
        )
      ).report;
      assert.deepEqual(empty, { buckets: [], totals: { accepted: 0, p50Ms: null } });
      const bad = await authed(h, key, '{ report(from: "yesterday") { totals { accepted } } }');
      assert.equal(code(bad), 'BAD_USER_INPUT');
    });

    it('users: an operator creates a tenant user whose second factor logs in; disable, enable, reset; a tenant session is refused', async () => {
      const made = (
        await ok(
          op,
          `mutation { createUser(input: {email: "Bea@Acme.test", role: TENANT, tenant: "acme", password: "a long enough password"}) { user { id email role environment status tenant { id uid } } totpSecret otpauthUri qrCode recoveryCodes } }`,
        )
      ).createUser;
      assert.deepEqual(
        { ...made.user, id: undefined },
        {
          id: undefined,
          email: 'Bea@Acme.test',
          role: 'TENANT',
          environment: 'SANDBOX',
          status: 'ACTIVE',
          tenant: { id: tenantId, uid: 'acme' },
        },
      );
      assert.match(made.otpauthUri, /^otpauth:\/\/totp\//);
      assert.match(made.qrCode, /^data:image\/svg\+xml/);
      assert.equal(made.recoveryCodes.length, 10);
      const totp = totpCode(made.totpSecret, Math.floor(Date.now() / 1000));
      const login = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: 'bea@acme.test', password: 'a long enough password', totpCode: totp } },
      });
      const beaKey = login.body.data.logIn.login.sessions[0].sessionKey;
      assert.deepEqual((await ok(beaKey, '{ viewer { role tenant { uid } } }')).viewer, { role: 'TENANT', tenant: { uid: 'acme' } });

      const listed = (await ok(op, '{ users(first: 100) { nodes { id email } } }')).users.nodes;
      assert.ok(listed.some((u: any) => u.id === made.user.id));
      assert.equal(code(await authed(h, beaKey, '{ users { nodes { id } } }')), 'FORBIDDEN');
      assert.equal(code(await authed(h, beaKey, `mutation { disableUser(id: "${made.user.id}") { id } }`)), 'FORBIDDEN');

      assert.equal((await ok(op, `mutation { disableUser(id: "${made.user.id}") { status } }`)).disableUser.status, 'DISABLED');
      assert.equal(code(await authed(h, beaKey, '{ viewer { id } }')), 'UNAUTHENTICATED', 'a disabled user is logged out');
      assert.equal((await ok(op, `mutation { enableUser(id: "${made.user.id}") { status } }`)).enableUser.status, 'ACTIVE');
      const again = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: 'bea@acme.test', password: 'a long enough password', recoveryCode: made.recoveryCodes[0] } },
      });
      assert.ok(again.body.data.logIn.login.sessions[0].sessionKey);
      const reset = (await ok(op, `mutation { resetMfa(id: "${made.user.id}") { totpSecret recoveryCodes } }`)).resetMfa;
      assert.notEqual(reset.totpSecret, made.totpSecret);
      const old = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: 'bea@acme.test', password: 'a long enough password', recoveryCode: made.recoveryCodes[1] } },
      });
      assert.equal(code(old), 'UNAUTHENTICATED', 'the old recovery codes stopped working');

      const short = await authed(
        h,
        op,
        'mutation { createUser(input: {email: "x@acme.test", role: OPERATOR, password: "short"}) { user { id } } }',
      );
      assert.equal(code(short), 'BAD_USER_INPUT');
      const audit = (await ok(op, '{ auditLog(first: 100) { nodes { action actor target } } }')).auditLog.nodes;
      const opId = (await ok(op, '{ viewer { id } }')).viewer.id;
      for (const action of ['user.created', 'user.disabled', 'user.enabled', 'user.mfa_reset']) {
        assert.ok(
          audit.some((e: any) => e.action === action && e.actor === opId && e.target === made.user.id),
          action,
        );
      }
    });

    it('report billing: transactions and refunds per day and currency, from real Chargify webhooks', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Billing', uid: 'billing' });
      await ok(op, 'mutation { createPerson(tenant: "billing", input: {key: "payer-1", name: "Payer"}) { id } }');
      const src = (await h.api('POST', '/v1/tenants/billing/sources', { provider: 'chargify', name: 'Chargify', secret: 'shared' })).body;
      let webhookId = 500;
      const pay = async (subscription: number, transaction: number, cents: number, currency: string, at: string) => {
        const body = chargifyBody(++webhookId, 'payment_success', {
          'subscription.id': subscription,
          'subscription.state': 'active',
          'subscription.currency': currency,
          'subscription.customer.reference': 'payer-1',
          'subscription.product.id': 1,
          'subscription.product.name': 'Gold',
          'subscription.product.price_in_cents': cents,
          'transaction.id': transaction,
          'transaction.amount_in_cents': cents,
          'transaction.created_at': at,
        });
        const r = await fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'shared').update(body).digest('hex'),
          },
          body,
        });
        assert.equal(r.status, 200);
      };
      await pay(1, 11, 5000, 'EUR', '2026-11-20 11:50:55 -0500');
      await pay(1, 12, 100, 'EUR', '2026-11-20 20:00:00 -0500'); // 01:00 UTC on the 21st
      await pay(2, 13, 700, 'USD', '2026-11-20 09:00:00 -0500');
      const Q =
        '{ report(tenant: "billing", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z", bucket: DAY) { billing { day currency transactions amount refunds refunded } } }';
      const billing = await eventually(
        async () => {
          const b = (await ok(op, Q)).report.billing;
          return b.length === 3 && b;
        },
        10_000,
        'three billing rows',
      );
      assert.deepEqual(billing, [
        { day: '2026-11-20T00:00:00.000Z', currency: 'EUR', transactions: 1, amount: 5000, refunds: 0, refunded: 0 },
        { day: '2026-11-20T00:00:00.000Z', currency: 'USD', transactions: 1, amount: 700, refunds: 0, refunded: 0 },
        { day: '2026-11-21T00:00:00.000Z', currency: 'EUR', transactions: 1, amount: 100, refunds: 0, refunded: 0 },
      ]);
      const customer = (await ok(op, '{ customers(tenant: "billing") { nodes { key transactions { nodes { amount currency } } } } }'))
        .customers.nodes[0];
      assert.deepEqual(customer.transactions.nodes.map((t: any) => `${t.amount} ${t.currency}`).sort(), ['100 EUR', '5000 EUR', '700 USD']);
    });

    it('auditLog: operators read logins; a tenant session is refused (FORBIDDEN)', async () => {
      const log = (await ok(op, '{ auditLog(first: 50) { nodes { action actor target address at details } pageInfo { hasNextPage } } }'))
        .auditLog;
      assert.ok(log.nodes.some((e: any) => e.action === 'login.succeeded'));
      assert.ok(!JSON.stringify(log).includes('correct horse'), 'no password in the audit log');
      assert.equal(code(await authed(h, tenantKey, '{ auditLog { nodes { id } } }')), 'FORBIDDEN');
    });
  });
}
