import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chargifyBody } from './helpers/chargify.js';
import { DIALECTS } from './helpers/db.js';
import { authed, gql, logInAs } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// What the portal's Logs and Reports read beyond the delivery log and the report: the log of one
// endpoint (events(endpoint)), a bulk recovery's progress (recovery(id)), and subscriptions by
// state (report { subscriptionsByState }), with who may read them. Real Herald, a real receiver
// that fails until it is fixed, real Chargify webhooks, both dialects.

const EXCHANGE = `mutation X($input: ExchangeClientTokenInput!) { exchangeClientToken(input: $input) { login { sessions { sessionKey } } } }`;
const EVENTS = `query E($endpoint: ID, $status: EventStatus, $type: String, $since: String, $until: String, $first: Int, $after: String) {
  events(tenant: "acme", endpoint: $endpoint, status: $status, type: $type, since: $since, until: $until, first: $first, after: $after) {
    nodes { id type status createdAt deliveries { endpointId status } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const RECOVERY =
  'query R($id: ID!) { recovery(id: $id) { id endpointId since until status total failed waiting done createdAt updatedAt } }';

for (const dialect of DIALECTS) {
  describe(`GraphQL for the portal's logs and reports (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let op: string;
    let fixed = false;
    const ep: Record<string, string> = {};

    before(async () => {
      [h, rx] = await Promise.all([
        startHerald(dialect, { HERALD_RETRY_SCHEDULE: '0', HERALD_MAINTENANCE_INTERVAL_MS: '100', HERALD_CIRCUIT_THRESHOLD: '100' }),
        // /flaky is down (503) until the test fixes it.
        new Receiver((r) => (r.path === '/flaky' && !fixed ? { status: 503, body: 'down' } : { status: 200, body: 'ok' })).start(),
      ]);
      for (const uid of ['acme', 'globex']) assert.equal((await h.api('POST', '/v1/tenants', { uid, name: uid })).status, 201);
      for (const name of ['order.paid', 'order.shipped'])
        assert.equal((await h.api('POST', '/v1/event-types', { name, description: name })).status, 201);
      const endpoint = async (tenant: string, path: string, eventTypes: string[]) =>
        (await h.api('POST', `/v1/tenants/${tenant}/endpoints`, { url: `${rx.url}${path}`, eventTypes })).body.id as string;
      ep.ok = await endpoint('acme', '/ok', ['order.paid', 'order.shipped']);
      ep.flaky = await endpoint('acme', '/flaky', ['order.paid']);
      ep.gone = await endpoint('acme', '/gone', ['order.shipped']);
      ep.globex = await endpoint('globex', '/globex', []);
      // Three paid (to ok and flaky: their events fail, as flaky does), two shipped (to ok and gone).
      for (const type of ['order.paid', 'order.shipped', 'order.paid', 'order.shipped', 'order.paid'])
        assert.equal((await h.api('POST', '/v1/tenants/acme/events', { type, payload: { n: 1 } })).status, 202);
      await h.api('POST', '/v1/tenants/globex/events', { type: 'order.paid', payload: {} });
      await eventually(
        async () => {
          const all = (await h.api('GET', '/v1/tenants/acme/events?limit=100')).body.data;
          return all.length === 5 && all.every((e: { status: string }) => e.status === 'S' || e.status === 'F');
        },
        15_000,
        'every event finished',
      );
      assert.equal((await h.api('DELETE', `/v1/tenants/acme/endpoints/${ep.gone}`)).status, 204);
      op = await logInAs(h);
    });
    after(async () => {
      await rx?.stop();
      await h?.close();
    });

    const events = async (vars: Record<string, unknown>, session = op) => {
      const r = await authed(h, session, EVENTS, vars);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.events as { nodes: any[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    };
    const ids = async (vars: Record<string, unknown>) => (await events(vars)).nodes.map((e) => e.id as string);

    it('events(endpoint) lists the events with a delivery to that endpoint, newest first', async () => {
      const all = await events({});
      const toOk = await events({ endpoint: ep.ok });
      assert.deepEqual(
        toOk.nodes.map((e) => e.id),
        all.nodes.map((e) => e.id),
        'every event went to ok',
      );
      const toFlaky = await events({ endpoint: ep.flaky });
      assert.equal(toFlaky.nodes.length, 3);
      assert.ok(toFlaky.nodes.every((e) => e.type === 'order.paid' && e.deliveries.some((d: any) => d.endpointId === ep.flaky)));
      assert.deepEqual(await ids({ endpoint: ep.ok, type: 'order.shipped' }), await ids({ type: 'order.shipped' }));
      // A deleted endpoint's deliveries stay in the log.
      assert.deepEqual(await ids({ endpoint: ep.gone }), await ids({ type: 'order.shipped' }));
    });

    it("with an endpoint, status is that endpoint's delivery's, not the event's", async () => {
      // The paid events failed (at flaky) but were delivered to ok.
      assert.equal((await ids({ status: 'F' })).length, 3);
      assert.equal((await ids({ endpoint: ep.ok, status: 'S' })).length, 5);
      assert.deepEqual(await ids({ endpoint: ep.ok, status: 'F' }), []);
      assert.deepEqual(await ids({ endpoint: ep.flaky, status: 'F' }), await ids({ status: 'F' }));
      assert.deepEqual(await ids({ endpoint: ep.flaky, status: 'N' }), []);
    });

    it('pages and time bounds work as without it', async () => {
      const all = await ids({});
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const page = await events({ endpoint: ep.ok, first: 2, after });
        seen.push(...page.nodes.map((e) => e.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        pages++;
      } while (after);
      assert.deepEqual(seen, all);
      assert.equal(pages, 3);
      // Every boundary between the events, and around them: the same events as the unfiltered log.
      const times = (await events({})).nodes.map((e) => Date.parse(e.createdAt));
      const bounds = [...new Set([Math.min(...times) - 1, ...times, ...times.map((t) => t + 1), Math.max(...times) + 1])];
      for (const since of bounds) {
        const s = new Date(since).toISOString();
        assert.deepEqual(await ids({ endpoint: ep.ok, since: s }), await ids({ since: s }), `since ${s}`);
        assert.deepEqual(await ids({ endpoint: ep.ok, until: s }), await ids({ until: s }), `until ${s}`);
      }
      const [lo, hi] = [new Date(times[times.length - 2]).toISOString(), new Date(times[0]).toISOString()];
      assert.deepEqual(await ids({ endpoint: ep.ok, since: lo, until: hi }), await ids({ since: lo, until: hi }));
      assert.deepEqual(await ids({ endpoint: ep.ok, since: new Date(Date.now() + 60_000).toISOString() }), []);
    });

    it("an endpoint of another tenant, or none, is NOT_FOUND; a tenant user's session too", async () => {
      for (const endpoint of [ep.globex, 'ep_nope']) {
        const r = await authed(h, op, EVENTS, { endpoint });
        assert.equal(r.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(r.body));
      }
      const globexId = (await h.api('GET', '/v1/tenants/globex')).body.id;
      const globexUser = await logInAs(h, { role: 'tenant', tenantId: globexId });
      const r = await authed(h, globexUser, '{ events(endpoint: "' + ep.flaky + '") { nodes { id } } }');
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const own = await authed(h, globexUser, '{ events(endpoint: "' + ep.globex + '") { nodes { type } } }');
      assert.deepEqual(own.body.data.events.nodes, [{ type: 'order.paid' }]);
    });

    it('recovery(id) shows a bulk recovery running to done, and the deliveries then succeed', async () => {
      fixed = true;
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const started = await authed(
        h,
        op,
        'mutation M($e: ID!, $since: String!) { recoverEndpoint(endpointId: $e, since: $since) { id status total failed waiting done } }',
        { e: ep.flaky, since },
      );
      assert.equal(started.body.errors, undefined, JSON.stringify(started.body.errors));
      const r = started.body.data.recoverEndpoint;
      assert.deepEqual({ ...r, id: undefined }, { id: undefined, status: 'RUNNING', total: 3, failed: 3, waiting: 0, done: 0 });
      const seen: number[] = [];
      const done = await eventually(
        async () => {
          const q = await authed(h, op, RECOVERY, { id: r.id });
          assert.equal(q.body.errors, undefined, JSON.stringify(q.body.errors));
          seen.push(q.body.data.recovery.done);
          return q.body.data.recovery.status === 'DONE' && q.body.data.recovery;
        },
        10_000,
        'recovery done',
      );
      assert.equal(done.id, r.id);
      assert.equal(done.endpointId, ep.flaky);
      assert.equal(done.since, since);
      assert.deepEqual([done.total, done.failed, done.waiting, done.done], [3, 3, 0, 3]);
      assert.ok(Date.parse(done.updatedAt) >= Date.parse(done.createdAt));
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        'done only grows',
      );
      await eventually(async () => (await ids({ endpoint: ep.flaky, status: 'S' })).length === 3, 10_000, 'recovered deliveries delivered');
      assert.equal(rx.received.filter((x) => x.path === '/flaky').length, 3 * 2 + 3, 'two failed attempts each, then one success');
    });

    it('a recovery of another tenant, or none, is NOT_FOUND', async () => {
      const mine = (await authed(h, op, `mutation { recoverEndpoint(endpointId: "${ep.ok}", since: "2020-01-01T00:00:00Z") { id } }`)).body
        .data.recoverEndpoint.id;
      const globexId = (await h.api('GET', '/v1/tenants/globex')).body.id;
      const globexUser = await logInAs(h, { role: 'tenant', tenantId: globexId });
      for (const [session, id] of [
        [globexUser, mine],
        [op, 'rcv_nope'],
      ]) {
        const q = await authed(h, session, RECOVERY, { id });
        assert.equal(q.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(q.body));
      }
      const production = await logInAs(h, { environment: 'PRODUCTION' });
      const other = await authed(h, production, RECOVERY, { id: mine });
      assert.equal(other.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', 'another environment');
    });

    it('report { subscriptionsByState } counts the subscriptions the billing webhooks recorded, per state', async () => {
      const src = (await h.api('POST', '/v1/tenants/acme/sources', { provider: 'chargify', name: 'Chargify', secret: 'shared' })).body;
      let n = 0;
      const chargify = async (event: string, sub: number, state: string) => {
        const body = chargifyBody(++n, event, {
          'subscription.id': sub,
          'subscription.state': state,
          'subscription.currency': 'USD',
          'subscription.customer.reference': `cust-${sub}`,
          'subscription.product.id': 9,
          'subscription.product.name': 'Gold',
          'subscription.product.price_in_cents': 5000,
        });
        const r = await fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'shared').update(body).digest('hex'),
          },
          body,
        });
        const id = ((await r.json()) as { id: string }).id;
        await eventually(async () => (await h.api('GET', `/v1/tenants/acme/inbound/${id}`)).body.status === 'processed', 10_000, event);
      };
      for (const sub of [1, 2, 3, 4, 5]) {
        await h.api('POST', '/v1/tenants/acme/customers', { key: `cust-${sub}`, kind: 'person' });
        await chargify('signup_success', sub, 'active');
      }
      await chargify('subscription_state_change', 2, 'past_due');
      await chargify('subscription_state_change', 3, 'canceled');
      await chargify('subscription_state_change', 4, 'canceled');
      const r = await authed(h, op, '{ report(tenant: "acme") { subscriptionsByState { state count } } }');
      assert.deepEqual(r.body.data.report.subscriptionsByState, [
        { state: 'active', count: 2 },
        { state: 'canceled', count: 2 },
        { state: 'past_due', count: 1 },
      ]);
      // Whatever the window: they are the subscriptions as they stand now.
      const old = await authed(
        h,
        op,
        '{ report(tenant: "acme", from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z") { subscriptionsByState { state count } } }',
      );
      assert.equal(old.body.data.report.subscriptionsByState.length, 3);
      const globex = await authed(h, op, '{ report(tenant: "globex") { subscriptionsByState { state count } } }');
      assert.deepEqual(globex.body.data.report.subscriptionsByState, []);
    });

    it('client tokens: recovery and events(endpoint) need events:read, subscriptionsByState billing:read', async () => {
      const pk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: ['https://shop.example.com'] })).body.key;
      const sessionWith = async (capabilities: string[]) => {
        const m = await h.api('POST', '/v1/tenants/acme/client-tokens', { capabilities });
        const r = await gql(h, 'public', { query: EXCHANGE, variables: { input: { publicKey: pk, clientToken: m.body.token } } });
        return r.body.data.exchangeClientToken.login.sessions[0].sessionKey as string;
      };
      const rcv = (await authed(h, op, `mutation { recoverEndpoint(endpointId: "${ep.flaky}", since: "2020-01-01T00:00:00Z") { id } }`))
        .body.data.recoverEndpoint.id;
      const refusal = (r: { body: any }) => {
        const e = r.body.errors?.[0];
        return e && `${e.extensions.code} ${/lacks the "([^"]+)" capability/.exec(e.message)?.[1]}`;
      };

      const reports = await sessionWith(['reports:read']);
      assert.equal(refusal(await authed(h, reports, '{ report { subscriptionsByState { state } } }')), 'FORBIDDEN billing:read');
      assert.equal(refusal(await authed(h, reports, RECOVERY, { id: rcv })), 'FORBIDDEN events:read');
      assert.equal(refusal(await authed(h, reports, `{ events(endpoint: "${ep.ok}") { nodes { id } } }`)), 'FORBIDDEN events:read');

      const billing = await sessionWith(['reports:read', 'billing:read']);
      const counted = await authed(h, billing, '{ report { subscriptionsByState { state count } } }');
      assert.equal(counted.body.data.report.subscriptionsByState.length, 3);

      const log = await sessionWith(['events:read']);
      const q = await authed(h, log, RECOVERY, { id: rcv });
      assert.equal(q.body.data.recovery.id, rcv);
      assert.equal((await authed(h, log, `{ events(endpoint: "${ep.ok}") { nodes { id } } }`)).body.data.events.nodes.length, 5);
      // Reading a recovery is not starting one.
      assert.equal(
        refusal(await authed(h, log, `mutation { recoverEndpoint(endpointId: "${ep.ok}", since: "2020-01-01T00:00:00Z") { id } }`)),
        'FORBIDDEN events:resend',
      );
    });
  });
}
