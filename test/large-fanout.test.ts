import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// One batch that fans out to 8,000 deliveries (160 events × 50 endpoints) used to be written in
// one transaction: on SQLite that held the event loop (health checks included) until it was done.
// It is now written in transactions of whole events with the event loop free in between: health
// requests complete while part of the batch is stored and part is not, and every delivery arrives.

const ENDPOINTS = 50;
const EVENTS = 160;

for (const dialect of DIALECTS) {
  describe(`a large fan-out does not hold up other requests (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let countEvents: (tenantId: string) => Promise<number>;
    let closeReader: () => Promise<void>;
    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      // What is committed, read on a connection of its own (as another process would see it).
      if (dialect === 'sqlite') {
        const reader = new Database(path.join(h.database.dataDir, 'herald.db'), { readonly: true });
        const stmt = reader.prepare('SELECT count(*) AS n FROM events WHERE tenant_id = ?');
        countEvents = async (t) => (stmt.get(t) as { n: number }).n;
        closeReader = async () => void reader.close();
      } else {
        const reader = new pg.Client({ connectionString: h.database.databaseUrl });
        await reader.connect();
        countEvents = async (t) => Number((await reader.query('SELECT count(*) AS n FROM events WHERE tenant_id = $1', [t])).rows[0].n);
        closeReader = () => reader.end();
      }
    });
    after(async () => {
      await closeReader();
      await h.close();
      await rx.stop();
    });

    it('answers health checks while the batch is being written, and delivers all of it', async () => {
      await h.api('POST', '/v1/event-types', { name: 'fan.thing' });
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'Fan', uid: 'fan' })).body;
      for (let i = 0; i < ENDPOINTS; i++)
        assert.equal((await h.api('POST', '/v1/tenants/fan/endpoints', { url: `${rx.url}/e${i}` })).status, 201);

      let done = false;
      let midWrite = 0;
      let health = 0;
      const batch = h
        .api('POST', '/v1/tenants/fan/events/batch', {
          events: Array.from({ length: EVENTS }, (_, i) => ({ type: 'fan.thing', payload: { i } })),
        })
        .finally(() => (done = true));
      // Four clients ask for health without pause until the batch is answered.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (!done) {
            const r = await fetch(`${h.url}/v1/health`);
            assert.equal(r.status, 200);
            await r.text();
            health++;
            const stored = await countEvents(tenant.id);
            if (stored > 0 && stored < EVENTS) midWrite++;
          }
        }),
      );
      const answer = await batch;
      assert.equal(answer.status, 202);
      assert.ok(midWrite > 0, `health answered while the batch was part-written (${midWrite} of ${health} health answers)`);

      const pairs = () => new Set(rx.received.map((r) => `${r.headers['webhook-id']} ${r.path}`)).size;
      await rx.waitFor(() => pairs() >= EVENTS * ENDPOINTS, 120_000, `${EVENTS * ENDPOINTS} deliveries`);
      assert.equal(pairs(), EVENTS * ENDPOINTS);
    });
  });
}
