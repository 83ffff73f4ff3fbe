import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Db } from '../src/db/db.js';
import { applyRetention } from '../src/maintenance/retention.js';
import { REFUSED_HEADERS_MAX_BYTES, REFUSED_ROW_OVERHEAD } from '../src/inbound/refusals.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';

// Anyone who knows a source's URL can post to it without credentials. A flood of forged 128 KiB
// bodies must write no more than the source's byte budget: a prefix of each body, bounded headers,
// and nothing once the budget is spent; and refusals go long before accepted messages do.

const BUDGET = 65_536;
const PREFIX = 1024;
const DAY = 86_400_000;

/** Bytes the database holds now: SQLite's pages (WAL included), or the Postgres table with its indexes and TOAST. */
async function databaseBytes(db: Db): Promise<number> {
  const sql =
    db.dialect === 'sqlite'
      ? 'SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) AS n'
      : "SELECT pg_total_relation_size('inbound_messages') AS n";
  return Number((await db.one<{ n: number | string }>(sql))!.n);
}

describe('the settings that bound refused requests', () => {
  it('default to a 1 KiB prefix, 128 KiB per source per hour and a 7-day retention, and refuse values that make no sense', () => {
    const c = loadConfig({});
    assert.deepEqual([c.inboundRejectedBodyBytes, c.inboundRejectedBytesPerHour, c.inboundRejectedRetentionMs], [1024, 131_072, 7 * DAY]);
    const set = loadConfig({
      HERALD_INBOUND_REJECTED_BODY_BYTES: '0',
      HERALD_INBOUND_REJECTED_BYTES_PER_HOUR: '0',
      HERALD_INBOUND_REJECTED_RETENTION: '12h',
    });
    assert.deepEqual(
      [set.inboundRejectedBodyBytes, set.inboundRejectedBytesPerHour, set.inboundRejectedRetentionMs],
      [0, 0, 12 * 3_600_000],
    );
    assert.throws(
      () => loadConfig({ HERALD_INBOUND_REJECTED_BODY_BYTES: '1048576' }),
      (e: Error) => e instanceof ConfigError && /HERALD_INBOUND_REJECTED_BODY_BYTES must be .* 0 to 65536/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ HERALD_INBOUND_REJECTED_BYTES_PER_HOUR: '100' }),
      /HERALD_INBOUND_REJECTED_BYTES_PER_HOUR must be 0 \(no byte limit\) or .* at least 16384/,
    );
    assert.throws(
      () => loadConfig({ HERALD_INBOUND_REJECTED_RETENTION: 'a week' }),
      /HERALD_INBOUND_REJECTED_RETENTION must be seconds or a duration/,
    );
  });
});

for (const dialect of DIALECTS) {
  describe(`a flood of forged requests to a source (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      // No cap on the count per second: the byte budget alone must bound the flood.
      h = await startHerald(dialect, {
        HERALD_INBOUND_REJECTIONS_STORED: '0',
        HERALD_INBOUND_REJECTED_BYTES_PER_HOUR: String(BUDGET),
        HERALD_INBOUND_REJECTED_BODY_BYTES: String(PREFIX),
      });
    });
    after(async () => {
      await h.close();
    });

    const forge = (sourceId: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${h.url}/in/${sourceId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-webhook-token': 'forged', ...headers },
        body,
      }).then(
        (r) => r.status,
        () => 'connection closed',
      );

    it('stores bounded copies within the byte budget, refuses every request, and retention deletes refusals but not accepted messages', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Target', uid: 'target' });
      const src = (await h.api('POST', '/v1/tenants/target/sources', { provider: 'token', name: 't', secret: 'real-token' })).body;
      const accepted = (await (
        await fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-webhook-token': 'real-token' },
          body: '{"type":"genuine"}',
        })
      ).json()) as { id: string };
      await eventually(
        async () => (await h.api('GET', `/v1/tenants/target/inbound/${accepted.id}`)).body.status === 'processed',
        10_000,
        'the genuine message processed',
      );
      const start = await databaseBytes(h.herald.db);

      // Headers are bounded too: ten 1,000-byte headers keep what fits in 4 KiB, and say how many were left out.
      const pads = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-pad-${i}`, 'a'.repeat(1000)]));
      assert.equal(await forge(src.id, Buffer.from('{}'), pads), 401);
      const [first] = (await h.api('GET', '/v1/tenants/target/inbound?status=rejected')).body.data;
      const padded = (await h.api('GET', `/v1/tenants/target/inbound/${first.id}`)).body;
      assert.ok(
        JSON.stringify(padded.headers).length <= REFUSED_HEADERS_MAX_BYTES,
        `headers kept: ${JSON.stringify(padded.headers).length} bytes`,
      );
      assert.ok(Number(padded.headers['x-herald-headers-omitted']) > 0);
      assert.equal(padded.headers['x-webhook-token'], '[redacted]');

      const bodies = Array.from({ length: 160 }, (_, i) => Buffer.concat([Buffer.from(`forged-${i}:`), randomBytes(128 * 1024)]));
      const answers: (number | string)[] = [];
      for (let i = 0; i < bodies.length; i += 16)
        answers.push(...(await Promise.all(bodies.slice(i, i + 16).map((b) => forge(src.id, b)))));
      // Bodies over HERALD_INBOUND_MAX_BYTES are refused before they are read; what is kept of them is bounded too.
      const tooBig = await Promise.all(Array.from({ length: 4 }, () => forge(src.id, randomBytes(2 * 1024 * 1024))));
      assert.deepEqual(answers, Array(160).fill(401), 'every forged request is refused');
      assert.ok(
        tooBig.every((s) => s === 413 || s === 'connection closed'),
        `oversized: ${tooBig.join(', ')}`,
      );

      const kept = await h.herald.db.one<{ n: number | string; body: number | string; headers: number | string; reason: number | string }>(
        `SELECT COUNT(*) AS n, SUM(LENGTH(body)) AS body, SUM(LENGTH(headers)) AS headers, SUM(LENGTH(reason)) AS reason
           FROM inbound_messages WHERE source_id = $1 AND status = 'rejected'`,
        [src.id],
      );
      const rows = Number(kept!.n);
      const logical = Number(kept!.body) + Number(kept!.headers) + Number(kept!.reason) + rows * REFUSED_ROW_OVERHEAD;
      const grew = (await databaseBytes(h.herald.db)) - start;
      // The budget refills by BUDGET per hour: a few bytes while the test runs.
      assert.ok(logical <= BUDGET + 1024, `refusals hold ${logical} bytes, over the budget of ${BUDGET}`);
      assert.ok(rows >= 10 && rows < 160, `${rows} of 165 refusals stored`);
      // What the database really grew by: the rows with their indexes and page slack, a small
      // multiple of the budget (the 20 MiB flood, stored whole, would be 320 times it).
      assert.ok(grew <= 3 * BUDGET, `the database grew by ${grew} bytes`);

      const list = (await h.api('GET', '/v1/tenants/target/inbound?status=rejected&limit=250')).body.data;
      const sample = (await h.api('GET', `/v1/tenants/target/inbound/${list[list.length - 2].id}`)).body;
      const prefix = Buffer.from(sample.body, sample.bodyEncoding === 'base64' ? 'base64' : 'utf8');
      const i = Number(/^forged-(\d+):/.exec(prefix.toString('latin1'))![1]);
      assert.deepEqual(prefix, bodies[i].subarray(0, PREFIX), 'a refusal keeps the first bytes of its body');
      assert.deepEqual([sample.bodySize, sample.bodyTruncated], [bodies[i].length, true]);
      assert.match(sample.reason, /x-webhook-token does not match/);

      // Retention: nothing younger than the retention goes; older refusals go in bounded batches;
      // the accepted message stays, body and all.
      const retention = { payloadDays: 0, attemptDays: 0, rejectedMs: 7 * DAY, batch: 5 };
      assert.equal((await applyRetention(h.herald.db, retention)).rejectedDeleted, 0);
      let deleted = 0;
      for (;;) {
        const r = await applyRetention(h.herald.db, { ...retention, now: Date.now() + 8 * DAY });
        assert.ok(r.rejectedDeleted <= 50, 'each retention step deletes a bounded number of refusals');
        if (r.rejectedDeleted === 0) break;
        deleted += r.rejectedDeleted;
      }
      assert.equal(deleted, rows, 'every refusal of the source went');
      assert.deepEqual((await h.api('GET', '/v1/tenants/target/inbound?status=rejected')).body.data, []);
      const genuine = (await h.api('GET', `/v1/tenants/target/inbound/${accepted.id}`)).body;
      assert.deepEqual(
        [genuine.status, genuine.body, genuine.bodySize, genuine.bodyTruncated],
        ['processed', '{"type":"genuine"}', 18, false],
      );
    });
  });
}
