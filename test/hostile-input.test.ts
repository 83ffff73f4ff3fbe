import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';

// Throws random and malformed requests at every route of the OpenAPI document: never a 5xx, never
// a crash; every refusal is a JSON error with a message. Seeded, so a failure reproduces: the seed
// is printed with it (HERALD_FUZZ_SEED=<n> to replay).

/**
 * One request and its answer's status and text. A request Herald never answers fails the test
 * within 30 s, naming it (with the seed in `what`), instead of holding the whole file until the
 * runner's 10-minute timeout. A stream (the live attempts, NDJSON) is answered 200 and then never
 * ends by design: its first bytes are enough here.
 */
async function answered(url: string, init: RequestInit, what: string): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    if (res.ok && res.headers.get('content-type')?.startsWith('application/x-ndjson')) {
      await res.body?.cancel();
      return { status: res.status, text: '' };
    }
    return { status: res.status, text: await res.text() };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') assert.fail(`no answer within 30 s: ${what}`);
    throw err;
  }
}

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'null',
  'true',
  '[]',
  '{}',
  '%00',
  '\u0000',
  '../../etc/passwd',
  "' OR 1=1 --",
  '<script>',
  'é'.repeat(50),
  'x'.repeat(5000),
  '\ud800',
  '%E0%A4%A',
  '9'.repeat(40),
  'evt_' + 'z'.repeat(22),
];

function randomJson(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 5 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor((r() - 0.5) * 1e6) * (r() < 0.1 ? 1e300 : 1);
    case 3:
      return NASTY[Math.floor(r() * NASTY.length)];
    case 4:
      return '';
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
    default: {
      const keys = [
        'type',
        'payload',
        'url',
        'name',
        'uid',
        'eventTypes',
        'events',
        'headers',
        'format',
        'enabled',
        'catalog',
        'schema',
        'example',
        'occurredAt',
        'idempotencyKey',
        'limit',
        '__proto__',
        'constructor',
      ];
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 5); i++) o[keys[Math.floor(r() * keys.length)]] = randomJson(r, depth + 1);
      return o;
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`hostile input (${dialect})`, () => {
    let h: TestHerald;
    let routes: { method: string; path: string }[];
    before(async () => {
      h = await startHerald(dialect);
      await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      await h.api('POST', '/v1/tenants', { name: 'Fuzz', uid: 'fuzz' });
      const spec = (await h.api('GET', '/openapi.json', undefined, { key: null })).body;
      routes = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })),
      );
    });
    after(() => h.close());

    it('answers every random request with a 2xx or a 4xx JSON error, never a 5xx', async () => {
      const seed = Number(process.env.HERALD_FUZZ_SEED ?? Date.now() % 1_000_000);
      const r = prng(seed);
      assert.ok(routes.length >= 15, 'the OpenAPI document lists the routes');
      let n = 0;
      for (const route of routes) {
        for (let i = 0; i < 40; i++) {
          n++;
          const path = route.path.replace(/\{(\w+)\}/g, (_, name) => {
            const v = r();
            if (name === 'tenant' && v < 0.5) return 'fuzz';
            return encodeURIComponent(NASTY[Math.floor(r() * NASTY.length)].toWellFormed() || 'x');
          });
          const query =
            r() < 0.5
              ? ''
              : '?' +
                ['limit', 'cursor', 'type', 'status', 'since', 'until', 'x']
                  .filter(() => r() < 0.4)
                  .map((k) => `${k}=${encodeURIComponent(JSON.stringify(randomJson(r)).toWellFormed())}`)
                  .join('&');
          const kind = r();
          let body: string | undefined;
          const headers: Record<string, string> = {
            authorization: `Bearer ${r() < 0.9 ? h.sandboxKey : NASTY[Math.floor(r() * NASTY.length)].replace(/[^\x21-\x7e]/g, '')}`,
          };
          if (route.method !== 'GET' && route.method !== 'DELETE') {
            if (kind < 0.6) body = JSON.stringify(randomJson(r));
            else if (kind < 0.7)
              body = '{"type": "KycUpdate", "payload": {'; // truncated
            else if (kind < 0.75)
              body =
                r() < 0.5 ? `{"payload":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}` : '{"type":"a","payload":{"k":1,"k":2},"type":"b"}'; // nested too deep; duplicate keys
            else if (kind < 0.85) body = Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256))).toString('latin1');
            else body = JSON.stringify({ type: 'KycUpdate', payload: { personId: 'p', kycStatus: 'P' } });
            headers['content-type'] =
              r() < 0.9
                ? 'application/json'
                : ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'nonsense'][Math.floor(r() * 4)];
          }
          if (r() < 0.1) headers['idempotency-key'] = 'k'.repeat(Math.floor(r() * 300));
          const res = await answered(
            h.url + route.path.replace(route.path, path) + query,
            { method: route.method, headers, body },
            `seed ${seed}: ${route.method} ${path.slice(0, 200)}${query.slice(0, 200)} ${body?.slice(0, 200)}`,
          );
          const text = res.text;
          const where = `seed ${seed}: ${route.method} ${path.slice(0, 200)}${query.slice(0, 200)} ${body?.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
          assert.ok(res.status < 500, where);
          if (res.status >= 400) {
            const json = JSON.parse(text);
            assert.equal(typeof json.error.message, 'string', where);
            assert.ok(json.error.message.length > 0, where);
            assert.match(json.error.requestId, /^req_/, where);
          }
        }
      }
      const health = await h.api('GET', '/v1/health', undefined, { key: null });
      assert.equal(health.status, 200, `still alive after ${n} hostile requests`);
    });

    it('takes random, malformed and correctly signed garbage at real sources without a 5xx, and processes what it accepted', async () => {
      const seed = Number(process.env.HERALD_FUZZ_SEED ?? Date.now() % 1_000_000);
      const r = prng(seed);
      const secrets: Record<string, string> = {
        chargify: 'k',
        stripe: 'whsec_k',
        github: 'k',
        shopify: 'k',
        standard: 'whsec_a2V5a2V5a2V5',
        token: 'k',
        basic: 'u:p',
      };
      // A tenant of its own: the test above may well have deleted "fuzz".
      await h.api('POST', '/v1/tenants', { name: 'Fuzz inbound', uid: 'fuzz-in' });
      const sources: { id: string; provider: string }[] = [];
      for (const [provider, secret] of Object.entries(secrets)) {
        const created = await h.api('POST', '/v1/tenants/fuzz-in/sources', { provider, name: provider, secret });
        assert.equal(created.status, 201);
        sources.push({ provider, id: created.body.id });
      }
      const FORMS = [
        'payload[a][b]=1',
        'payload[a]=1&payload[a][b]=2',
        'a[=1',
        '%zz=1',
        'id=1&event=payment_success&payload[transaction][amount_in_cents]=x',
        'payload=%7B',
        'event=&id=',
        'a[][b]=1&a[][b]=2&a[]=3',
      ];
      let accepted = 0;
      for (let i = 0; i < 300; i++) {
        const src = sources[Math.floor(r() * sources.length)];
        const kind = r();
        const body =
          kind < 0.3
            ? FORMS[Math.floor(r() * FORMS.length)] + (r() < 0.5 ? '&' + FORMS[Math.floor(r() * FORMS.length)] : '')
            : kind < 0.6
              ? JSON.stringify(randomJson(r))
              : kind < 0.8
                ? Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))).toString('latin1')
                : NASTY[Math.floor(r() * NASTY.length)];
        const bytes = Buffer.from(body, kind < 0.8 && kind >= 0.6 ? 'latin1' : 'utf8');
        const secret = secrets[src.provider];
        const t = String(Math.floor(Date.now() / 1000));
        const mac = (key: string | Buffer, data: (string | Buffer)[], enc: 'hex' | 'base64') => {
          const m = createHmac('sha256', key);
          for (const d of data) m.update(d);
          return m.digest(enc);
        };
        // Half the requests are signed correctly, so they reach the body parsers and the processor.
        const signed = r() < 0.5;
        const headers: Record<string, string> = {
          'content-type': [
            'application/x-www-form-urlencoded',
            'application/json',
            'text/plain',
            'nonsense',
            'application/x-www-form-urlencoded; charset=utf-8',
          ][Math.floor(r() * 5)],
          'x-chargify-webhook-signature-hmac-sha-256': signed
            ? mac(secret, [bytes], 'hex')
            : NASTY[Math.floor(r() * NASTY.length)].replace(/[^\x21-\x7e]/g, ''),
          'stripe-signature': signed ? `t=${t},v1=${mac(secret, [`${t}.`, bytes], 'hex')}` : 't=abc,v1=',
          'x-hub-signature-256': signed ? 'sha256=' + mac(secret, [bytes], 'hex') : 'sha256=',
          'x-shopify-hmac-sha256': signed ? mac(secret, [bytes], 'base64') : '=',
          'webhook-id': `msg_${i}`,
          'webhook-timestamp': signed ? t : '1',
          'webhook-signature': signed ? 'v1,' + mac(Buffer.from(secret.slice(6), 'base64'), [`msg_${i}.${t}.`, bytes], 'base64') : 'v1,',
          'x-webhook-token': signed ? secret : 'no',
          authorization: 'Basic ' + Buffer.from(signed ? secret : 'u:x').toString('base64'),
          'x-github-event': NASTY[Math.floor(r() * NASTY.length)].replace(/[^\x21-\x7e]/g, '') || 'push',
          'x-github-delivery': `d-${i}`,
        };
        const res = await answered(
          `${h.url}/in/${src.id}`,
          { method: 'POST', headers, body: bytes },
          `seed ${seed}: ${src.provider} ${JSON.stringify(body.slice(0, 120))}`,
        );
        const text = res.text;
        const where = `seed ${seed}: ${src.provider} ${JSON.stringify(body.slice(0, 120))} signed=${signed} → ${res.status} ${text.slice(0, 300)}`;
        assert.ok(res.status < 500, where);
        if (res.status === 200) accepted++;
        else assert.ok(JSON.parse(text).error.message.length > 0, where);
      }
      // Whatever was accepted is processed (to processed, unmatched or failed); nothing is stuck.
      const done = await eventually(
        async () => {
          const waiting = (await h.api('GET', '/v1/tenants/fuzz-in/inbound?status=received')).body.data.length;
          return waiting === 0;
        },
        15_000,
        'the processor to get through what was accepted',
      );
      assert.ok(done);
      assert.ok(accepted > 0, `seed ${seed}: some correctly signed requests were accepted`);
      assert.equal((await h.api('GET', '/v1/health', undefined, { key: null })).status, 200);
    });
  });
}
