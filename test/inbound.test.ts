import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { chargifyBody } from './helpers/chargify.js';
import { Receiver } from './helpers/receiver.js';

const FORM = 'application/x-www-form-urlencoded';
const chargifySig = (key: string, body: string) => createHmac('sha256', key).update(body).digest('hex');

for (const dialect of DIALECTS) {
  describe(`receiving webhooks (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let n = 0;
    before(async () => {
      h = await startHerald(dialect, { HERALD_INBOUND_MAX_BYTES: '4096', HERALD_INBOUND_REJECTIONS_STORED: '3' });
      rx = await new Receiver().start();
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    async function tenant() {
      const uid = `in${++n}`;
      await h.api('POST', '/v1/tenants', { name: uid, uid });
      return uid;
    }
    const post = (sourceId: string, body: string | Buffer, headers: Record<string, string>) =>
      fetch(`${h.url}/in/${sourceId}`, { method: 'POST', headers, body }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as any,
      }));

    it('creates a source with its URL; a chargify source needs the shared key, a github one gets a secret made', async () => {
      const uid = await tenant();
      const missing = await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'Chargify' });
      assert.equal(missing.status, 400);
      assert.match(missing.body.error.message, /shared key/);
      const src = await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'Chargify', secret: 'site-key' });
      assert.equal(src.status, 201);
      assert.match(src.body.url, new RegExp(`/in/${src.body.id}$`));
      assert.equal(src.body.secret, 'site-key');
      const gh = await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'github', name: 'GitHub' });
      assert.ok(gh.body.secret.length >= 24);
      assert.equal((await h.api('GET', `/v1/tenants/${uid}/sources/${gh.body.id}/secret`)).body.secret, gh.body.secret);
      assert.equal((await h.api('GET', `/v1/tenants/${uid}/sources`)).body.data.length, 2);
      // The provider's common event types exist at once, so endpoints can subscribe to them.
      assert.equal((await h.api('GET', '/v1/event-types/chargify.payment_success')).status, 200);
      const bad = await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'paypal', name: 'x', secret: 'y' });
      assert.equal(bad.status, 400);
    });

    it('stores a verified Chargify webhook, answers 200, and forwards it as a signed event; a duplicate is answered and not processed twice', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'Chargify', secret: 'site-key' })).body;
      const ep = (
        await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/fwd-${uid}`, eventTypes: ['chargify.payment_success'] })
      ).body;
      const body = chargifyBody(9001, 'payment_success', {
        'subscription.id': 77,
        'subscription.customer.reference': 'nobody-yet',
        'transaction.id': 5,
        'transaction.amount_in_cents': 1999,
      });
      const headers = {
        'content-type': FORM,
        'x-chargify-webhook-signature-hmac-sha-256': chargifySig('site-key', body),
        'x-chargify-webhook-id': '9001',
      };
      const first = await post(src.id, body, headers);
      assert.equal(first.status, 200);
      assert.equal(first.body.status, 'accepted');
      const again = await post(src.id, body, headers);
      assert.deepEqual(again, { status: 200, body: { id: first.body.id, status: 'duplicate' } });

      await rx.waitFor((r) => r.some((x) => x.path === `/fwd-${uid}`));
      const got = rx.received.filter((r) => r.path === `/fwd-${uid}`);
      const delivered = JSON.parse(got[0].body);
      assert.equal(delivered.type, 'chargify.payment_success');
      assert.deepEqual(delivered.data.payload.transaction, { id: '5', amount_in_cents: '1999' });
      const key = Buffer.from(ep.secret.slice(6), 'base64');
      const expected = createHmac('sha256', key)
        .update(`${got[0].headers['webhook-id']}.${got[0].headers['webhook-timestamp']}.${got[0].body}`)
        .digest('base64');
      assert.equal(got[0].headers['webhook-signature'], `v1,${expected}`);

      const msg = await eventually(async () => {
        const m = (await h.api('GET', `/v1/tenants/${uid}/inbound/${first.body.id}`)).body;
        return m.status !== 'received' && m;
      });
      // No customer with that key: held as unmatched, with the reason, but forwarded all the same.
      assert.equal(msg.status, 'unmatched');
      assert.match(msg.reason, /no customer with key "nobody-yet"/);
      assert.equal(msg.duplicates, 1);
      assert.equal(msg.dedupeKey, '9001');
      assert.equal(msg.body, body);
      assert.equal(msg.headers['x-chargify-webhook-id'], '9001');
      assert.equal(msg.eventId, delivered.id);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rx.received.filter((r) => r.path === `/fwd-${uid}`).length, 1, 'the duplicate was not forwarded');
    });

    it('answers 401 to a bad signature and keeps the request as rejected, with its reason', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'Chargify', secret: 'site-key' })).body;
      const body = chargifyBody(1, 'test', { chargify: 'testing' });
      const r = await post(src.id, body, {
        'content-type': FORM,
        'x-chargify-webhook-signature-hmac-sha-256': chargifySig('wrong-key', body),
      });
      assert.equal(r.status, 401);
      assert.match(r.body.error.message, /does not match/);
      const none = await post(src.id, body, { 'content-type': FORM });
      assert.equal(none.status, 401);
      const list = (await h.api('GET', `/v1/tenants/${uid}/inbound?status=rejected`)).body.data;
      assert.equal(list.length, 2);
      assert.match(list[0].reason, /missing X-Chargify-Webhook-Signature/);
      assert.match(list[1].reason, /does not match/);
    });

    it('the same provider id sent many times at once is stored once; every other copy is counted and answered with it', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'github', name: 'gh', secret: 's' })).body;
      const body = '{"zen":"at once"}';
      const headers = {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': 'same-delivery',
        'x-hub-signature-256': 'sha256=' + createHmac('sha256', 's').update(body).digest('hex'),
      };
      // Sent together, they share group commits: the duplicates of one group are counted after it.
      const answers = await Promise.all(Array.from({ length: 12 }, () => post(src.id, body, headers)));
      assert.ok(answers.every((a) => a.status === 200));
      assert.equal(answers.filter((a) => a.body.status === 'accepted').length, 1);
      assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'every copy is answered with the stored one');
      const stored = (await h.api('GET', `/v1/tenants/${uid}/inbound`)).body.data;
      assert.equal(stored.length, 1);
      assert.equal(stored[0].duplicates, 11);
    });

    it('stores a flood of forged requests only up to a rate, and refuses every one of them', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'github', name: 'gh', secret: 's' })).body;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(src.id, `{"n":${i}}`, {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-hub-signature-256': 'sha256=' + '0'.repeat(64),
          }),
        ),
      );
      assert.ok(answers.every((a) => a.status === 401));
      assert.ok(answers.some((a) => /too many refused requests for this source right now/.test(a.body.error.message)));
      const stored = (await h.api('GET', `/v1/tenants/${uid}/inbound?status=rejected&limit=250`)).body.data.length;
      assert.ok(stored >= 3 && stored < 20, `stored ${stored} of 20`);
    });

    it('refuses malformed bodies, stale timestamps, oversized bodies and unknown sources with a clear 4xx', async () => {
      const uid = await tenant();
      const chargify = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'chargify', name: 'c', secret: 'k' })).body;
      const truncated = 'id=5&event=payment_success&payload[subscription][id';
      const r1 = await post(chargify.id, truncated, {
        'content-type': FORM,
        'x-chargify-webhook-signature-hmac-sha-256': chargifySig('k', truncated),
      });
      assert.equal(r1.status, 400);
      assert.match(r1.body.error.message, /unbalanced brackets/);
      const badUtf8 = Buffer.from([0x69, 0x64, 0x3d, 0xff, 0xfe]);
      const r2 = await post(chargify.id, badUtf8, {
        'content-type': FORM,
        'x-chargify-webhook-signature-hmac-sha-256': chargifySig('k', badUtf8 as unknown as string),
      });
      assert.equal(r2.status, 400);
      assert.match(r2.body.error.message, /UTF-8/);
      const stored = (await h.api('GET', `/v1/tenants/${uid}/inbound?status=rejected`)).body.data;
      assert.equal(stored.length, 2);
      const raw = (await h.api('GET', `/v1/tenants/${uid}/inbound/${stored[0].id}`)).body;
      assert.deepEqual({ body: raw.body, bodyEncoding: raw.bodyEncoding }, { body: badUtf8.toString('base64'), bodyEncoding: 'base64' });

      const stripe = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'stripe', name: 's', secret: 'whsec_x' })).body;
      const body = '{"id":"evt_1","type":"charge.succeeded","data":{"object":{}}}';
      const t = Math.floor(Date.now() / 1000) - 600;
      const stale = await post(stripe.id, body, {
        'content-type': 'application/json',
        'stripe-signature': `t=${t},v1=${createHmac('sha256', 'whsec_x').update(`${t}.${body}`).digest('hex')}`,
      });
      assert.equal(stale.status, 401);
      assert.match(stale.body.error.message, /tolerance/);

      const big = 'x'.repeat(5000);
      const tooBig = await post(chargify.id, big, { 'content-type': FORM });
      assert.equal(tooBig.status, 413);
      assert.match(tooBig.body.error.message, /4096/);
      const rejected = (await h.api('GET', `/v1/tenants/${uid}/inbound?source=${chargify.id}&status=rejected`)).body.data;
      assert.match(rejected[0].reason, /larger than the limit of 4096 bytes/);

      const unknown = await post('src_nope', '{}', { 'content-type': 'application/json' });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error.message, /source "src_nope"/);
      // A request with no content type at all is still taken as bytes.
      const bare = await fetch(`${h.url}/in/${chargify.id}`, { method: 'POST', body: new Uint8Array([1, 2]) });
      assert.equal(bare.status, 401);
    });

    it('github: JSON and form bodies, deduplicated on X-GitHub-Delivery, forwarded as github.<event>', async () => {
      const uid = await tenant();
      const src = (
        await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'github', name: 'gh', secret: "It's a Secret to Everybody" })
      ).body;
      await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/gh-${uid}`, eventTypes: ['github.push'] });
      const json = '{"ref":"refs/heads/main","commits":[]}';
      const sig = (b: string) => 'sha256=' + createHmac('sha256', "It's a Secret to Everybody").update(b).digest('hex');
      const a = await post(src.id, json, {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': sig(json),
      });
      const form = 'payload=' + encodeURIComponent('{"ref":"refs/heads/dev"}');
      const b = await post(src.id, form, {
        'content-type': FORM,
        'x-github-event': 'push',
        'x-github-delivery': 'd-2',
        'x-hub-signature-256': sig(form),
      });
      const c = await post(src.id, json, {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': sig(json),
      });
      assert.deepEqual([a.body.status, b.body.status, c.body.status], ['accepted', 'accepted', 'duplicate']);
      await rx.waitFor((r) => r.filter((x) => x.path === `/gh-${uid}`).length === 2);
      const refs = rx.received
        .filter((x) => x.path === `/gh-${uid}`)
        .map((x) => JSON.parse(x.body).data.ref)
        .sort();
      assert.deepEqual(refs, ['refs/heads/dev', 'refs/heads/main']);
    });

    it('an endpoint with format "original" gets the provider’s body and headers unchanged, and Herald’s signature beside them', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'shopify', name: 'shop', secret: 'shpss' })).body;
      const ep = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/orig-${uid}`, format: 'original' })).body;
      const body = '{"id":820982911946154508,"email":"jon@example.com"}';
      const sig = createHmac('sha256', 'shpss').update(body).digest('base64');
      const r = await post(src.id, body, {
        'content-type': 'application/json',
        'x-shopify-hmac-sha256': sig,
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': 'w-1',
      });
      assert.equal(r.status, 200);
      await rx.waitFor((x) => x.some((y) => y.path === `/orig-${uid}`));
      const got = rx.received.find((x) => x.path === `/orig-${uid}`)!;
      assert.equal(got.body, body);
      assert.equal(got.headers['x-shopify-hmac-sha256'], sig);
      assert.equal(got.headers['x-shopify-topic'], 'orders/create');
      const key = Buffer.from(ep.secret.slice(6), 'base64');
      assert.equal(
        got.headers['webhook-signature'],
        'v1,' +
          createHmac('sha256', key).update(`${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.${body}`).digest('base64'),
      );
    });

    it('token and basic sources: the credential is checked and never stored in the clear', async () => {
      const uid = await tenant();
      const src = (
        await h.api('POST', `/v1/tenants/${uid}/sources`, {
          provider: 'token',
          name: 'pfy',
          secret: 'tok-123',
          options: { header: 'x-pfy-webhook-token' },
        })
      ).body;
      const ok = await post(src.id, '{"triggerType":"KYC_STATUS_UPDATE","eventPayload":{}}', {
        'content-type': 'application/json',
        'x-pfy-webhook-token': 'tok-123',
      });
      assert.equal(ok.status, 200);
      const m = (await h.api('GET', `/v1/tenants/${uid}/inbound/${ok.body.id}`)).body;
      assert.equal(m.headers['x-pfy-webhook-token'], '[redacted]');
      assert.equal(m.eventType, 'token.KYC_STATUS_UPDATE');
      const bad = await post(src.id, '{}', { 'content-type': 'application/json', 'x-pfy-webhook-token': 'tok-124' });
      assert.equal(bad.status, 401);
      const basic = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'basic', name: 'b' })).body;
      assert.match(basic.secret, /^herald:/);
      const auth = 'Basic ' + Buffer.from(basic.secret).toString('base64');
      assert.equal((await post(basic.id, '{"type":"x"}', { 'content-type': 'application/json', authorization: auth })).status, 200);
      assert.equal(
        (
          await post(basic.id, '{"type":"x"}', {
            'content-type': 'application/json',
            authorization: 'Basic ' + Buffer.from('herald:no').toString('base64'),
          })
        ).status,
        401,
      );
    });

    it('a disabled source refuses with 403; a deleted one answers 404', async () => {
      const uid = await tenant();
      const src = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'token', name: 't', secret: 'x' })).body;
      assert.equal((await post(src.id, '{}', { 'content-type': 'application/json', 'x-webhook-token': 'x' })).status, 200);
      // This node sees the change at once (other nodes within the source cache's 5 s).
      await h.api('PATCH', `/v1/tenants/${uid}/sources/${src.id}`, { enabled: false });
      const refused = await post(src.id, '{}', { 'content-type': 'application/json', 'x-webhook-token': 'x' });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /disabled/);
      assert.equal((await h.api('DELETE', `/v1/tenants/${uid}/sources/${src.id}`)).status, 204);
      assert.equal((await post(src.id, '{}', { 'content-type': 'application/json', 'x-webhook-token': 'x' })).status, 404);
    });
  });
}
