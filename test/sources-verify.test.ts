import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { MalformedForm, parseForm } from '../src/sources/formBody.js';
import { type InboundRequest, MalformedBody, PROVIDERS } from '../src/sources/providers/index.js';

const req = (headers: Record<string, string>, body: string | Buffer, receivedAt = Date.now()): InboundRequest => ({
  headers,
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  receivedAt,
});

describe('verification, with the providers’ documented test vectors', () => {
  it('chargify: key "123", body "payload[chargify]=testing&event=test"', () => {
    // Expected value computed with `openssl dgst -sha256 -hmac 123`, not with Herald's code.
    const body = 'payload[chargify]=testing&event=test';
    const sig = '19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1';
    assert.equal(PROVIDERS.chargify.verify(req({ 'x-chargify-webhook-signature-hmac-sha-256': sig }, body), '123', {}), null);
    assert.match(
      PROVIDERS.chargify.verify(req({ 'x-chargify-webhook-signature-hmac-sha-256': sig }, body + ' '), '123', {})!,
      /does not match/,
    );
    assert.match(PROVIDERS.chargify.verify(req({ 'x-chargify-webhook-signature-hmac-sha-256': sig }, body), '124', {})!, /does not match/);
    assert.match(PROVIDERS.chargify.verify(req({}, body), '123', {})!, /missing X-Chargify-Webhook-Signature-Hmac-Sha-256/);
    const parsed = PROVIDERS.chargify.parse(req({ 'content-type': 'application/x-www-form-urlencoded' }, body));
    assert.equal(parsed.type, 'chargify.test');
    assert.deepEqual(JSON.parse(parsed.payload), { payload: { chargify: 'testing' }, event: 'test' });
  });

  it('github: secret "It\'s a Secret to Everybody", body "Hello, World!"', () => {
    const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'; // from GitHub's documentation
    assert.equal(PROVIDERS.github.verify(req({ 'x-hub-signature-256': sig }, 'Hello, World!'), "It's a Secret to Everybody", {}), null);
    assert.match(
      PROVIDERS.github.verify(req({ 'x-hub-signature-256': sig }, 'Hello, World?'), "It's a Secret to Everybody", {})!,
      /does not match/,
    );
    assert.match(
      PROVIDERS.github.verify(req({ 'x-hub-signature-256': sig.slice(7) }, 'Hello, World!'), "It's a Secret to Everybody", {})!,
      /sha256=/,
    );
  });

  it('github: reads JSON bodies and form bodies with a payload field; dedupes on X-GitHub-Delivery', () => {
    const headers = { 'x-github-event': 'push', 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
    const json = PROVIDERS.github.parse(req({ ...headers, 'content-type': 'application/json' }, '{"ref":"refs/heads/main"}'));
    assert.deepEqual(json, { type: 'github.push', payload: '{"ref":"refs/heads/main"}', dedupeKey: headers['x-github-delivery'] });
    const form = PROVIDERS.github.parse(
      req(
        { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        'payload=' + encodeURIComponent('{"ref":"refs/heads/main"}'),
      ),
    );
    assert.equal(form.payload, '{"ref":"refs/heads/main"}');
    assert.throws(
      () => PROVIDERS.github.parse(req({ ...headers, 'content-type': 'application/x-www-form-urlencoded' }, 'payload=%7Bnot')),
      MalformedBody,
    );
  });

  it('stripe: t and several v1 (a secret roll), 300 s tolerance for old timestamps', () => {
    const secret = 'whsec_test_secret';
    const body = '{"id":"evt_1","type":"charge.succeeded"}';
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    const other = createHmac('sha256', 'whsec_old').update(`${t}.${body}`).digest('hex');
    assert.equal(PROVIDERS.stripe.verify(req({ 'stripe-signature': `t=${t},v1=${other},v1=${v1},v0=zzz` }, body, now), secret, {}), null);
    assert.match(PROVIDERS.stripe.verify(req({ 'stripe-signature': `t=${t},v1=${other}` }, body, now), secret, {})!, /no v1 signature/);
    assert.match(PROVIDERS.stripe.verify(req({ 'stripe-signature': `t=${t},v1=${v1}` }, body, now + 301_000), secret, {})!, /301 s old/);
    assert.equal(PROVIDERS.stripe.verify(req({ 'stripe-signature': `t=${t},v1=${v1}` }, body, now + 299_000), secret, {}), null);
    assert.match(PROVIDERS.stripe.verify(req({ 'stripe-signature': `v1=${v1}` }, body, now), secret, {})!, /no valid t=/);
    assert.deepEqual(PROVIDERS.stripe.parse(req({}, body)), { type: 'stripe.charge.succeeded', payload: body, dedupeKey: 'evt_1' });
  });

  it('shopify: base64 HMAC of the raw body; dedupes on X-Shopify-Webhook-Id', () => {
    // Expected value from `printf '{"id":1}' | openssl dgst -sha256 -hmac shpss_secret -binary | base64`.
    const sig = 'xocA3LkeJ/RvNrkxep1EUtFHuj7rIoIqZYaLU26LyPQ=';
    const headers = {
      'x-shopify-hmac-sha256': sig,
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    };
    assert.equal(PROVIDERS.shopify.verify(req(headers, '{"id":1}'), 'shpss_secret', {}), null);
    assert.match(PROVIDERS.shopify.verify(req(headers, '{"id":2}'), 'shpss_secret', {})!, /does not match/);
    assert.deepEqual(PROVIDERS.shopify.parse(req(headers, '{"id":1}')), {
      type: 'shopify.orders.create',
      payload: '{"id":1}',
      dedupeKey: headers['x-shopify-webhook-id'],
    });
  });

  it('standard: the Standard Webhooks specification’s test vector, tolerance both ways', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const body = '{"test": 2432232314}';
    const at = 1614265330_000;
    assert.equal(PROVIDERS.standard.verify(req(headers, body, at), secret, {}), null);
    assert.match(PROVIDERS.standard.verify(req(headers, body, at + 301_000), secret, {})!, /301 s old/);
    assert.match(PROVIDERS.standard.verify(req(headers, body, at - 301_000), secret, {})!, /in the future/);
    assert.match(
      PROVIDERS.standard.verify(
        req({ ...headers, 'webhook-signature': 'v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo=' }, body, at),
        secret,
        {},
      )!,
      /no v1 signature/,
    );
  });

  it('compares a signature whole: a prefix, a longer value or a non-ASCII one of the same length never matches', () => {
    const body = 'payload[chargify]=testing&event=test';
    const sig = '19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1';
    const check = (given: string) =>
      PROVIDERS.chargify.verify(req({ 'x-chargify-webhook-signature-hmac-sha-256': given }, body), '123', {});
    assert.equal(check(sig.toUpperCase()), null); // Chargify's hex, in either case
    for (const wrong of [sig.slice(0, 63), `${sig}0`, `${sig.slice(0, 63)}é`, `${sig.slice(0, 63)}\u0131`])
      assert.match(check(wrong)!, /does not match/);
  });

  it('token and basic: constant-time comparison of the configured credential', () => {
    assert.equal(PROVIDERS.token.verify(req({ 'x-pfy-webhook-token': 'tok' }, '{}'), 'tok', { header: 'x-pfy-webhook-token' }), null);
    assert.match(
      PROVIDERS.token.verify(req({ 'x-pfy-webhook-token': 'tok2' }, '{}'), 'tok', { header: 'x-pfy-webhook-token' })!,
      /does not match/,
    );
    assert.match(PROVIDERS.token.verify(req({}, '{}'), 'tok', {})!, /missing x-webhook-token/);
    const auth = 'Basic ' + Buffer.from('user:pa:ss').toString('base64');
    assert.equal(PROVIDERS.basic.verify(req({ authorization: auth }, '{}'), 'user:pa:ss', {}), null);
    assert.match(PROVIDERS.basic.verify(req({ authorization: auth }, '{}'), 'user:pass', {})!, /do not match/);
    assert.equal(PROVIDERS.token.parse(req({}, '{"triggerType":"KYC_STATUS_UPDATE"}')).type, 'token.KYC_STATUS_UPDATE');
  });
});

describe('form bodies with bracketed keys', () => {
  it('nests keys and keeps every value of a repeated key', () => {
    const f = parseForm(
      'id=1&event=x&payload[subscription][customer][reference]=acme%2B42&payload[tags]=a&payload[tags]=b&payload[list][]=1&payload[list][]=2&note=hello+world',
    );
    assert.deepEqual(f, {
      id: '1',
      event: 'x',
      payload: { subscription: { customer: { reference: 'acme+42' } }, tags: ['a', 'b'], list: ['1', '2'] },
      note: 'hello world',
    });
  });

  it('builds lists of objects the way Rack does', () => {
    assert.deepEqual(parseForm('a[][x]=1&a[][y]=2&a[][x]=3'), { a: [{ x: '1', y: '2' }, { x: '3' }] });
  });

  it('treats __proto__ as data', () => {
    const f = parseForm('__proto__[polluted]=yes&a[__proto__]=1');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(JSON.stringify(f), '{"__proto__":{"polluted":"yes"},"a":{"__proto__":"1"}}');
    assert.equal(Object.getPrototypeOf(f), Object.prototype);
  });

  it('refuses what is malformed, with the reason', () => {
    for (const [body, reason] of [
      ['a[b=1', /unbalanced brackets/],
      ['a=%zz', /percent-encoded/],
      ['a=%C3', /percent-encoded/],
      ['[a]=1', /needs a name/],
      ['a=1&a[b]=2', /already has a value/],
      ['a[b]=1&a=2', /both a value and nested keys/],
      ['=1', /empty name/],
    ] as const) {
      assert.throws(
        () => parseForm(body),
        (err: Error) => err instanceof MalformedForm && reason.test(err.message),
        body,
      );
    }
  });
});
