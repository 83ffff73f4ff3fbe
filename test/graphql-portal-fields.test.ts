import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { authed, logInAs } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// What the portal reads besides the operations of docs/graphql.md: an endpoint's health, an event
// type's catalog, one event with what its endpoint answered (the test-event result).
for (const dialect of DIALECTS) {
  describe(`GraphQL fields the portal reads (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let session: string;
    before(async () => {
      [h, rx] = await Promise.all([
        startHerald(dialect, { HERALD_CIRCUIT_THRESHOLD: '2', HERALD_RETRY_SCHEDULE: '0,0,600' }),
        new Receiver((r) =>
          r.path === '/down' ? { status: 503, body: 'down for maintenance' } : { status: 202, body: `{"seen":"${r.path}"}` },
        ).start(),
      ]);
      await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' });
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      await h.api('POST', '/v1/event-types', { name: 'own.thing', description: 'made by hand' });
      session = await logInAs(h);
    });
    after(async () => {
      await rx?.stop();
      await h?.close();
    });

    it('eventTypes name the catalog each came from (none for a type made by hand)', async () => {
      const r = await authed(h, session, '{ eventTypes { name catalog } }');
      const by = Object.fromEntries(r.body.data.eventTypes.map((t: { name: string; catalog: string | null }) => [t.name, t.catalog]));
      assert.equal(by.PymtCard, 'productfy');
      assert.equal(by['own.thing'], null);
      assert.equal(by['endpoint.disabled'], 'herald');
    });

    it('event(id) answers its deliveries with the status, duration and body the endpoint answered', async () => {
      const ep = (await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/up`, eventTypes: ['PymtCard'] })).body;
      const sent = await authed(h, session, `mutation { sendTestEvent(endpointId: "${ep.id}") { eventId } }`);
      const eventId = sent.body.data.sendTestEvent.eventId;
      const q = `{ event(tenant: "acme", id: "${eventId}") { id type status deliveries { endpointId status attempts { statusCode durationMs responseBody } } } }`;
      const e = await eventually(
        async () => {
          const r = await authed(h, session, q);
          return r.body.data?.event.status === 'S' && r.body.data.event;
        },
        10_000,
        'delivered',
      );
      assert.equal(e.type, 'PymtCard');
      assert.equal(e.deliveries.length, 1);
      assert.equal(e.deliveries[0].endpointId, ep.id);
      const [a] = e.deliveries[0].attempts;
      assert.equal(a.statusCode, 202);
      assert.equal(a.responseBody, '{"seen":"/up"}');
      assert.ok(Number.isInteger(a.durationMs));
      const missing = await authed(h, session, '{ event(tenant: "acme", id: "evt_nope") { id } }');
      assert.equal(missing.body.errors[0].extensions.code, 'NOT_FOUND');
    });

    it("endpoints show their health: a failing endpoint's open circuit; a disabled one's reason", async () => {
      const down = (await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/down`, eventTypes: ['KycUpdate'] })).body;
      for (let i = 0; i < 2; i++)
        await h.api('POST', '/v1/tenants/acme/events', { type: 'KycUpdate', payload: { personId: `p${i}`, kycStatus: 'P' } });
      const q =
        '{ endpoints(tenant: "acme") { url enabled disabledReason health { circuit consecutiveFailures failingSince circuitOpenUntil } } }';
      const failing = await eventually(
        async () => {
          const r = await authed(h, session, q);
          const e = r.body.data.endpoints.find((x: { url: string }) => x.url === `${rx.url}/down`);
          return e?.health.circuit === 'OPEN' && e;
        },
        10_000,
        'circuit open',
      );
      assert.ok(failing.health.consecutiveFailures >= 2);
      assert.ok(Date.parse(failing.health.failingSince) <= Date.now());
      assert.ok(Date.parse(failing.health.circuitOpenUntil) > Date.now());
      // Several attempts of one answer read their bodies together.
      const events = await authed(
        h,
        session,
        '{ events(tenant: "acme", type: "KycUpdate") { nodes { deliveries { attempts { statusCode responseBody } } } } }',
      );
      const bodies = events.body.data.events.nodes.flatMap((e: any) =>
        e.deliveries.flatMap((d: any) => d.attempts.map((a: any) => `${a.statusCode} ${a.responseBody}`)),
      );
      assert.ok(bodies.length >= 2);
      assert.ok(
        bodies.every((b: string) => b === '503 down for maintenance'),
        bodies.join(),
      );
      await h.api('PATCH', `/v1/tenants/acme/endpoints/${down.id}`, { enabled: false });
      const after = (await authed(h, session, q)).body.data.endpoints.find((x: { url: string }) => x.url === `${rx.url}/down`);
      assert.equal(after.enabled, false);
      assert.match(after.disabledReason, /disabled/);
      const up = (await authed(h, session, q)).body.data.endpoints.find((x: { url: string }) => x.url === `${rx.url}/up`);
      assert.deepEqual(up.health, { circuit: 'CLOSED', consecutiveFailures: 0, failingSince: null, circuitOpenUntil: null });
    });
  });
}
