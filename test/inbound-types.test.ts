import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { claimInbound } from '../src/inbound/sql/claimInbound.js';
import { InboundProcessor } from '../src/inbound/inboundProcessor.js';
import { createLogger } from '../src/log.js';
import { resolveSecretKey, SecretBox } from '../src/secrets/secretBox.js';
import { chargifyBody } from './helpers/chargify.js';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// The event-type catalogue is the operator's, shared by every tenant of an environment (the portal
// shows one checkbox per type to all of them). What a tenant's source receives must not write to
// it without limit: only the provider's own known events are registered; any other name is
// forwarded as an event without becoming a catalogue entry.

for (const dialect of DIALECTS) {
  describe(`forwarded event types and the operator's catalogue (${dialect})`, () => {
    let h: TestHerald;
    let processor: InboundProcessor;
    before(async () => {
      // API only: the test drives the processor itself, so it can look at what the processor keeps.
      h = await startHerald(dialect, { HERALD_ROLES: 'api' });
      const box = new SecretBox(
        resolveSecretKey({
          secretKey: h.config.secretKey,
          dataDir: h.config.dataDir,
          usesPostgres: dialect === 'postgres',
          hasSealedSecrets: true,
        }).key,
        h.config.previousSecretKeys,
      );
      processor = new InboundProcessor(h.herald.db, box, createLogger('silent'), () => undefined, { pollIntervalMs: 100, leaseMs: 60_000 });
    });
    after(async () => {
      await h.close();
    });

    async function catalogue(): Promise<string[]> {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: any[]; nextCursor: string | null } = (
          await h.api('GET', `/v1/event-types?limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        ).body;
        names.push(...page.data.map((t: { name: string }) => t.name));
        cursor = page.nextCursor;
      } while (cursor);
      return names;
    }

    async function processAll(): Promise<void> {
      for (;;) {
        const batch = await claimInbound(h.herald.db, { limit: 100, leaseMs: 60_000 });
        if (batch.length === 0) return;
        await processor.processBatch(batch);
      }
    }

    it('300 distinct types posted to a token source are forwarded without growing the catalogue; the processor remembers only provider types', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Flood', uid: 'flood' });
      const token = (await h.api('POST', '/v1/tenants/flood/sources', { provider: 'token', name: 't', secret: 'tok' })).body;
      const chargify = (await h.api('POST', '/v1/tenants/flood/sources', { provider: 'chargify', name: 'c', secret: 'k' })).body;
      const ep = await h.api('POST', '/v1/tenants/flood/endpoints', { url: 'http://127.0.0.1:9/all' });
      assert.equal(ep.status, 201);
      const before = await catalogue();
      assert.ok(before.includes('chargify.payment_success'), 'a provider’s known events are registered when its source is created');

      for (let i = 0; i < 300; i += 30) {
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, j) =>
            fetch(`${h.url}/in/${token.id}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-webhook-token': 'tok' },
              body: JSON.stringify({ type: `junk_${i + j}` }),
            }),
          ),
        );
        assert.deepEqual(
          answers.map((a) => a.status),
          Array(30).fill(200),
        );
      }
      // A Chargify event it knows, and one it does not (the tenant holds the shared key: it can sign anything).
      for (const [id, event] of [
        [1, 'payment_failure'],
        [2, 'made_up_event'],
      ] as const) {
        const body = chargifyBody(id, event, {});
        const r = await fetch(`${h.url}/in/${chargify.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'k').update(body).digest('hex'),
          },
          body,
        });
        assert.equal(r.status, 200);
      }
      await processAll();

      assert.deepEqual(await catalogue(), before, 'the catalogue did not grow');
      assert.ok(
        processor.rememberedTypes <= 1,
        `the processor remembers ${processor.rememberedTypes} types (only chargify.payment_failure may be among them)`,
      );

      // Every message was forwarded all the same, under its own type, to the endpoint that takes every type.
      const events: { id: string; type: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: any[]; nextCursor: string | null } = (
          await h.api('GET', `/v1/tenants/flood/events?limit=250${cursor ? `&cursor=${cursor}` : ''}`)
        ).body;
        events.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      const types = new Set(events.map((e) => e.type));
      assert.equal(events.length, 302);
      assert.ok(
        types.has('token.junk_0') &&
          types.has('token.junk_299') &&
          types.has('chargify.made_up_event') &&
          types.has('chargify.payment_failure'),
      );
      const one = (await h.api('GET', `/v1/tenants/flood/events/${events[0].id}`)).body;
      assert.equal(one.deliveries.length, 1);
      const processed = (await h.api('GET', '/v1/tenants/flood/inbound?status=processed&limit=250')).body.data.length;
      assert.equal(processed, 250, 'the messages are processed (one page of them)');
    });
  });
}
