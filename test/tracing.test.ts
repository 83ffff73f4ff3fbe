import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { DIALECTS, freshDatabase, type TestDatabase } from './helpers/db.js';
import { eventually } from './helpers/herald.js';
import { heraldEnv, runCli, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

/** A span as OTLP/HTTP JSON carries it, with its attributes flattened. */
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status?: { code?: number };
  service: string;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttributes = { key: string; value: OtlpValue }[];
const flatten = (attrs: OtlpAttributes = []) =>
  Object.fromEntries(
    attrs.map((a) => [
      a.key,
      a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : (a.value.boolValue ?? a.value.doubleValue!)),
    ]),
  );

/** A real OTLP/HTTP receiver (what a collector listens with): POST /v1/traces, JSON bodies. */
class OtlpReceiver {
  readonly spans: ExportedSpan[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const data = JSON.parse(body.toString('utf8')) as {
          resourceSpans: {
            resource: { attributes: OtlpAttributes };
            scopeSpans: { spans: (Omit<ExportedSpan, 'attributes' | 'service'> & { attributes: OtlpAttributes })[] }[];
          }[];
        };
        for (const rs of data.resourceSpans) {
          const service = String(flatten(rs.resource.attributes)['service.name']);
          for (const ss of rs.scopeSpans) for (const s of ss.spans) this.spans.push({ ...s, attributes: flatten(s.attributes), service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const SPAN_KIND = { SERVER: 2, CLIENT: 3, CONSUMER: 5 };

for (const dialect of DIALECTS) {
  describe(`OpenTelemetry traces (${dialect})`, () => {
    let database: TestDatabase;
    let otlp: OtlpReceiver;
    let otlpUrl: string;
    let rx: Receiver;
    before(async () => {
      database = await freshDatabase(dialect);
      otlp = new OtlpReceiver();
      otlpUrl = await otlp.start();
      rx = await new Receiver().start();
    });
    after(async () => {
      await rx.stop();
      await otlp.stop();
      await database.drop();
    });

    it('one trace from the request that sent an event to each attempt, continued by the receiver; inbound processing too', async () => {
      const env = heraldEnv(database, {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
        OTEL_SERVICE_NAME: 'herald-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        HERALD_POLL_INTERVAL_MS: '100',
      });
      const h = await spawnHerald(env);
      try {
        const key = /sandbox\s+(sk_test_\S+)/.exec(h.stdout())![1];
        const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
          const res = await fetch(h.base + path, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: (await res.json()) as any };
        };
        await call('/v1/event-types', { name: 'traced.thing' });
        await call('/v1/tenants', { name: 'Traced', uid: 'traced' });
        await call('/v1/tenants/traced/endpoints', { url: `${rx.url}/traced?token=receivers-own-secret` });

        // The caller's own trace: Herald's spans join it.
        const callerTrace = randomBytes(16).toString('hex');
        const callerSpan = randomBytes(8).toString('hex');
        const sent = await call(
          '/v1/tenants/traced/events',
          { type: 'traced.thing', payload: { n: 1 } },
          { traceparent: `00-${callerTrace}-${callerSpan}-01` },
        );
        assert.equal(sent.status, 202);
        await rx.waitFor((r) => r.some((x) => x.path.startsWith('/traced')));
        const delivered = rx.received.find((x) => x.path.startsWith('/traced'))!;
        const sentParent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(delivered.headers.traceparent));
        assert.ok(sentParent, `the delivery carries a traceparent: ${String(delivered.headers.traceparent)}`);
        assert.equal(sentParent[1], callerTrace, 'the delivery continues the caller’s trace');

        // A received webhook: processing it is a span, and the event it forwards is its child.
        const src = (await call('/v1/tenants/traced/sources', { provider: 'github', name: 'gh', secret: 'gh-secret' })).body;
        await call('/v1/tenants/traced/endpoints', { url: `${rx.url}/forwarded`, eventTypes: ['github.issues'] });
        const body = JSON.stringify({ action: 'opened' });
        const got = await fetch(`${h.base}/in/${src.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': 'sha256=' + createHmac('sha256', 'gh-secret').update(body).digest('hex'),
            'x-github-event': 'issues',
            'x-github-delivery': 'gh-1',
          },
          body,
        });
        assert.equal(got.status, 200);
        await rx.waitFor((r) => r.some((x) => x.path === '/forwarded'));
      } finally {
        // A graceful stop exports what is buffered.
        h.proc.kill('SIGTERM');
        assert.equal(await h.exited, 0);
      }

      const spans = await eventually(
        async () => (otlp.spans.some((s) => s.kind === SPAN_KIND.CONSUMER) ? otlp.spans : null),
        5000,
        'spans',
      );
      assert.ok(spans.every((s) => s.service === 'herald-test'));
      const ingest = spans.find((s) => s.name === 'POST /v1/tenants/:tenant/events')!;
      assert.ok(ingest, `an ingest span among ${spans.map((s) => s.name).join(', ')}`);
      const callerTrace = ingest.traceId;
      assert.equal(ingest.kind, SPAN_KIND.SERVER);
      assert.equal(ingest.attributes['herald.events.count'], 1);
      assert.ok(ingest.parentSpanId, 'the ingest span is the caller’s child');

      const attempt = spans.find((s) => s.kind === SPAN_KIND.CLIENT && s.traceId === callerTrace)!;
      assert.ok(attempt, 'an attempt span in the caller’s trace');
      assert.equal(attempt.parentSpanId, ingest.spanId, 'the attempt is the child of the span that accepted the event');
      assert.equal(attempt.name, 'POST');
      assert.equal(attempt.attributes['http.request.method'], 'POST');
      assert.equal(attempt.attributes['http.response.status_code'], 200);
      assert.equal(attempt.attributes['url.full'], `${rx.url}/traced`, 'no query string: it may hold the receiver’s credential');
      assert.equal(attempt.attributes['server.address'], '127.0.0.1');
      assert.equal(attempt.attributes['herald.event.type'], 'traced.thing');
      assert.equal(attempt.attributes['herald.attempt'], 1);
      const delivered = rx.received.find((x) => x.path.startsWith('/traced'))!;
      assert.equal(String(delivered.headers.traceparent).split('-')[2], attempt.spanId, 'the receiver continues from the attempt span');

      const processing = spans.find((s) => s.name === 'herald.inbound.process')!;
      assert.equal(processing.kind, SPAN_KIND.CONSUMER);
      assert.equal(processing.attributes['herald.inbound.provider'], 'github');
      const forwardedAttempt = spans.find((s) => s.kind === SPAN_KIND.CLIENT && s.traceId === processing.traceId);
      assert.ok(forwardedAttempt, 'the forwarded event’s attempt is in the trace of the processing');
      assert.equal(forwardedAttempt.parentSpanId, processing.spanId);
    });

    it('off unless OTLP is configured: no traceparent goes out', async () => {
      const h = await spawnHerald(heraldEnv(database, { HERALD_POLL_INTERVAL_MS: '100' }));
      try {
        const key = JSON.parse((await runCli(['keys', 'create', '--env', 'sandbox', '--json'], heraldEnv(database))).stdout).key as string;
        const post = (path: string, body: unknown) =>
          fetch(h.base + path, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        await post('/v1/tenants', { name: 'Untraced', uid: 'untraced' });
        await post('/v1/tenants/untraced/endpoints', { url: `${rx.url}/untraced` });
        await post('/v1/tenants/untraced/events', { type: 'traced.thing', payload: {} });
        await rx.waitFor((r) => r.some((x) => x.path === '/untraced'));
        assert.equal(rx.received.find((x) => x.path === '/untraced')!.headers.traceparent, undefined);
      } finally {
        h.proc.kill('SIGTERM');
        await h.exited;
      }
    });
  });
}
