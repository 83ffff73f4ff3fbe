import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy } from '../src/endpoints/urlPolicy.js';
import { createKey } from '../src/keys/keys.js';
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
      const ev = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/prod/events/${sent.body.id}`, undefined, { key: h.productionKey })).body;
          return e.status === 'F' && e;
        },
        8000,
        'the delivery to fail',
      );
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

    /** Waits for the event to fail for good and answers its one delivery. */
    const failed = async (key: string, uid: string, eventId: string) =>
      eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/${uid}/events/${eventId}`, undefined, { key })).body;
          return e.status === 'F' && e.deliveries[0];
        },
        8000,
        `event ${eventId} to fail`,
      );

    it('refuses at registration every address form that is not public (IANA special-purpose registries)', async () => {
      await h.api('POST', '/v1/tenants', { name: 'forms', uid: 'forms' }, { key: h.productionKey });
      const refused = [
        '[::7f00:1]', // IPv4-compatible 127.0.0.1
        '[::ffff:0:7f00:1]', // IPv4-translated 127.0.0.1
        '[::ffff:7f00:1]', // IPv4-mapped 127.0.0.1
        '[2002:7f00:1::]', // 6to4 of 127.0.0.1
        '[2002:a9fe:a9fe::1]', // 6to4 of 169.254.169.254 (cloud metadata)
        '[fec0::1]', // deprecated site-local
        '[64:ff9b::7f00:1]', // NAT64 of 127.0.0.1
        '[64:ff9b::a00:1]', // NAT64 of 10.0.0.1
        '[64:ff9b:1::808:808]', // local-use NAT64, never global
        '[2001:db8::1]', // documentation
        '[2001::1]', // Teredo
        '[100::1]', // discard-only
        '192.0.2.10', // TEST-NET-1
        '198.51.100.1', // TEST-NET-2
        'localhost.', // localhost, fully qualified
        'api.localhost.',
      ];
      for (const host of refused) {
        const r = await h.api('POST', '/v1/tenants/forms/endpoints', { url: `https://${host}/hook` }, { key: h.productionKey });
        assert.equal(r.status, 400, `https://${host}/hook was accepted`);
        assert.match(r.body.error.message, /private or loopback/);
      }
      // An embedding of a public IPv4 address is as public as that address: DNS64 answers such
      // addresses for every IPv4-only host on an IPv6-only network.
      for (const host of ['[64:ff9b::808:808]', '[2002:808:808::1]', '[2606:4700::1111]']) {
        const r = await h.api('POST', '/v1/tenants/forms/endpoints', { url: `https://${host}/hook` }, { key: h.productionKey });
        assert.equal(r.status, 201, `https://${host}/hook: ${JSON.stringify(r.body)}`);
      }
    });

    it('refuses at connect time every address form that is not public', async () => {
      await h.api('POST', '/v1/tenants', { name: 'connect', uid: 'connect' }, { key: h.productionKey });
      const port = new URL(rx.url).port;
      const before = rx.received.length;
      // The stored URL is changed behind the registration check, as a DNS answer would change:
      // each form reaches this machine's receiver unless the connection is refused. One endpoint
      // per form, so that no circuit opens on the failures.
      for (const host of [
        '[::ffff:7f00:1]',
        '[::ffff:0:7f00:1]',
        '[::7f00:1]',
        '[2002:7f00:1::]',
        '[64:ff9b::7f00:1]',
        '[fec0::1]',
        'localhost.',
      ]) {
        const ep = (await h.api('POST', '/v1/tenants/connect/endpoints', { url: 'https://[2606:4700::1111]/x' }, { key: h.productionKey }))
          .body;
        await h.herald.db.run('UPDATE endpoints SET url = $1 WHERE id = $2', [`http://${host}:${port}/connect`, ep.id]);
        const sent = (
          await h.api('POST', '/v1/tenants/connect/events', { type: 'thing.happened', payload: { host } }, { key: h.productionKey })
        ).body;
        const d = await failed(h.productionKey, 'connect', sent.id);
        assert.match(d.lastError, /refused: .*private or reserved address/, `${host}: ${d.lastError}`);
        await h.api('DELETE', `/v1/tenants/connect/endpoints/${ep.id}`, undefined, { key: h.productionKey });
      }
      assert.equal(rx.received.length, before, 'no request reached this machine');
    });

    it('refuses a tenant-scoped key a private or loopback sandbox URL at registration', async () => {
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'sbx', uid: 'sbx' })).body;
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: tenant.id });
      const port = new URL(rx.url).port;
      for (const url of [
        `${rx.url}/t`,
        `http://localhost:${port}/t`,
        `http://[::1]:${port}/t`,
        'http://169.254.169.254/latest/meta-data/',
        `http://[::ffff:7f00:1]:${port}/t`,
      ]) {
        const r = await h.api('POST', '/v1/tenants/sbx/endpoints', { url, format: 'original' }, { key });
        assert.equal(r.status, 400, `${url} was accepted for a tenant-scoped key`);
        assert.match(r.body.error.message, /tenant-scoped key cannot point a sandbox endpoint at .*HERALD_SANDBOX_TENANT_PRIVATE/);
      }
      if (!skip) {
        const r = await h.api('POST', '/v1/tenants/sbx/endpoints', { url: `http://${host}:${port}/t` }, { key });
        assert.equal(r.status, 400, `${host} resolves to this machine`);
        assert.match(r.body.error.message, /resolves to .* private or reserved address/);
      }
      // A public URL is fine, over http too (it is the sandbox).
      const ok = await h.api('POST', '/v1/tenants/sbx/endpoints', { url: 'http://[2606:4700::1111]/t' }, { key });
      assert.equal(ok.status, 201);
      const patched = await h.api('PATCH', `/v1/tenants/sbx/endpoints/${ok.body.id}`, { url: `${rx.url}/t` }, { key });
      assert.equal(patched.status, 400);
      // The operator key keeps the sandbox's freedom.
      assert.equal((await h.api('POST', '/v1/tenants/sbx/endpoints', { url: `${rx.url}/op` })).status, 201);
    });

    it('guards a tenant-set sandbox URL at connect time, and a tenant change of the URL clears what the operator allowed', async () => {
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'sbx2', uid: 'sbx2' })).body;
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: tenant.id });
      const at = (p: string) => rx.received.filter((r) => r.path === p).length;
      // The operator points it at this machine: it delivers.
      const ep = (await h.api('POST', '/v1/tenants/sbx2/endpoints', { url: `${rx.url}/sbx2` })).body;
      const send = async () =>
        (await h.api('POST', '/v1/tenants/sbx2/events', { type: 'thing.happened', payload: {} }, { key })).body.id as string;
      await send();
      await rx.waitFor(() => at('/sbx2') === 1, 5000, 'the operator-set URL to deliver');
      // Another change by the tenant keeps it.
      assert.equal((await h.api('PATCH', `/v1/tenants/sbx2/endpoints/${ep.id}`, { description: 'mine' }, { key })).status, 200);
      await send();
      await rx.waitFor(() => at('/sbx2') === 2, 5000, 'the endpoint to deliver after a tenant change that keeps its URL');
      // The tenant sets a public URL, whose name then resolves to this machine (the stored URL is
      // changed behind the check, as a DNS answer would change): refused.
      assert.equal(
        (await h.api('PATCH', `/v1/tenants/sbx2/endpoints/${ep.id}`, { url: 'http://[2606:4700::1111]/sbx2' }, { key })).status,
        200,
      );
      await h.herald.db.run('UPDATE endpoints SET url = $1 WHERE id = $2', [`http://localhost.:${new URL(rx.url).port}/sbx2`, ep.id]);
      const d = await failed(key, 'sbx2', await send());
      assert.match(d.lastError, /refused: .*private or reserved address/);
      assert.equal(at('/sbx2'), 2, 'nothing reached this machine');
      // A tenant's own endpoint, registered public and resolving to loopback later: refused too.
      const own = (
        await h.api('POST', '/v1/tenants/sbx2/endpoints', { url: 'http://[2606:4700::1111]/own', eventTypes: ['thing.happened'] }, { key })
      ).body;
      await h.api('DELETE', `/v1/tenants/sbx2/endpoints/${ep.id}`, undefined, { key });
      await h.herald.db.run('UPDATE endpoints SET url = $1 WHERE id = $2', [`${rx.url}/own`, own.id]);
      const d2 = await failed(key, 'sbx2', await send());
      assert.match(d2.lastError, /refused: .*private or reserved address/);
      assert.equal(at('/own'), 0, 'nothing reached this machine');
      // The operator sets the URL again: allowed again.
      assert.equal((await h.api('PATCH', `/v1/tenants/sbx2/endpoints/${own.id}`, { url: `${rx.url}/own` })).status, 200);
      await send();
      await rx.waitFor(() => at('/own') === 1, 5000, 'the operator-set URL to deliver again');
    });
  });
}

describe('SSRF allowlist', () => {
  it('judges an embedded IPv4 address against the allowlist like the address itself', () => {
    const p = new AddressPolicy(['10.20.0.0/16']);
    for (const h of ['10.20.1.2', '::ffff:10.20.1.2', '64:ff9b::a14:102', '2002:a14:102::1']) assert.equal(p.isBlocked(h), false, h);
    for (const h of ['10.21.1.2', '::ffff:10.21.1.2', '64:ff9b::a15:102', '2002:a15:102::1', '::ffff:0:a15:102'])
      assert.equal(p.isBlocked(h), true, h);
  });

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

describe('SSRF: tenants in the sandbox', () => {
  it('lets tenant-scoped keys reach private addresses in the sandbox with HERALD_SANDBOX_TENANT_PRIVATE=1', async () => {
    const h = await startHerald('sqlite', { HERALD_SANDBOX_TENANT_PRIVATE: '1' });
    const rx = await new Receiver().start();
    try {
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'dev', uid: 'dev' })).body;
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: tenant.id });
      const ep = await h.api('POST', '/v1/tenants/dev/endpoints', { url: `${rx.url}/dev` }, { key });
      assert.equal(ep.status, 201);
      await h.api('POST', '/v1/tenants/dev/events', { type: 'thing.happened', payload: {} }, { key });
      await rx.waitForCount(1);
      // Production stays closed.
      const prodTenant = (await h.api('POST', '/v1/tenants', { name: 'p', uid: 'p' }, { key: h.productionKey })).body;
      const prodKey = (await createKey(h.herald.db, { environmentId: 'production', environment: 'production', tenantId: prodTenant.id }))
        .key;
      assert.equal((await h.api('POST', '/v1/tenants/p/endpoints', { url: 'https://127.0.0.1/x' }, { key: prodKey })).status, 400);
    } finally {
      await h.close();
      await rx.stop();
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`SSRF: the operator's endpoint (${dialect})`, () => {
    it('refuses a configured name that resolves to loopback, unless HERALD_OPERATOR_WEBHOOK_PRIVATE=1', async (t) => {
      if (!(await resolvesPrivate())) return t.skip(`${host} does not resolve to a private address here`);
      const rx = await new Receiver().start();
      try {
        for (const [extra, delivers] of [
          [{}, false],
          [{ HERALD_OPERATOR_WEBHOOK_PRIVATE: '1' }, true],
        ] as const) {
          const h = await startHerald(dialect, {
            HERALD_RETRY_SCHEDULE: '0.1',
            HERALD_OPERATOR_WEBHOOK_URL: `http://${host}:${new URL(rx.url).port}/ops`,
            ...extra,
          });
          try {
            const key = h.productionKey;
            const [ops] = (await h.api('GET', '/v1/tenants/_operator/endpoints', undefined, { key })).body.data;
            const sent = (await h.api('POST', `/v1/tenants/_operator/endpoints/${ops.id}/test`, {}, { key })).body;
            if (delivers) {
              await rx.waitForCount(1);
              continue;
            }
            const d = await eventually(
              async () => {
                const e = (await h.api('GET', `/v1/tenants/_operator/events/${sent.eventId}`, undefined, { key })).body;
                return e.status === 'F' && e.deliveries[0];
              },
              8000,
              'the operational delivery to fail',
            );
            assert.match(d.lastError, /refused: .*resolves to .* private or reserved address/);
            assert.equal(rx.received.length, 0, 'no connection reached the private address');
          } finally {
            await h.close();
          }
        }
      } finally {
        await rx.stop();
      }
    });
  });
}
