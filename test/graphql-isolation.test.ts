import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listUsers } from '../src/accounts/users.js';
import { DIALECTS } from './helpers/db.js';
import { authed, logInAs, makeUser } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// The GraphQL twin of the REST tenant-isolation walk: every operation of the authenticated schema
// (read from the schema itself, so an operation added without a walk entry fails here) is called
// by (a) a session of tenant A naming tenant B or B's ids, and (b) an operator session of the other
// environment. Every answer is FORBIDDEN or NOT_FOUND and carries none of B's data; nothing of B's
// changes.
interface World {
  tenant: { id: string; uid: string };
  endpointId: string;
  eventId: string;
  deliveryId: string;
  customer: { id: string; key: string };
  userId: string;
  endpointSecret: string;
  recoveryId: string;
}

for (const dialect of DIALECTS) {
  describe(`GraphQL tenant isolation (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let a: World;
    let b: World;
    let sessionA: string;
    let productionOperator: string;

    const world = async (uid: string): Promise<World> => {
      const tenant = (await h.api('POST', '/v1/tenants', { name: uid, uid })).body;
      const endpoint = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/${uid}` })).body;
      const event = (
        await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'KycUpdate', payload: { personId: `secret-of-${uid}`, kycStatus: 'P' } })
      ).body;
      const read = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/${uid}/events/${event.id}`)).body;
          return e.status === 'S' && e;
        },
        10_000,
        'delivered',
      );
      const customer = (
        await h.api('POST', `/v1/tenants/${uid}/customers`, {
          key: `key-of-${uid}`,
          kind: 'person',
          email: `secret-of-${uid}@example.com`,
          customData: { secret: `secret-of-${uid}` },
        })
      ).body;
      const user = await makeUser(h, { role: 'tenant', tenantId: tenant.id });
      const recovery = (await h.api('POST', `/v1/tenants/${uid}/endpoints/${endpoint.id}/recover`, { since: '2020-01-01T00:00:00Z' })).body;
      return {
        tenant,
        endpointId: endpoint.id,
        eventId: event.id,
        deliveryId: read.deliveries[0].id,
        customer,
        userId: user.id,
        endpointSecret: endpoint.secret,
        recoveryId: recovery.id,
      };
    };

    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      a = await world('tenant-a');
      b = await world('tenant-b');
      sessionA = await logInAs(h, { role: 'tenant', tenantId: a.tenant.id });
      productionOperator = await logInAs(h, { environment: 'PRODUCTION' });
    });
    after(async () => {
      await rx?.stop();
      await h?.close();
    });

    // One call per operation that names a tenant or an object, with B's identifiers.
    const walk = (w: World): Record<string, string[]> => ({
      customers: [
        `{ customers(tenant: "${w.tenant.uid}") { nodes { id email customData } } }`,
        `{ customers(tenant: "${w.tenant.id}", search: "secret") { nodes { id } } }`,
      ],
      customer: [
        `{ customer(customerId: "${w.customer.id}") { id email } }`,
        `{ customer(tenant: "${w.tenant.uid}", customerId: "${w.customer.key}") { id } }`,
      ],
      customData: [
        `{ customData(customerId: "${w.customer.id}") }`,
        `{ customData(tenant: "${w.tenant.uid}", customerId: "${w.customer.key}") }`,
      ],
      endpoints: [`{ endpoints(tenant: "${w.tenant.uid}") { id url } }`],
      endpointSecret: [`{ endpointSecret(endpointId: "${w.endpointId}") }`],
      sources: [`{ sources(tenant: "${w.tenant.uid}") { id url } }`],
      inboundMessages: [`{ inboundMessages(tenant: "${w.tenant.uid}") { nodes { id } } }`],
      rotateEndpointSecret: [`mutation { rotateEndpointSecret(endpointId: "${w.endpointId}") }`],
      recoverEndpoint: [`mutation { recoverEndpoint(endpointId: "${w.endpointId}", since: "2020-01-01T00:00:00Z") { id } }`],
      events: [
        `{ events(tenant: "${w.tenant.uid}") { nodes { id deliveries { id attempts { statusCode } } } } }`,
        `{ events(tenant: "${w.tenant.uid}", endpoint: "${w.endpointId}") { nodes { id } } }`,
      ],
      recovery: [`{ recovery(id: "${w.recoveryId}") { id endpointId total } }`],
      event: [`{ event(tenant: "${w.tenant.uid}", id: "${w.eventId}") { id payload deliveries { attempts { responseBody } } } }`],
      report: [`{ report(tenant: "${w.tenant.uid}", from: "2020-01-01T00:00:00Z") { totals { accepted } } }`],
      tenants: [],
      tenant: [`{ tenant(id: "${w.tenant.uid}") { id name } }`, `{ tenant(id: "${w.tenant.id}") { id name } }`],
      auditLog: [],
      users: [],
      // Operators only, and no tenant's: test/graphql-keys.test.ts refuses tenant and client-token
      // sessions and keeps each environment's keys from the other's operators.
      apiKeys: [],
      createApiKey: [],
      revokeApiKey: [],
      setApiKeyOrigins: [],
      createUser: [
        `mutation { createUser(input: {email: "intruder@example.com", role: TENANT, tenant: "${w.tenant.uid}", password: "a long enough password"}) { user { id } } }`,
      ],
      disableUser: [`mutation { disableUser(id: "${w.userId}") { id status } }`],
      enableUser: [`mutation { enableUser(id: "${w.userId}") { id } }`],
      resetMfa: [`mutation { resetMfa(id: "${w.userId}") { totpSecret } }`],
      createPerson: [`mutation { createPerson(tenant: "${w.tenant.uid}", input: {key: "intruder"}) { id } }`],
      createOrganization: [`mutation { createOrganization(tenant: "${w.tenant.uid}", input: {key: "intruder-org"}) { id } }`],
      saveAddress: [
        `mutation { saveAddress(customerId: "${w.customer.id}", input: {placeId: "x"}) { id } }`,
        `mutation { saveAddress(tenant: "${w.tenant.uid}", customerId: "${w.customer.key}", input: {placeId: "x"}) { id } }`,
      ],
      saveCustomData: [`mutation { saveCustomData(customerId: "${w.customer.id}", data: {secret: "overwritten"}) { id customData } }`],
      createEndpoint: [`mutation { createEndpoint(tenant: "${w.tenant.uid}", input: {url: "${rx.url}/intruder"}) { secret } }`],
      updateEndpoint: [`mutation { updateEndpoint(id: "${w.endpointId}", input: {url: "${rx.url}/hijacked"}) { id url } }`],
      sendTestEvent: [`mutation { sendTestEvent(endpointId: "${w.endpointId}") { eventId } }`],
      resendDelivery: [`mutation { resendDelivery(id: "${w.deliveryId}") { id } }`],
    });
    const secrets = (w: World) => [
      w.endpointSecret,
      w.tenant.id,
      w.endpointId,
      w.eventId,
      w.deliveryId,
      w.customer.id,
      w.userId,
      w.recoveryId,
      'secret-of-tenant-b',
      `${rx.url}/tenant-b`,
    ];

    function assertNoLeak(r: { body: unknown }, query: string) {
      const text = JSON.stringify(r.body);
      for (const s of secrets(b)) {
        if (query.includes(s)) continue; // the id asked for may be echoed in the error message
        assert.ok(!text.includes(s), `${query} leaked ${s}: ${text}`);
      }
    }

    it('walks every operation that takes arguments', async () => {
      const r = await authed(
        h,
        sessionA,
        '{ __schema { queryType { fields { name args { name } } } mutationType { fields { name args { name } } } } }',
      );
      const fields = [...r.body.data.__schema.queryType.fields, ...r.body.data.__schema.mutationType.fields];
      const withArgs = fields.filter((f: any) => f.args.length > 0).map((f: any) => f.name);
      const walked = Object.keys(walk(b));
      assert.deepEqual(
        withArgs.filter((n: string) => !walked.includes(n)),
        [],
        'every operation with arguments has a walk entry',
      );
    });

    it("refuses tenant A's session everything of tenant B (FORBIDDEN or NOT_FOUND), without B's data", async () => {
      for (const [name, calls] of Object.entries(walk(b))) {
        for (const query of calls) {
          const r = await authed(h, sessionA, query);
          const code = r.body.errors?.[0]?.extensions?.code;
          assert.ok(code === 'FORBIDDEN' || code === 'NOT_FOUND', `${name}: ${query} answered ${JSON.stringify(r.body)}`);
          assert.ok(!r.body.data || Object.values(r.body.data).every((v) => v === null), `${name}: no data`);
          assertNoLeak(r, query);
        }
      }
    });

    it('refuses an operator of the other environment everything of sandbox tenants (NOT_FOUND)', async () => {
      for (const [name, calls] of Object.entries(walk(b))) {
        for (const query of calls) {
          const r = await authed(h, productionOperator, query);
          assert.equal(r.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', `${name}: ${query} answered ${JSON.stringify(r.body)}`);
          assertNoLeak(r, query);
        }
      }
    });

    it("keeps a tenant session's endpoints off private and loopback addresses, even in the sandbox", async () => {
      const r = await authed(h, sessionA, `mutation { createEndpoint(input: {url: "${rx.url}/loopback"}) { secret } }`);
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r.body));
      assert.match(r.body.errors[0].message, /HERALD_SANDBOX_TENANT_PRIVATE/);
    });

    it('lists only its own tenant, and still reaches its own things', async () => {
      const t = await authed(h, sessionA, '{ tenants { nodes { id } } }');
      assert.deepEqual(t.body.data.tenants.nodes, [{ id: a.tenant.id }]);
      for (const [name, calls] of Object.entries(walk(a))) {
        if (['createUser', 'disableUser', 'enableUser', 'resetMfa'].includes(name)) continue; // operators only
        if (
          [
            'rotateEndpointSecret',
            'recoverEndpoint',
            'createPerson',
            'createOrganization',
            'createEndpoint',
            'updateEndpoint',
            'saveAddress',
            'saveCustomData',
            'sendTestEvent',
            'resendDelivery',
          ].includes(name)
        )
          continue;
        for (const query of calls) {
          const r = await authed(h, sessionA, query);
          assert.equal(r.body.errors, undefined, `${name}: ${JSON.stringify(r.body)}`);
        }
      }
      const own = await authed(h, sessionA, '{ events(type: "KycUpdate") { nodes { id } } }');
      assert.deepEqual(
        own.body.data.events.nodes.map((e: any) => e.id),
        [a.eventId],
      );
    });

    it("changed nothing of tenant B's", async () => {
      const customers = (await h.api('GET', '/v1/tenants/tenant-b/customers')).body.data;
      assert.deepEqual(
        customers.map((c: any) => [c.key, c.address, c.customData]),
        [[`key-of-tenant-b`, null, { secret: 'secret-of-tenant-b' }]],
      );
      const endpoints = (await h.api('GET', '/v1/tenants/tenant-b/endpoints')).body.data;
      assert.deepEqual(
        endpoints.map((e: any) => e.url),
        [`${rx.url}/tenant-b`],
      );
      assert.equal(
        (await h.api('GET', `/v1/tenants/tenant-b/endpoints/${b.endpointId}/secret`)).body.secret,
        b.endpointSecret,
        'secret not rotated',
      );
      const events = (await h.api('GET', '/v1/tenants/tenant-b/events')).body.data;
      assert.deepEqual(events.map((e: any) => e.type).sort(), ['KycUpdate', 'customer.created'], 'no test event, no customer');
      const attempts = (await h.api('GET', `/v1/tenants/tenant-b/deliveries/${b.deliveryId}/attempts`)).body.data;
      assert.equal(attempts.length, 1, 'not resent');
      const users = await listUsers(h.herald.db, { tenantId: b.tenant.id });
      assert.deepEqual(
        users.data.map((u) => [u.id, u.status]),
        [[b.userId, 'active']],
        'no user made, disabled or reset',
      );
    });
  });
}
