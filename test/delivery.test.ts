import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

/** Verifies a Standard Webhooks signature the way a receiver's library does, independently of Herald's code. */
function verify(secret: string, headers: Record<string, any>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return String(headers['webhook-signature'])
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

for (const dialect of DIALECTS) {
  describe(`delivery (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let n = 0;
    // Retries 0.2 s apart: three attempts in all.
    before(async () => {
      h = await startHerald(dialect, {
        HERALD_RETRY_SCHEDULE: '0.2,0.2',
        HERALD_DELIVERY_TIMEOUT: '1',
        HERALD_TOKEN_HEADER: 'x-pfy-webhook-token',
      });
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      await h.api('POST', '/v1/event-types', { name: 'order.paid', example: { orderId: 'o_example' } });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    /** A tenant with one endpoint on the receiver at `path`. */
    async function setup(path: string, endpoint: Record<string, unknown> = {}) {
      const uid = `t${++n}`;
      const tenant = (await h.api('POST', '/v1/tenants', { name: uid, uid })).body;
      const ep = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}${path}`, ...endpoint })).body;
      return { uid, tenant, ep };
    }
    const at = (path: string) => rx.received.filter((r) => r.path === path);
    const event = async (uid: string, id: string) => (await h.api('GET', `/v1/tenants/${uid}/events/${id}`)).body;

    it('delivers a signed Standard Webhooks request with the tenant token and custom headers', async () => {
      const { uid, tenant, ep } = await setup('/std', { headers: { 'x-custom': 'yes' } });
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, {
        type: 'order.paid',
        payload: { orderId: 'o_1', amount: 1250, note: 'ünïcode ✓' },
        occurredAt: '2024-01-02T03:04:05.000Z',
      });
      assert.equal(sent.body.status, 'I');
      await rx.waitFor(() => at('/std').length === 1);
      const [r] = at('/std');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.match(String(r.headers['user-agent']), /^Herald\//);
      assert.equal(r.headers['webhook-id'], sent.body.id);
      assert.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 10);
      assert.equal(r.headers['x-pfy-webhook-token'], tenant.token);
      assert.equal(r.headers['x-custom'], 'yes');
      assert.ok(verify(ep.secret, r.headers, r.body), 'signature verifies over the exact bytes');
      assert.deepEqual(JSON.parse(r.body), {
        id: sent.body.id,
        type: 'order.paid',
        timestamp: '2024-01-02T03:04:05.000Z',
        data: { orderId: 'o_1', amount: 1250, note: 'ünïcode ✓' },
      });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'S' && e;
        },
        5000,
        'status S',
      );
      assert.equal(ev.deliveries[0].status, 'S');
      assert.equal(ev.deliveries[0].attempts, 1);
      assert.equal(ev.deliveries[0].lastStatusCode, 200);
    });

    it('sends the Productfy envelope to a productfy-format endpoint', async () => {
      const { uid, ep } = await setup('/pfy', { format: 'productfy', eventTypes: ['KycUpdate'] });
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, {
        type: 'KycUpdate',
        payload: { personId: 'Pfy_P-6wcqlYw6n', kycStatus: 'F', kycDescription: 'Automatically failed based on rule engine' },
        occurredAt: '2021-07-09T09:15:18.223Z',
      });
      await rx.waitFor(() => at('/pfy').length === 1);
      const body = JSON.parse(at('/pfy')[0].body);
      assert.deepEqual(Object.keys(body), ['id', 'status', 'createdTs', 'callbackUrl', 'triggerType', 'eventPayload', 'triggeringEventTs']);
      assert.equal(body.id, sent.body.id);
      assert.equal(body.status, 'I');
      assert.equal(body.createdTs, sent.body.createdAt);
      assert.equal(body.callbackUrl, ep.url);
      assert.equal(body.triggerType, 'KycUpdate');
      assert.equal(body.triggeringEventTs, '2021-07-09T09:15:18.223Z');
      assert.equal(body.eventPayload.personId, 'Pfy_P-6wcqlYw6n');
    });

    it('sends CloudEvents 1.0 in structured mode to a cloudevents-format endpoint, signed like every format', async () => {
      const { uid, tenant, ep } = await setup('/ce', { format: 'cloudevents' });
      assert.equal(ep.format, 'cloudevents');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, {
        type: 'order.paid',
        payload: { orderId: 'o_ce', amount: 5 },
        occurredAt: '2024-05-06T07:08:09.000Z',
      });
      await rx.waitFor(() => at('/ce').length === 1);
      const [r] = at('/ce');
      assert.equal(r.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
      const ce = JSON.parse(r.body);
      assert.deepEqual(ce, {
        specversion: '1.0',
        id: sent.body.id,
        source: `/tenants/${tenant.id}`,
        type: 'order.paid',
        time: '2024-05-06T07:08:09.000Z',
        datacontenttype: 'application/json',
        data: { orderId: 'o_ce', amount: 5 },
      });
      assert.ok(verify(ep.secret, r.headers, r.body), 'signature verifies over the exact bytes');
    });

    it('delivers only to endpoints subscribed to the type (none = all)', async () => {
      const { uid } = await setup('/sub-kyc', { eventTypes: ['KycUpdate'] });
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/sub-all` });
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/sub-card`, eventTypes: ['PymtCard'] });
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'KycUpdate', payload: { personId: 'p', kycStatus: 'P' } });
      await rx.waitFor(() => at('/sub-kyc').length === 1 && at('/sub-all').length === 1);
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'S' && e;
        },
        5000,
        'status S',
      );
      assert.equal(ev.deliveries.length, 2);
      assert.equal(at('/sub-card').length, 0);
    });

    it('retries failures on the schedule, logs every attempt, then fails the delivery and the event', async () => {
      rx.respond = (r) => (r.path === '/down' ? { status: 500, body: 'x'.repeat(10_000) } : { status: 200 });
      const { uid } = await setup('/down');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_2' } });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'F' && e;
        },
        8000,
        'status F',
      );
      assert.equal(at('/down').length, 3, 'first try + two retries');
      assert.ok(new Set(at('/down').map((r) => r.headers['webhook-id'])).size === 1, 'webhook-id is the same on every retry');
      const d = ev.deliveries[0];
      assert.equal(d.status, 'F');
      assert.equal(d.attempts, 3);
      assert.equal(d.nextAttemptAt, null);
      const attempts = (await h.api('GET', `/v1/tenants/${uid}/deliveries/${d.id}/attempts`)).body.data;
      assert.deepEqual(
        attempts.map((a: any) => a.attempt),
        [3, 2, 1],
      );
      for (const a of attempts) {
        assert.equal(a.statusCode, 500);
        assert.equal(a.responseBody.length, 4096, 'the first 4 KiB of the answer is kept');
        assert.equal(typeof a.durationMs, 'number');
      }
      const gap = at('/down')[1].at - at('/down')[0].at;
      assert.ok(gap >= 150, `retry waited ${gap} ms`);
    });

    it('succeeds on a later attempt after failures', async () => {
      let calls = 0;
      rx.respond = (r) => (r.path === '/flaky' ? { status: ++calls < 2 ? 503 : 204 } : { status: 200 });
      const { uid } = await setup('/flaky');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_3' } });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'S' && e;
        },
        5000,
        'status S',
      );
      assert.equal(ev.deliveries[0].attempts, 2);
    });

    it('treats a 3xx as a failure and never follows it', async () => {
      rx.respond = (r) => (r.path === '/moved' ? { status: 302, headers: { location: `${rx.url}/elsewhere` } } : { status: 200 });
      const { uid } = await setup('/moved');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_4' } });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'F' && e;
        },
        8000,
        'status F',
      );
      assert.equal(at('/elsewhere').length, 0);
      assert.match(ev.deliveries[0].lastError, /redirect/);
    });

    it('honours retry-after on a 429', async () => {
      let calls = 0;
      rx.respond = (r) =>
        r.path === '/slowdown' ? (++calls === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }) : { status: 200 };
      const { uid } = await setup('/slowdown');
      await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_5' } });
      await rx.waitFor(() => at('/slowdown').length === 2, 5000);
      const gap = at('/slowdown')[1].at - at('/slowdown')[0].at;
      assert.ok(gap >= 900, `waited ${gap} ms for retry-after: 1`);
    });

    it('times out a hanging endpoint and records the timeout', async () => {
      rx.respond = (r) => (r.path === '/hang' ? { status: 200, delayMs: 3000 } : { status: 200 });
      const { uid } = await setup('/hang');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_6' } });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.deliveries[0].attempts >= 1 && e;
        },
        5000,
        'an attempt',
      );
      assert.match(ev.deliveries[0].lastError, /timed out/);
    });

    it('records a connection error against an endpoint that is not listening', async () => {
      const uid = `t${++n}`;
      await h.api('POST', '/v1/tenants', { name: uid, uid });
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: 'http://127.0.0.1:9/nothing' });
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_7' } });
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'F' && e;
        },
        8000,
        'status F',
      );
      assert.match(ev.deliveries[0].lastError, /ECONNREFUSED/);
    });

    it('signs with both secrets for a day after a rotation', async () => {
      rx.respond = () => ({ status: 200 });
      const { uid, ep } = await setup('/rotate');
      const { secret } = (await h.api('POST', `/v1/tenants/${uid}/endpoints/${ep.id}/rotate-secret`)).body;
      await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_8' } });
      await rx.waitFor(() => at('/rotate').length === 1);
      const [r] = at('/rotate');
      assert.equal(String(r.headers['webhook-signature']).split(' ').length, 2);
      assert.ok(verify(secret, r.headers, r.body), 'new secret verifies');
      assert.ok(verify(ep.secret, r.headers, r.body), 'old secret still verifies');
    });

    it('sends a test event to one endpoint with the type example', async () => {
      const { uid, ep } = await setup('/test-a', { eventTypes: ['KycUpdate'] });
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/test-b` });
      const r = await h.api('POST', `/v1/tenants/${uid}/endpoints/${ep.id}/test`, {});
      assert.equal(r.status, 202);
      await rx.waitFor(() => at('/test-a').length === 1);
      const body = JSON.parse(at('/test-a')[0].body);
      assert.equal(body.id, r.body.eventId);
      assert.equal(body.type, 'KycUpdate');
      assert.equal(body.data.kycDescription, 'Automatically failed based on rule engine');
      const other = await h.api('POST', `/v1/tenants/${uid}/endpoints/${ep.id}/test`, { eventType: 'order.paid' });
      await rx.waitFor(() => at('/test-a').length === 2);
      assert.equal(JSON.parse(at('/test-a')[1].body).data.orderId, 'o_example');
      assert.equal(other.status, 202);
      assert.equal(at('/test-b').length, 0, 'only the tested endpoint receives it');
      assert.equal((await h.api('POST', `/v1/tenants/${uid}/endpoints/${ep.id}/test`, { eventType: 'nope' })).status, 400);
    });

    it('resends a failed delivery on request', async () => {
      let up = false;
      rx.respond = (r) => (r.path === '/resend' ? { status: up ? 200 : 500 } : { status: 200 });
      const { uid } = await setup('/resend');
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_9' } });
      const failed = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'F' && e;
        },
        8000,
        'status F',
      );
      up = true;
      const r = await h.api('POST', `/v1/tenants/${uid}/deliveries/${failed.deliveries[0].id}/resend`);
      assert.equal(r.status, 202);
      const ok = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'S' && e;
        },
        5000,
        'status S',
      );
      assert.equal(ok.deliveries[0].attempts, 4);
    });

    it('fails what is pending for a deleted endpoint instead of leaving the event in progress', async () => {
      rx.respond = (r) => (r.path === '/gone' ? { status: 500 } : { status: 200 });
      const uid = `t${++n}`;
      await h.api('POST', '/v1/tenants', { name: uid, uid });
      // A long schedule: the delivery waits for its retry when the endpoint is deleted.
      const ep = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/gone` })).body;
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, { type: 'order.paid', payload: { orderId: 'o_10' } });
      await rx.waitFor(() => at('/gone').length >= 1);
      await h.api('DELETE', `/v1/tenants/${uid}/endpoints/${ep.id}`);
      const ev = await eventually(
        async () => {
          const e = await event(uid, sent.body.id);
          return e.status === 'F' && e;
        },
        5000,
        'status F',
      );
      assert.ok(
        ['endpoint deleted', 'endpoint disabled or deleted'].includes(ev.deliveries[0].lastError) ||
          /answered 500/.test(ev.deliveries[0].lastError),
      );
    });
  });
}
