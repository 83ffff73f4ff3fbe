import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chargifyBody } from './helpers/chargify.js';
import { DIALECTS, freshDatabase, type TestDatabase } from './helpers/db.js';
import { eventually } from './helpers/herald.js';
import { firstStartForCrash, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

// "Receive first, think later", proved on a real process: webhooks answered 200 before a kill -9
// are all processed (forwarded and recorded) after the restart, and none is recorded twice.

for (const dialect of DIALECTS) {
  describe(`received webhooks survive a crash (${dialect})`, () => {
    let database: TestDatabase;
    let rx: Receiver;
    before(async () => {
      database = await freshDatabase(dialect);
      rx = await new Receiver().start();
    });
    after(async () => {
      await rx.stop();
      await database.drop();
    });

    it('processes every webhook it answered 200 to, after a SIGKILL in the middle of a burst', async () => {
      const { first, env, key } = await firstStartForCrash(database);
      // Where the API answers: the second process binds a port of its own.
      let base = first.base;
      const api = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        return r.json() as Promise<any>;
      };
      await api('POST', '/v1/tenants', { name: 'Crash', uid: 'crash' });
      await api('POST', '/v1/tenants/crash/customers', { key: 'acme', kind: 'organization' });
      const src = await api('POST', '/v1/tenants/crash/sources', { provider: 'chargify', name: 'Chargify', secret: 'k' });
      await api('POST', '/v1/tenants/crash/endpoints', { url: `${rx.url}/fwd`, eventTypes: ['chargify.payment_success'] });

      const accepted = new Map<string, string>(); // message id → Chargify transaction id
      let sent = 0;
      let killed = false;
      const worker = async () => {
        while (!killed && sent < 3000) {
          const n = ++sent;
          const body = chargifyBody(n, 'payment_success', {
            'subscription.id': 1,
            'subscription.customer.reference': 'acme',
            'transaction.id': n,
            'transaction.amount_in_cents': 100 + n,
          });
          try {
            const r = await fetch(`${base}/in/${src.id}`, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'k').update(body).digest('hex'),
              },
              body,
            });
            if (r.status === 200) accepted.set(((await r.json()) as { id: string }).id, String(n));
          } catch {
            // the connection died with the process: never answered, so never promised
          }
          if (!killed && accepted.size >= 150) {
            killed = true;
            first.proc.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      await first.exited;

      const second = await spawnHerald(env);
      base = second.base;
      const transactions = async () => {
        const ids: string[] = [];
        for (let cursor: string | null = null; ;) {
          const page: any = await api('GET', `/v1/tenants/crash/transactions?limit=250${cursor ? `&cursor=${cursor}` : ''}`);
          ids.push(...page.data.map((t: { providerId: string }) => t.providerId));
          cursor = page.nextCursor;
          if (!cursor) return ids;
        }
      };
      await eventually(
        async () => {
          const recorded = new Set(await transactions());
          return [...accepted.values()].every((t) => recorded.has(t));
        },
        30_000,
        'every accepted webhook to be recorded',
      );
      const recorded = await transactions();
      assert.equal(new Set(recorded).size, recorded.length, 'no transaction recorded twice');
      for (const id of accepted.keys()) assert.equal((await api('GET', `/v1/tenants/crash/inbound/${id}`)).status, 'processed');
      const forwarded = () => new Set(rx.received.map((r) => String(JSON.parse(r.body).data.id)));
      await eventually(
        async () => [...accepted.values()].every((n) => forwarded().has(n)),
        30_000,
        'every accepted webhook to be forwarded',
      );
      console.log(
        `# ${dialect}: accepted ${accepted.size} webhooks before the kill; ${recorded.length} recorded after restart (some stored, unanswered); forwarded duplicates ${rx.received.length - forwarded().size}`,
      );
      second.proc.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    });
  });
}
