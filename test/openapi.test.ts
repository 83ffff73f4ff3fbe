import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from './helpers/herald.js';

// The API reference is what a newcomer reads first: every operation says what it does, every
// answer says what it means, and the errors any call can meet are listed where they apply.
// The document does not depend on the database, so SQLite alone is enough here.
describe('the API reference', () => {
  let h: TestHerald;
  let spec: any;
  before(async () => {
    h = await startHerald('sqlite');
    spec = (await h.api('GET', '/openapi.json', undefined, { key: null })).body;
  });
  after(() => h.close());

  const operations = () =>
    Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );

  it('describes every operation and every answer (no "Default Response")', () => {
    const undescribed = operations()
      .filter(({ op }) => !op.description || !op.summary)
      .map((o) => o.name);
    assert.deepEqual(undescribed, [], 'operations without a summary and a description');
    const vague = operations().flatMap(({ name, op }) =>
      Object.entries(op.responses as Record<string, any>)
        .filter(([, r]) => !r.description || r.description === 'Default Response')
        .map(([code]) => `${name} ${code}`),
    );
    assert.deepEqual(vague, []);
  });

  it('lists 401, 403 and 429 on authenticated calls, and 413 and 415 where a body is sent', () => {
    const create = spec.paths['/v1/tenants/{tenant}/events'].post;
    for (const code of ['400', '401', '403', '413', '415', '429']) assert.ok(create.responses[code], `POST events lacks ${code}`);
    const health = spec.paths['/v1/health'].get;
    assert.equal(health.responses['401'], undefined, 'health needs no key');
  });

  it('documents the body a source receives', () => {
    const receive = spec.paths['/in/{sourceId}'].post;
    assert.ok(receive.requestBody, 'POST /in/{sourceId} has no request body');
    assert.equal(receive.responses['401'].description.length > 0, true);
  });

  it('wears Herald’s title and logo, and the bare address leads to it', async () => {
    const page = await fetch(`${h.url}/docs/`);
    const html = await page.text();
    assert.match(html, /<title>Herald API reference<\/title>/);
    assert.doesNotMatch(html, /<title>Swagger UI<\/title>/);
    const root = await fetch(`${h.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/docs');
  });
});
