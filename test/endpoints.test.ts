import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { createHerald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { DIALECTS, freshDatabase } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

/** The signatures of a Standard Webhooks header that `secret` verifies, computed independently of Herald. */
function verifying(secret: string, headers: Record<string, any>, body: string): string[] {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64')}`;
  return String(headers['webhook-signature'])
    .split(' ')
    .filter((s) => s === expected);
}

for (const dialect of DIALECTS) {
  describe(`endpoint custom headers and secrets (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startHerald(dialect, { HERALD_TOKEN_HEADER: 'x-pfy-webhook-token' });
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants', { name: 'hdr', uid: 'hdr' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    // Each one made every delivery fail before: undici refuses it, or Herald sets it itself.
    const unsendable: [Record<string, string>, RegExp][] = [
      [{ 'x-mark': '✓' }, /"x-mark" has a character that cannot be sent .*U\+2713/],
      [{ 'x-sep': 'a\u2028b' }, /"x-sep" has a character that cannot be sent .*U\+2028/],
      [{ 'x-nul': 'a\u0000b' }, /x-nul.*NUL/], // refused at the edge, before the header check
      [{ 'x-crlf': 'a\r\nx-injected: 1' }, /"x-crlf" has a character .*U\+000D/],
      [{ 'x-del': 'a\u007fb' }, /"x-del" has a character .*U\+007F/],
      [{ Expect: '100-continue' }, /"Expect" cannot be a custom header: it asks for 100-continue/],
      [{ upgrade: 'websocket' }, /"upgrade" cannot be a custom header: .*hop-by-hop/],
      [{ 'keep-alive': 'timeout=5' }, /"keep-alive" cannot be a custom header: .*hop-by-hop/],
      [{ connection: 'close' }, /"connection" cannot be a custom header/],
      [{ 'transfer-encoding': 'chunked' }, /"transfer-encoding" cannot be a custom header/],
      [{ 'content-length': '1' }, /"content-length" cannot be a custom header: it is computed from the body/],
      [{ host: 'internal.example' }, /"host" cannot be a custom header: it is taken from the endpoint URL/],
      [{ te: 'trailers' }, /"te" cannot be a custom header/],
      [{ trailer: 'x-a' }, /"trailer" cannot be a custom header/],
      [{ 'Content-Type': 'text/plain' }, /"Content-Type" is set by Herald/],
      [{ 'user-agent': 'me' }, /"user-agent" is set by Herald/],
      [{ 'webhook-signature': 'v1,x' }, /"webhook-signature" is set by Herald/],
      [{ 'X-Pfy-Webhook-Token': 't' }, /"X-Pfy-Webhook-Token" is set by Herald/],
      [{ 'bad name': 'x' }, /header name "bad name" is not a valid HTTP header name/],
      [{ 'x-ü': 'x' }, /header name "x-ü" is not a valid HTTP header name/],
      [{ 'X-Tag': 'a', 'x-tag': 'b' }, /"x-tag" is given twice/],
    ];

    it('refuses at creation, with the header and the reason, every custom header a webhook could not carry', async () => {
      for (const [headers, reason] of unsendable) {
        const r = await h.api('POST', '/v1/tenants/hdr/endpoints', { url: `${rx.url}/never`, headers });
        assert.equal(r.status, 400, `${JSON.stringify(headers)} was accepted`);
        assert.match(r.body.error.message, reason);
      }
    });

    it('refuses the same in a change, and leaves the endpoint as it was', async () => {
      const ep = (await h.api('POST', '/v1/tenants/hdr/endpoints', { url: `${rx.url}/patch`, headers: { 'x-app': 'one' } })).body;
      for (const [headers, reason] of unsendable) {
        const r = await h.api('PATCH', `/v1/tenants/hdr/endpoints/${ep.id}`, { headers });
        assert.equal(r.status, 400, `${JSON.stringify(headers)} was accepted`);
        assert.match(r.body.error.message, reason);
      }
      assert.deepEqual((await h.api('GET', `/v1/tenants/hdr/endpoints/${ep.id}`)).body.headers, { 'x-app': 'one' });
      await h.api('DELETE', `/v1/tenants/hdr/endpoints/${ep.id}`);
    });

    it('follows what undici sends: refused values make it throw, accepted ones (obs-text included) arrive', async () => {
      const accepted = { 'x-app': 'one two\tthree', 'x-latin': 'caf\u00e9', Authorization: 'Bearer abc', "x-token!#$%&'*+.^_`|~": 'ok' };
      for (const [headers] of unsendable.filter(([hd]) => /^x-(mark|sep|nul|crlf|del)$/.test(Object.keys(hd)[0]))) {
        await assert.rejects(
          request(`${rx.url}/undici`, { method: 'POST', headers, body: '{}' }),
          `undici sends ${JSON.stringify(headers)}`,
        );
      }
      const ep = await h.api('POST', '/v1/tenants/hdr/endpoints', { url: `${rx.url}/ok`, headers: accepted });
      assert.equal(ep.status, 201, JSON.stringify(ep.body));
      await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.body.id}/test`, {});
      await rx.waitFor((r) => r.some((x) => x.path === '/ok'), 5000, 'the delivery with custom headers');
      const got = rx.received.find((x) => x.path === '/ok')!.headers;
      assert.equal(got['x-app'], 'one two\tthree');
      assert.equal(got['x-latin'], 'caf\u00e9');
      assert.equal(got.authorization, 'Bearer abc');
      assert.equal(rx.received.filter((x) => x.path === '/undici').length, 0);
      await h.api('DELETE', `/v1/tenants/hdr/endpoints/${ep.body.id}`);
    });

    it('signs with every secret still inside its overlap: rotating twice gives three signatures', async () => {
      const ep = (await h.api('POST', '/v1/tenants/hdr/endpoints', { url: `${rx.url}/rotate` })).body;
      const second = (await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.id}/rotate-secret`)).body.secret;
      const third = (await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.id}/rotate-secret`)).body.secret;
      assert.equal(
        (await h.api('GET', `/v1/tenants/hdr/endpoints/${ep.id}/secret`)).body.secret,
        third,
        'the newest secret is the current one',
      );
      await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.id}/test`, {});
      await rx.waitFor((r) => r.some((x) => x.path === '/rotate'), 5000, 'the delivery');
      const r = rx.received.find((x) => x.path === '/rotate')!;
      const signatures = String(r.headers['webhook-signature']).split(' ');
      assert.equal(signatures.length, 3);
      const matched = [ep.secret, second, third].map((s) => verifying(s, r.headers, r.body));
      for (const [i, m] of matched.entries()) assert.equal(m.length, 1, `secret ${i + 1} verifies one signature`);
      assert.equal(new Set(matched.flat()).size, 3, 'each secret verifies a different signature');
    });

    it('answers 409 instead of adding an eleventh earlier secret to every signature header', async () => {
      const ep = (await h.api('POST', '/v1/tenants/hdr/endpoints', { url: `${rx.url}/many` })).body;
      for (let i = 0; i < 10; i++) assert.equal((await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.id}/rotate-secret`)).status, 200);
      const over = await h.api('POST', `/v1/tenants/hdr/endpoints/${ep.id}/rotate-secret`);
      assert.equal(over.status, 409);
      assert.match(over.body.error.message, /10 earlier secrets still signing.*rotate again after/);
    });
  });
}

describe('earlier secrets at rest', () => {
  it('re-seals every earlier secret when HERALD_SECRET_KEY is rotated, and they keep signing', async () => {
    const KEY_A = 'key-a-0123456789abcdefghijklmnopqrstuvwxyz';
    const KEY_B = 'key-b-0123456789abcdefghijklmnopqrstuvwxyz';
    const database = await freshDatabase('sqlite');
    const rx = await new Receiver().start();
    const env = (extra: Record<string, string>) =>
      loadConfig({
        HERALD_DATA_DIR: database.dataDir,
        HERALD_PORT: '0',
        HERALD_HOST: '127.0.0.1',
        HERALD_POLL_INTERVAL_MS: '100',
        HERALD_LOG_LEVEL: 'silent',
        ...extra,
      });
    const log = createLogger('silent');
    let herald = await createHerald(env({ HERALD_SECRET_KEY: KEY_A }), log);
    const key = herald.firstStartKeys.find((k) => k.environment === 'sandbox')!.key;
    const call = async (method: string, path: string, body?: unknown) =>
      (
        await herald.app!.inject({
          method: method as 'GET',
          url: path,
          payload: body as object,
          headers: { authorization: `Bearer ${key}` },
        })
      ).json();
    try {
      await call('POST', '/v1/tenants', { name: 'r', uid: 'r' });
      const ep = await call('POST', '/v1/tenants/r/endpoints', { url: `${rx.url}/resealed` });
      const secrets = [
        ep.secret,
        (await call('POST', `/v1/tenants/r/endpoints/${ep.id}/rotate-secret`)).secret,
        (await call('POST', `/v1/tenants/r/endpoints/${ep.id}/rotate-secret`)).secret,
      ];
      await herald.stop();
      herald = await createHerald(env({ HERALD_SECRET_KEY: KEY_B, HERALD_SECRET_KEY_PREVIOUS: KEY_A }), log);
      await herald.stop();
      // Only B now: every earlier secret must have been re-sealed with it.
      herald = await createHerald(env({ HERALD_SECRET_KEY: KEY_B }), log);
      await call('POST', `/v1/tenants/r/endpoints/${ep.id}/test`, {});
      await rx.waitFor((r) => r.some((x) => x.path === '/resealed'), 5000, 'the delivery');
      const r = rx.received.find((x) => x.path === '/resealed')!;
      for (const s of secrets) assert.equal(verifying(s, r.headers, r.body).length, 1);
    } finally {
      await herald.stop();
      await rx.stop();
      await database.drop();
    }
  });
});
