import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../src/keys/keys.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// Walks every tenant route of the OpenAPI document (so a new route is walked without touching this
// file) with (a) a key scoped to another tenant, (b) the operator key of the other environment, and
// (c) tenant A's path holding tenant B's ids. Every answer is 403 or 404 and carries none of B's data.

interface World {
  tenant: any;
  endpoint: any;
  event: any;
  deliveryId: string;
  recoveryId: string;
  source: any;
  inboundId: string;
  customer: any;
  plan: any;
  listener: any;
  key: string;
}

for (const dialect of DIALECTS) {
  describe(`tenant isolation (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let a: World;
    let b: World;
    let routes: { method: string; path: string }[];

    async function world(uid: string): Promise<World> {
      const tenant = (await h.api('POST', '/v1/tenants', { name: uid, uid })).body;
      const endpoint = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/${uid}` })).body;
      const event = (
        await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'KycUpdate', payload: { personId: `secret-of-${uid}`, kycStatus: 'P' } })
      ).body;
      const read = await eventually(async () => {
        const e = (await h.api('GET', `/v1/tenants/${uid}/events/${event.id}`)).body;
        return e.status === 'S' && e;
      });
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: tenant.id });
      const recovery = (await h.api('POST', `/v1/tenants/${uid}/endpoints/${endpoint.id}/recover`, { since: '2020-01-01T00:00:00Z' })).body;
      const source = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'token', name: 'in', secret: `token-of-${uid}` })).body;
      const inbound = await fetch(`${h.url}/in/${source.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-token': `token-of-${uid}` },
        body: `{"type":"x","secret":"secret-of-${uid}"}`,
      });
      const inboundId = ((await inbound.json()) as { id: string }).id;
      const customer = (
        await h.api('POST', `/v1/tenants/${uid}/customers`, { key: `key-of-${uid}`, kind: 'person', email: `secret-of-${uid}@example.com` })
      ).body;
      const plan = (await h.api('POST', `/v1/tenants/${uid}/plans`, { key: `plan-of-${uid}`, name: 'Gold' })).body;
      const listener = (await h.api('POST', `/v1/tenants/${uid}/listeners`, { forwardTo: `http://localhost:3000/${uid}` })).body;
      return {
        tenant,
        endpoint,
        event,
        deliveryId: read.deliveries[0].id,
        recoveryId: recovery.id,
        source,
        inboundId,
        customer,
        plan,
        listener,
        key,
      };
    }

    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      a = await world('tenant-a');
      b = await world('tenant-b');
      const spec = (await h.api('GET', '/openapi.json', undefined, { key: null })).body;
      routes = Object.entries(spec.paths as Record<string, Record<string, unknown>>)
        .filter(([p]) => p.includes('{tenant}'))
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })));
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    const idFor = (path: string, ids: World) =>
      path.includes('/endpoints/')
        ? ids.endpoint.id
        : path.includes('/events/')
          ? ids.event.id
          : path.includes('/recoveries/')
            ? ids.recoveryId
            : path.includes('/sources/')
              ? ids.source.id
              : path.includes('/inbound/')
                ? ids.inboundId
                : path.includes('/listeners/')
                  ? ids.listener.id
                  : ids.deliveryId;
    const fill = (path: string, tenant: string, ids: World) =>
      path
        .replace('{tenant}', tenant)
        .replace('{id}', idFor(path, ids))
        .replace('{customer}', ids.customer.key)
        .replace('{plan}', ids.plan.key);

    const bodyFor = (path: string) =>
      path.endsWith('/events')
        ? { type: 'KycUpdate', payload: { personId: 'x', kycStatus: 'P' } }
        : path.endsWith('/batch')
          ? { events: [{ type: 'KycUpdate', payload: { personId: 'x', kycStatus: 'P' } }] }
          : path.endsWith('/endpoints')
            ? { url: 'http://127.0.0.1:9/x' }
            : path.endsWith('/test')
              ? {}
              : path.endsWith('/recover')
                ? { since: '2020-01-01T00:00:00Z' }
                : path.endsWith('/sources')
                  ? { provider: 'token', name: 'x', secret: 'y' }
                  : path.endsWith('/customers')
                    ? { key: 'k', kind: 'person' }
                    : path.endsWith('/plans')
                      ? { key: 'p', name: 'P' }
                      : path.endsWith('/listeners')
                        ? { forwardTo: 'http://localhost:3000/x' }
                        : path.endsWith('/results')
                          ? { deliveryId: 'dlv_x', leaseToken: 'x', statusCode: 200, durationMs: 1 }
                          : undefined;

    const bodyOf = (r: { method: string; path: string }) => (r.method === 'PATCH' ? {} : r.method === 'POST' ? bodyFor(r.path) : undefined);

    function assertNoLeak(res: { status: number; body: any }, what: string) {
      const text = JSON.stringify(res.body);
      for (const secret of [
        b.tenant.id,
        b.tenant.token,
        b.endpoint.id,
        b.endpoint.secret,
        b.event.id,
        b.deliveryId,
        b.recoveryId,
        b.source.id,
        b.inboundId,
        b.customer.id,
        b.plan.id,
        b.listener.id,
        b.listener.secret,
        'token-of-tenant-b',
        'secret-of-tenant-b',
      ]) {
        if (what.includes(secret)) continue; // the id we asked for may be echoed in the error message
        assert.ok(!text.includes(secret), `${what} leaked ${secret}: ${text}`);
      }
    }

    it('refuses a key scoped to tenant A on every route of tenant B (403)', async () => {
      assert.ok(routes.length >= 12);
      for (const r of routes) {
        const path = fill(r.path, b.tenant.uid, b);
        const body = bodyOf(r);
        const res = await h.api(r.method, path, body, { key: a.key });
        assert.equal(res.status, 403, `${r.method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
        assertNoLeak(res, `${r.method} ${path}`);
      }
    });

    it("answers 404 for tenant B's ids under tenant A's own paths", async () => {
      for (const r of routes.filter((x) => /\{(id|customer|plan)\}/.test(x.path))) {
        const path = fill(r.path, a.tenant.uid, b);
        const res = await h.api(r.method, path, bodyOf(r), { key: a.key });
        assert.equal(res.status, 404, `${r.method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
        assertNoLeak(res, `${r.method} ${path}`);
      }
    });

    it('does not let the other environment see any of it', async () => {
      for (const r of routes) {
        const path = fill(r.path, b.tenant.uid, b);
        const res = await h.api(r.method, path, bodyOf(r), { key: h.productionKey });
        assert.equal(res.status, 404, `${r.method} ${path} → ${res.status}`);
        assertNoLeak(res, `${r.method} ${path}`);
      }
    });

    it("changed nothing of tenant B's", async () => {
      const ev = (await h.api('GET', `/v1/tenants/tenant-b/events/${b.event.id}`)).body;
      assert.equal(ev.deliveries[0].attempts, 1, 'no resend went through');
      const eps = (await h.api('GET', '/v1/tenants/tenant-b/endpoints')).body.data;
      assert.deepEqual(eps.map((e: { kind: string; enabled: boolean }) => [e.kind, e.enabled]).sort(), [
        ['http', true],
        ['listen', true],
      ]);
      const events = (await h.api('GET', '/v1/tenants/tenant-b/events')).body.data;
      // B's own: the one KycUpdate, its customer.created and the forwarded inbound message.
      assert.equal(events.filter((e: { type: string }) => e.type === 'KycUpdate').length, 1, 'no event was created in B');
      assert.equal(events.length, 3);
      assert.equal((await h.api('GET', '/v1/tenants/tenant-b')).body.name, 'tenant-b');
      assert.equal((await h.api('GET', '/v1/tenants/tenant-b/customers')).body.data.length, 1, 'no customer was created or deleted in B');
      assert.equal((await h.api('GET', '/v1/tenants/tenant-b/sources')).body.data[0].enabled, true);
      assert.equal((await h.api('GET', `/v1/tenants/tenant-b/customers/${b.customer.key}`)).body.email, 'secret-of-tenant-b@example.com');
    });
  });
}
