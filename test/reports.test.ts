import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { authed, logInAs } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';
import { asRolledUp, scanByEventType, scanFailingEndpoints, scanReport } from './helpers/reportScan.js';

// The delivery report end to end, on both dialects: a real Herald delivering to a real receiver
// (successes at varied latencies, retries, failures for good, a slow endpoint deleted with
// requests in flight whose 2xx answers come back after its deletion), resends and a bulk recovery
// through the REST API, and the GraphQL report (read from the rollups) compared with the report
// Herald computed before the rollups (a scan of events, deliveries and attempts).

const HOUR = 3_600_000;
const REPORT = `query($from: String!, $to: String!, $bucket: ReportBucket!) {
  report(from: $from, to: $to, bucket: $bucket) {
    buckets { start accepted delivered failed p50Ms p99Ms }
    totals { accepted delivered failed p50Ms p99Ms }
    byEventType { eventType accepted delivered failed p50Ms p99Ms }
    failingEndpoints(first: 10) { endpointId url deleted delivered failed }
  }
}`;

for (const dialect of DIALECTS) {
  describe(`the delivery report, end to end (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let failing = true;
    const tries = new Map<string, number>();
    before(async () => {
      h = await startHerald(dialect, {
        HERALD_RETRY_SCHEDULE: '0.1,0.1',
        HERALD_CIRCUIT_THRESHOLD: '1000',
        HERALD_SANDBOX_TENANT_PRIVATE: '1',
      });
      rx = await new Receiver((r, n) => {
        const id = String(r.headers['webhook-id']);
        tries.set(`${r.path} ${id}`, (tries.get(`${r.path} ${id}`) ?? 0) + 1);
        if (r.path.startsWith('/fail')) return failing ? { status: 500, body: 'no' } : { status: 200 };
        if (r.path.startsWith('/flaky')) return tries.get(`${r.path} ${id}`) === 1 ? { status: 503 } : { status: 204 };
        if (r.path.startsWith('/slow')) return { status: 200, delayMs: 1500 };
        return { status: 200, delayMs: (n * 37) % 240 };
      }).start();
    });
    after(async () => {
      await rx?.stop();
      await h?.close();
    });

    it('answers what the old scan answered, through retries, an endpoint deleted mid-flight, resends and a recovery', async () => {
      const started = Date.now();
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'Reports', uid: 'rep' })).body;
      for (const name of ['order.paid', 'order.refunded']) assert.equal((await h.api('POST', '/v1/event-types', { name })).status, 201);
      const endpoint = async (path: string, extra: Record<string, unknown> = {}) =>
        (await h.api('POST', '/v1/tenants/rep/endpoints', { url: `${rx.url}${path}`, ...extra })).body.id as string;
      const ok = await endpoint('/ok');
      const fail = await endpoint('/fail', { eventTypes: ['order.refunded'] });
      await endpoint('/flaky');
      const slow = await endpoint('/slow', { maxConcurrency: 2 });
      for (let i = 0; i < 12; i++) {
        const type = i % 3 === 0 ? 'order.refunded' : 'order.paid';
        assert.equal((await h.api('POST', '/v1/tenants/rep/events', { type, payload: { n: i } })).status, 202);
      }

      const db = h.herald.db;
      const inProgress = async () =>
        Number(
          (await db.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM deliveries WHERE tenant_id = $1 AND status = 'I'`, [tenant.id]))!
            .n,
        );
      // The slow endpoint is deleted while two of its requests are in flight: the rest fail at once,
      // and the two 2xx answers that come back afterwards make theirs delivered.
      await rx.waitFor(() => (rx.open.get('/slow') ?? 0) === 2, 10_000, 'two requests open at /slow');
      assert.equal((await h.api('DELETE', `/v1/tenants/rep/endpoints/${slow}`)).status, 204);
      // Finished: nothing in progress, and every request the receiver got at /slow answered and recorded.
      const sentToSlow = () => rx.received.filter((r) => r.path.startsWith('/slow')).length;
      const recordedAtSlow = async () =>
        Number(
          (await db.one<{ n: number | string }>(
            `SELECT COUNT(*) AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
            [slow],
          ))!.n,
        );
      await eventually(
        async () => (await inProgress()) === 0 && !rx.open.get('/slow') && (await recordedAtSlow()) === sentToSlow(),
        20_000,
        'every delivery finished',
      );
      const slowDelivered = sentToSlow();
      assert.ok(slowDelivered >= 2, 'the two requests in flight when /slow was deleted were answered 200 and count as delivered');

      const key = await logInAs(h, { role: 'tenant', tenantId: tenant.id });
      const from = Math.floor(started / HOUR) * HOUR - HOUR;
      const to = Math.floor(Date.now() / HOUR) * HOUR + 2 * HOUR;
      const compare = async (label: string) => {
        for (const bucket of ['hour', 'day'] as const) {
          const r = await authed(h, key, REPORT, {
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            bucket: bucket.toUpperCase(),
          });
          assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
          const got = r.body.data.report;
          const want = await scanReport(db, tenant.id, from, to, bucket);
          assert.deepEqual(got.buckets, want.buckets.map(asRolledUp), `${label}: ${bucket} buckets`);
          assert.deepEqual(got.totals, asRolledUp(want.totals), `${label}: totals`);
          assert.deepEqual(got.byEventType, (await scanByEventType(db, tenant.id, from, to)).map(asRolledUp), `${label}: by event type`);
          assert.deepEqual(got.failingEndpoints, await scanFailingEndpoints(db, tenant.id, from, to, 10), `${label}: failing endpoints`);
        }
        const r = await authed(h, key, REPORT, { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket: 'DAY' });
        return r.body.data.report;
      };

      const first = await compare('after delivery');
      assert.equal(first.totals.accepted, 12);
      // 12 to ok, 4 to fail, 12 to flaky, 12 to slow: delivered are ok's, flaky's (second try) and
      // what slow answered (those in flight at its deletion, at least); failed are fail's four and
      // the rest of slow's.
      assert.deepEqual([first.totals.delivered, first.totals.failed], [24 + slowDelivered, 16 - slowDelivered]);
      assert.deepEqual(
        new Set(first.failingEndpoints.map((e: any) => `${e.endpointId} ${e.deleted} ${e.failed}`)),
        new Set([`${slow} true ${12 - slowDelivered}`, `${fail} false 4`]),
      );
      assert.ok(first.totals.p50Ms !== null && first.totals.p99Ms >= first.totals.p50Ms);

      // Resend one delivered and one failed delivery: out of the report until they finish again.
      const deliveryOf = async (endpointId: string, status: string) =>
        (await db.one<{ id: string }>(`SELECT id FROM deliveries WHERE endpoint_id = $1 AND status = $2 ORDER BY id LIMIT 1`, [
          endpointId,
          status,
        ]))!.id;
      for (const id of [await deliveryOf(ok, 'S'), await deliveryOf(fail, 'F')]) {
        assert.equal((await h.api('POST', `/v1/tenants/rep/deliveries/${id}/resend`)).status, 202);
      }
      await eventually(async () => (await inProgress()) === 0, 20_000, 'the resent deliveries finished');
      await compare('after the resends');

      // The failing endpoint works again: a recovery sends its failed deliveries once more.
      failing = false;
      assert.equal(
        (await h.api('POST', `/v1/tenants/rep/endpoints/${fail}/recover`, { since: new Date(started - 60_000).toISOString() })).status,
        202,
      );
      await eventually(
        async () =>
          (await inProgress()) === 0 &&
          (await db.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = $1 AND status = 'S'`, [fail]))!
            .n == 4,
        20_000,
        'the recovery delivered',
      );
      const last = await compare('after the recovery');
      assert.deepEqual([last.totals.delivered, last.totals.failed], [28 + slowDelivered, 12 - slowDelivered]);
      assert.deepEqual(
        last.failingEndpoints.map((e: any) => e.endpointId),
        [slow],
      );
      assert.deepEqual(
        last.byEventType.map((t: any) => [t.eventType, t.accepted]),
        [
          ['order.paid', 8],
          ['order.refunded', 4],
        ],
      );

      const bad = await authed(h, key, '{ report { failingEndpoints(first: 0) { endpointId } } }');
      assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    });
  });
}
