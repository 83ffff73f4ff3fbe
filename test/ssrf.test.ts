import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy } from '../src/endpoints/urlPolicy.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// The machine's own name resolves to one of its own (private or loopback) addresses without being
// spelled "localhost": the case a DNS-based SSRF check exists for.
const host = os.hostname();
const resolvesPrivate = async () => {
  const addrs = await dns.lookup(host, { all: true }).catch(() => []);
  return addrs.length > 0 && addrs.every((a) => new AddressPolicy().isBlocked(a.address));
};

for (const dialect of DIALECTS) {
  describe(`SSRF protection (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let skip: string | false = false;
    before(async () => {
      h = await startHerald(dialect, { HERALD_RETRY_SCHEDULE: '0.1' });
      rx = await new Receiver().start();
      if (!(await resolvesPrivate())) skip = `${host} does not resolve to a private address here`;
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' }, { key: h.productionKey });
      await h.api('POST', '/v1/tenants', { name: 'prod', uid: 'prod' }, { key: h.productionKey });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('refuses to register a production endpoint whose name resolves to a private address', async (t) => {
      if (skip) return t.skip(skip);
      const r = await h.api('POST', '/v1/tenants/prod/endpoints', { url: `https://${host}/hook` }, { key: h.productionKey });
      assert.equal(r.status, 400);
      assert.match(r.body.error.message, /resolves to .* private or reserved address/);
    });

    it('refuses at connect time when a name starts resolving to a private address later', async (t) => {
      if (skip) return t.skip(skip);
      const ep = await h.api('POST', '/v1/tenants/prod/endpoints', { url: 'https://hooks.example.com/x' }, { key: h.productionKey });
      assert.equal(ep.status, 201);
      // The DNS answer "changes": the endpoint now points at a name that resolves to this machine.
      const port = new URL(rx.url).port;
      await h.herald.db.run('UPDATE endpoints SET url = $1 WHERE id = $2', [`https://${host}:${port}/x`, ep.body.id]);
      const sent = await h.api('POST', '/v1/tenants/prod/events', { type: 'thing.happened', payload: {} }, { key: h.productionKey });
      const ev = await eventually(async () => {
        const e = (await h.api('GET', `/v1/tenants/prod/events/${sent.body.id}`, undefined, { key: h.productionKey })).body;
        return e.status === 'F' && e;
      }, 8000, 'the delivery to fail');
      assert.match(ev.deliveries[0].lastError, /refused: .* private or reserved address/);
      assert.equal(rx.received.length, 0, 'no request reached the private address');
    });

    it('still lets the sandbox deliver to loopback', async () => {
      await h.api('POST', '/v1/tenants', { name: 'dev', uid: 'dev' });
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants/dev/endpoints', { url: `${rx.url}/dev` });
      await h.api('POST', '/v1/tenants/dev/events', { type: 'thing.happened', payload: {} });
      await rx.waitForCount(1);
    });
  });
}

describe('SSRF allowlist', () => {
  it('opens a private range to production endpoints with HERALD_ALLOW_PRIVATE_CIDRS', async () => {
    const h = await startHerald('sqlite', { HERALD_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8' });
    try {
      await h.api('POST', '/v1/tenants', { name: 'p', uid: 'p' }, { key: h.productionKey });
      const ok = await h.api('POST', '/v1/tenants/p/endpoints', { url: 'https://127.0.0.1:8443/x' }, { key: h.productionKey });
      assert.equal(ok.status, 201);
      const still = await h.api('POST', '/v1/tenants/p/endpoints', { url: 'https://10.0.0.1/x' }, { key: h.productionKey });
      assert.equal(still.status, 400);
    } finally {
      await h.close();
    }
  });
});
