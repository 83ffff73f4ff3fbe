import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

/** One sample of a Prometheus text exposition: its name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format (0.0.4) as Prometheus reads it: HELP and TYPE lines, then samples. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

for (const dialect of DIALECTS) {
  describe(`probes and metrics (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startHerald(dialect, { HERALD_RETRY_SCHEDULE: '3600' });
      rx = await new Receiver((r) => (r.path === '/down' ? { status: 500 } : { status: 200 })).start();
    });
    after(async () => {
      await rx.stop();
      await h.close();
    });

    const scrape = async (key = h.sandboxKey) => {
      const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200, await res.clone().text());
      assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      return parseExposition(await res.text());
    };

    it('GET /v1/ready: 200 with nothing pending; 503 naming a migration the database lacks', async () => {
      const ready = await h.api('GET', '/v1/ready', undefined, { key: null });
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', database: { reachable: true }, migrations: { pending: [] } });

      const last = await h.herald.db.one<{ id: number; name: string; applied_at: number }>(
        'SELECT id, name, applied_at FROM herald_migrations ORDER BY id DESC LIMIT 1',
      );
      await h.herald.db.run('DELETE FROM herald_migrations WHERE id = $1', [last!.id]);
      try {
        const behind = await h.api('GET', '/v1/ready', undefined, { key: null });
        assert.equal(behind.status, 503);
        assert.equal(behind.body.status, 'not_ready');
        assert.deepEqual(behind.body.migrations.pending, [last!.name]);
      } finally {
        await h.herald.db.run('INSERT INTO herald_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [
          last!.id,
          last!.name,
          last!.applied_at,
        ]);
      }
      assert.equal((await h.api('GET', '/v1/ready', undefined, { key: null })).status, 200);
    });

    it('GET /metrics: operator secret keys only', async () => {
      const none = await h.api('GET', '/metrics', undefined, { key: null });
      assert.equal(none.status, 401);
      await h.api('POST', '/v1/tenants', { name: 'Scoped', uid: 'scoped' });
      const scoped = await h.api('POST', '/v1/keys', { tenant: 'scoped' });
      assert.equal(scoped.status, 201, JSON.stringify(scoped.body));
      const refused = await h.api('GET', '/metrics', undefined, { key: scoped.body.key });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /operator/);
    });

    it('counts accepted events, attempts by outcome and their durations, from the same deliveries the log shows', async () => {
      const before = (await scrape()).samples;
      await h.api('POST', '/v1/event-types', { name: 'metric.thing' });
      await h.api('POST', '/v1/tenants', { name: 'Metered', uid: 'metered' });
      await h.api('POST', '/v1/tenants/metered/endpoints', { url: `${rx.url}/up` });
      await h.api('POST', '/v1/tenants/metered/endpoints', { url: `${rx.url}/down` });
      for (let i = 0; i < 3; i++) {
        const r = await h.api('POST', '/v1/tenants/metered/events', { type: 'metric.thing', payload: { i } });
        assert.equal(r.status, 202);
      }
      // The same idempotency key twice: one event accepted, not two.
      for (let i = 0; i < 2; i++)
        await h.api(
          'POST',
          '/v1/tenants/metered/events',
          { type: 'metric.thing', payload: { i: 9 } },
          { headers: { 'idempotency-key': 'once' } },
        );
      const delta = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
        (value(s, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
      // 4 events × 2 endpoints: 4 delivered (/up), 4 to be retried in an hour (/down).
      const after = await eventually(async () => {
        const s = (await scrape()).samples;
        return delta(s, 'herald_deliveries_total', { outcome: 'delivered' }) >= 4 &&
          delta(s, 'herald_deliveries_total', { outcome: 'retrying' }) >= 4
          ? s
          : null;
      }, 10_000);
      assert.equal(delta(after, 'herald_events_accepted_total'), 4);
      assert.equal(delta(after, 'herald_deliveries_total', { outcome: 'delivered' }), 4);
      assert.equal(delta(after, 'herald_deliveries_total', { outcome: 'retrying' }), 4);
      assert.equal(delta(after, 'herald_deliveries_total', { outcome: 'failed' }), 0);
      assert.equal(delta(after, 'herald_delivery_attempt_duration_seconds_count'), 8);
      const sum = delta(after, 'herald_delivery_attempt_duration_seconds_sum');
      assert.ok(sum > 0 && sum < 8 * 5, `durations add up to ${sum} s`);
      // Cumulative buckets end at +Inf with the count.
      assert.equal(
        value(after, 'herald_delivery_attempt_duration_seconds_bucket', { le: '+Inf' }),
        value(after, 'herald_delivery_attempt_duration_seconds_count'),
      );
      // Each group commit is observed once it is durable: how many requests it held, its write, its flush.
      const events = { writer: 'events' };
      const groups = delta(after, 'herald_group_commit_items_count', events);
      assert.ok(groups >= 1 && groups <= 5, `${groups} commits for 5 requests`);
      assert.ok(delta(after, 'herald_group_commit_items_sum', events) >= 5, 'the five requests, the repeated key included');
      assert.equal(delta(after, 'herald_group_commit_write_seconds_count', events), groups);
      assert.equal(delta(after, 'herald_group_commit_flush_seconds_count', events), groups);
      assert.ok(delta(after, 'herald_group_commit_write_seconds_sum', events) > 0);
      // The retries are due in an hour: nothing is due now.
      assert.equal(value(after, 'herald_deliveries_due'), 0);
      assert.equal(value(after, 'herald_oldest_due_seconds'), 0);
    });

    it('counts received webhooks by provider and result', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Receiving', uid: 'receiving' });
      const src = (await h.api('POST', '/v1/tenants/receiving/sources', { provider: 'github', name: 'gh', secret: 'gh-secret' })).body;
      const body = JSON.stringify({ action: 'opened' });
      const post = (sig: string, delivery: string) =>
        fetch(`${h.url}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': sig,
            'x-github-event': 'issues',
            'x-github-delivery': delivery,
          },
          body,
        });
      const before = (await scrape()).samples;
      const good = 'sha256=' + createHmac('sha256', 'gh-secret').update(body).digest('hex');
      assert.equal((await post(good, 'd-1')).status, 200);
      assert.equal((await post(good, 'd-1')).status, 200);
      assert.equal((await post('sha256=' + '0'.repeat(64), 'd-2')).status, 401);
      const { samples, types } = await scrape();
      assert.equal(types.get('herald_inbound_received_total'), 'counter');
      assert.equal(value(samples, 'herald_inbound_received_total', { provider: 'github', result: 'accepted' }), 1);
      assert.equal(value(samples, 'herald_inbound_received_total', { provider: 'github', result: 'duplicate' }), 1);
      assert.equal(value(samples, 'herald_inbound_received_total', { provider: 'github', result: 'rejected' }), 1);
      // All three were stored (the duplicate answered from the store, the refusal kept as rejected),
      // one after the other: three commits of one request each, each flushed before its answer.
      const delta = (name: string) =>
        (value(samples, name, { writer: 'inbound' }) ?? 0) - (value(before, name, { writer: 'inbound' }) ?? 0);
      assert.equal(delta('herald_group_commit_items_count'), 3);
      assert.equal(delta('herald_group_commit_items_sum'), 3);
      assert.equal(delta('herald_group_commit_flush_seconds_count'), 3);
      if (dialect === 'sqlite') assert.ok(delta('herald_group_commit_flush_seconds_sum') > 0, 'an fsync takes some time');
      // Postgres: the commit includes the flush; what is left is a turn of promises.
      else assert.ok(delta('herald_group_commit_flush_seconds_sum') < 0.1, 'the commit includes the flush');
    });

    it('exports the process figures, the pool on Postgres, and no label that names a tenant or an endpoint', async () => {
      const { samples, types } = await scrape(h.productionKey);
      assert.ok(value(samples, 'process_cpu_user_seconds_total')! >= 0);
      assert.ok(value(samples, 'nodejs_eventloop_lag_seconds')! >= 0);
      assert.equal(types.get('herald_delivery_attempt_duration_seconds'), 'histogram');
      if (dialect === 'postgres') assert.ok(value(samples, 'herald_db_pool_connections')! >= 1);
      else assert.equal(types.has('herald_db_pool_connections'), false);
      const labelNames = new Set(samples.filter((s) => s.name.startsWith('herald_')).flatMap((s) => Object.keys(s.labels)));
      assert.deepEqual([...labelNames].sort(), ['le', 'outcome', 'provider', 'result', 'writer']);
      const writers = new Set(samples.filter((s) => s.labels.writer).map((s) => s.labels.writer));
      assert.deepEqual([...writers].sort(), ['events', 'inbound'], 'writer: one of two group commits');
    });

    it('the Grafana dashboard in docs/ asks only for metrics Herald exports', async () => {
      const dashboard = fs.readFileSync(new URL('../docs/grafana/herald-dashboard.json', import.meta.url), 'utf8');
      const exprs = (JSON.parse(dashboard) as { panels: { targets: { expr: string }[] }[] }).panels.flatMap((p) =>
        p.targets.map((t) => t.expr),
      );
      const asked = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:herald|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1])));
      const { types } = await scrape();
      const exported = (name: string) => types.has(name) || types.has(name.replace(/_(bucket|sum|count)$/, ''));
      const missing = [...asked].filter((n) => !exported(n) && !(dialect === 'sqlite' && n.startsWith('herald_db_pool_')));
      assert.deepEqual(missing, []);
      assert.ok(asked.size >= 10);
    });

    it('the backlog gauges: deliveries due and the wait of the oldest, while no worker runs', async () => {
      // A Herald with the API role only (no worker): what it accepts stays due.
      const apiOnly = await startHerald(dialect, { HERALD_ROLES: 'api' });
      try {
        await apiOnly.api('POST', '/v1/event-types', { name: 'metric.waiting' });
        await apiOnly.api('POST', '/v1/tenants', { name: 'Waiting', uid: 'waiting' });
        await apiOnly.api('POST', '/v1/tenants/waiting/endpoints', { url: `${rx.url}/up` });
        for (let i = 0; i < 5; i++) await apiOnly.api('POST', '/v1/tenants/waiting/events', { type: 'metric.waiting', payload: { i } });
        await new Promise((r) => setTimeout(r, 1100)); // past the one-second reuse of the last reading
        const res = await fetch(`${apiOnly.url}/metrics`, { headers: { authorization: `Bearer ${apiOnly.sandboxKey}` } });
        const { samples } = parseExposition(await res.text());
        assert.equal(value(samples, 'herald_deliveries_due'), 5);
        assert.ok(value(samples, 'herald_oldest_due_seconds')! >= 1, `oldest waited ${value(samples, 'herald_oldest_due_seconds')} s`);
        assert.equal(value(samples, 'herald_events_accepted_total'), 5);
      } finally {
        await apiOnly.close();
      }
    });

    it('GET /v1/ready: 503 saying so when the database does not answer', async () => {
      const broken = await startHerald(dialect, { HERALD_ROLES: 'api' });
      await broken.herald.db.close();
      try {
        const r = await broken.api('GET', '/v1/ready', undefined, { key: null });
        assert.equal(r.status, 503);
        assert.equal(r.body.status, 'not_ready');
        assert.equal(r.body.database.reachable, false);
        assert.ok(r.body.database.error.length > 0);
        // Liveness does not depend on the database.
        assert.equal((await broken.api('GET', '/v1/health', undefined, { key: null })).status, 200);
      } finally {
        await broken.herald.stop();
        await broken.database.drop();
      }
    });
  });
}
