import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { servePortal } from '../src/portal/servePortal.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

describe('herald start serves the portal at /portal/', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald('sqlite');
  });
  after(async () => h?.close());

  it('answers the page for /portal/ and every path under it, never cached', async () => {
    const redirect = await fetch(`${h.url}/portal`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/portal/');
    for (const p of ['/portal/', '/portal/webhooks', '/portal/users/cus_1?tenant=acme']) {
      const r = await fetch(h.url + p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type')!, /^text\/html/);
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.match(r.headers.get('content-security-policy')!, /default-src 'self'.*frame-ancestors 'none'/);
      assert.match(await r.text(), /<div id="root">/);
    }
  });

  it('sends hashed assets gzipped with a year-long cache, and a missing asset as 404', async () => {
    const html = await (await fetch(`${h.url}/portal/`)).text();
    const script = html.match(/<script[^>]*src="([^"]+)"/)![1];
    assert.match(script, /^\/portal\/assets\/index-[\w-]+\.js$/);
    const r = await fetch(h.url + script, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(r.headers.get('content-type')!, /javascript/);
    assert.ok((await r.text()).length > 10_000);
    const missing = await fetch(`${h.url}/portal/assets/index-gone.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error.code, 'not_found');
  });

  it('is not part of the REST API reference', async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(doc.paths).filter((p) => p.startsWith('/portal')),
      [],
    );
  });

  it('says how to build it when the build is missing', async () => {
    const app = Fastify();
    await servePortal(app, { root: fs.mkdtempSync(path.join(os.tmpdir(), 'no-portal-')) });
    const r = await app.inject({ method: 'GET', url: '/portal/webhooks' });
    assert.equal(r.statusCode, 503);
    assert.match(r.json().error.message, /npm run build/);
    await app.close();
  });
});
