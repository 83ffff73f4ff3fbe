import { useId, useState } from 'react';
import { Link } from '../ui/Link';
import { graphql } from '../api/graphql';
import { ErrorNote } from '../ui/ErrorNote';
import { Lines, StackedBars } from '../ui/Charts';
import { download, toCsv } from '../ui/csv';
import { useQuery } from '../ui/useQuery';

const REPORT = graphql(`
  query Report($tenant: ID, $from: String, $to: String, $bucket: ReportBucket) {
    report(tenant: $tenant, from: $from, to: $to, bucket: $bucket) {
      buckets {
        start
        accepted
        delivered
        failed
        p50Ms
        p99Ms
      }
      totals {
        accepted
        delivered
        failed
        p50Ms
        p99Ms
      }
      byEventType {
        eventType
        accepted
        delivered
        failed
        p50Ms
        p99Ms
      }
      failingEndpoints(first: 10) {
        endpointId
        url
        deleted
        delivered
        failed
      }
      billing {
        day
        currency
        transactions
        amount
        refunds
        refunded
      }
      subscriptionsByState {
        state
        count
      }
    }
  }
`);

/** Rows of the by-type table shown at first, and added by each Show more (the CSV has them all). */
const TYPES_PAGE = 10;

const RANGES = {
  '24h': { label: 'Last 24 hours', ms: 86_400_000, bucket: 'HOUR' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'DAY' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'DAY' },
} as const;
type Range = keyof typeof RANGES;

/** The range ends at the next whole hour, so every bucket is whole and the query is stable. */
function window(range: Range) {
  const hour = 3_600_000;
  const to = Math.ceil((Date.now() + 1) / hour) * hour;
  return { from: new Date(to - RANGES[range].ms).toISOString(), to: new Date(to).toISOString(), bucket: RANGES[range].bucket };
}

type Bucket = { start: string; accepted: number; delivered: number; failed: number; p50Ms: number | null; p99Ms: number | null };

/** Every hour (or day) of the window, those without deliveries as zeros: the report answers only the busy ones. */
function allBuckets(buckets: readonly Bucket[], from: string, to: string, bucket: 'HOUR' | 'DAY'): Bucket[] {
  const size = bucket === 'HOUR' ? 3_600_000 : 86_400_000;
  const by = new Map(buckets.map((b) => [Date.parse(b.start), b]));
  const out: Bucket[] = [];
  for (let t = Math.floor(Date.parse(from) / size) * size; t < Date.parse(to); t += size) {
    out.push(by.get(t) ?? { start: new Date(t).toISOString(), accepted: 0, delivered: 0, failed: 0, p50Ms: null, p99Ms: null });
  }
  return out;
}

const successRate = (delivered: number, failed: number) =>
  delivered + failed > 0 ? `${((100 * delivered) / (delivered + failed)).toFixed(1)} %` : '—';

/** Reports: delivery volume, success and failure, latency p50/p99 over time; CSV of each. */
export function Reports({ tenant }: { tenant: string | null }) {
  const id = useId();
  const [range, setRange] = useState<Range>('24h');
  const [w, setW] = useState(() => window('24h'));
  const q = useQuery(REPORT, { tenant, ...w });
  const [typesShown, setTypesShown] = useState(TYPES_PAGE);
  const report = q.data?.report;
  const r = report && { ...report, buckets: allBuckets(report.buckets, w.from, w.to, w.bucket) };
  const hourly = w.bucket === 'HOUR';
  const label = (start: string) => {
    const d = new Date(start);
    return hourly ? `${String(d.getHours()).padStart(2, '0')}:00` : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  };
  const pick = (next: Range) => {
    setRange(next);
    setW(window(next));
  };

  const csv = () => {
    if (!r) return;
    download(
      `herald-deliveries-${w.from.slice(0, 13)}-${w.to.slice(0, 13)}.csv`,
      toCsv(
        ['start', 'accepted', 'delivered', 'failed', 'p50_ms', 'p99_ms'],
        r.buckets.map((b) => [b.start, b.accepted, b.delivered, b.failed, b.p50Ms, b.p99Ms]),
      ),
    );
  };
  const period = `${w.from.slice(0, 13)}-${w.to.slice(0, 13)}`;
  const typesCsv = () => {
    if (!r) return;
    download(
      `herald-event-types-${period}.csv`,
      toCsv(
        ['event_type', 'accepted', 'delivered', 'failed', 'p50_ms', 'p99_ms'],
        r.byEventType.map((t) => [t.eventType, t.accepted, t.delivered, t.failed, t.p50Ms, t.p99Ms]),
      ),
    );
  };
  const failingCsv = () => {
    if (!r) return;
    download(
      `herald-failing-endpoints-${period}.csv`,
      toCsv(
        ['endpoint_id', 'url', 'deleted', 'delivered', 'failed'],
        r.failingEndpoints.map((e) => [e.endpointId, e.url, e.deleted, e.delivered, e.failed]),
      ),
    );
  };
  const subscriptionsCsv = () => {
    if (!r) return;
    download(
      `herald-subscriptions-by-state-${new Date().toISOString().slice(0, 10)}.csv`,
      toCsv(
        ['state', 'subscriptions'],
        r.subscriptionsByState.map((x) => [x.state, x.count]),
      ),
    );
  };
  const billingCsv = () => {
    if (!r) return;
    download(
      `herald-billing-${w.from.slice(0, 10)}-${w.to.slice(0, 10)}.csv`,
      toCsv(
        ['day', 'currency', 'transactions', 'amount_minor', 'refunds', 'refunded_minor'],
        r.billing.map((b) => [b.day, b.currency, b.transactions, b.amount, b.refunds, b.refunded]),
      ),
    );
  };

  return (
    <section aria-labelledby="reports-title">
      <div className="page-head">
        <h1 id="reports-title">Reports</h1>
        <div className="field inline">
          <label htmlFor={`${id}-range`}>Period</label>
          <select id={`${id}-range`} value={range} onChange={(e) => pick(e.target.value as Range)}>
            {Object.entries(RANGES).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => void q.reload()}>
          Refresh
        </button>
        <button type="button" className="primary" onClick={csv} disabled={!r}>
          Download CSV
        </button>
      </div>
      <ErrorNote error={q.error} />
      {q.loading && !r && <p role="status">Loading the report…</p>}
      {r && (
        <>
          <dl className="totals">
            <div>
              <dt>Events accepted</dt>
              <dd>{r.totals.accepted}</dd>
            </div>
            <div>
              <dt>Delivered</dt>
              <dd>{r.totals.delivered}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{r.totals.failed}</dd>
            </div>
            <div>
              <dt>Success rate</dt>
              <dd>{successRate(r.totals.delivered, r.totals.failed)}</dd>
            </div>
            <div>
              <dt>Latency p50 / p99</dt>
              <dd>
                {r.totals.p50Ms ?? '—'} / {r.totals.p99Ms ?? '—'} ms
              </dd>
            </div>
          </dl>
          <StackedBars
            title="Deliveries: delivered and failed"
            points={r.buckets.map((b) => ({ label: label(b.start), values: [b.delivered, b.failed] }))}
            series={[
              { name: 'Delivered', className: 's-ok' },
              { name: 'Failed', className: 's-bad' },
            ]}
            summary={`${r.totals.delivered} delivered and ${r.totals.failed} failed over ${RANGES[range].label.toLowerCase()}`}
          />
          <Lines
            title="Latency from accepted to delivered"
            points={r.buckets.map((b) => ({ label: label(b.start), values: [b.p50Ms, b.p99Ms] }))}
            series={[
              { name: 'p50', className: 's-p50' },
              { name: 'p99', className: 's-p99' },
            ]}
            unit=" ms"
            summary={`p50 ${r.totals.p50Ms ?? 'none'} ms, p99 ${r.totals.p99Ms ?? 'none'} ms overall`}
          />
          <details>
            <summary>The numbers, per {hourly ? 'hour' : 'day'}</summary>
            <table className="table">
              <caption className="visually-hidden">Deliveries per {hourly ? 'hour' : 'day'}</caption>
              <thead>
                <tr>
                  <th scope="col">{hourly ? 'Hour' : 'Day'}</th>
                  <th scope="col">Accepted</th>
                  <th scope="col">Delivered</th>
                  <th scope="col">Failed</th>
                  <th scope="col">p50 ms</th>
                  <th scope="col">p99 ms</th>
                </tr>
              </thead>
              <tbody>
                {r.buckets.map((b) => (
                  <tr key={b.start}>
                    <th scope="row">{new Date(b.start).toLocaleString()}</th>
                    <td>{b.accepted}</td>
                    <td>{b.delivered}</td>
                    <td>{b.failed}</td>
                    <td>{b.p50Ms ?? ''}</td>
                    <td>{b.p99Ms ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
          <div className="page-head">
            <h2 id="by-type-title">Deliveries by event type</h2>
            <button type="button" onClick={typesCsv} disabled={!r.byEventType.length}>
              Download event types CSV
            </button>
          </div>
          {r.byEventType.length === 0 ? (
            <p>No events in this period.</p>
          ) : (
            <>
              <table className="table" aria-labelledby="by-type-title">
                <thead>
                  <tr>
                    <th scope="col">Event type</th>
                    <th scope="col">Accepted</th>
                    <th scope="col">Delivered</th>
                    <th scope="col">Failed</th>
                    <th scope="col">Success rate</th>
                    <th scope="col">p50 ms</th>
                    <th scope="col">p99 ms</th>
                  </tr>
                </thead>
                <tbody>
                  {r.byEventType.slice(0, typesShown).map((t) => (
                    <tr key={t.eventType}>
                      <th scope="row">
                        <code>{t.eventType}</code>
                      </th>
                      <td>{t.accepted}</td>
                      <td>{t.delivered}</td>
                      <td>{t.failed}</td>
                      <td>{successRate(t.delivered, t.failed)}</td>
                      <td>{t.p50Ms ?? ''}</td>
                      <td>{t.p99Ms ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {r.byEventType.length > typesShown && (
                <button type="button" onClick={() => setTypesShown((n) => n + 25)}>
                  Show more event types ({r.byEventType.length - typesShown} more)
                </button>
              )}
            </>
          )}
          <div className="page-head">
            <h2 id="failing-title">Most failing endpoints</h2>
            <button type="button" onClick={failingCsv} disabled={!r.failingEndpoints.length}>
              Download failing endpoints CSV
            </button>
          </div>
          {r.failingEndpoints.length === 0 ? (
            <p>No delivery failed in this period.</p>
          ) : (
            <table className="table" aria-labelledby="failing-title">
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Delivered</th>
                  <th scope="col">Success rate</th>
                </tr>
              </thead>
              <tbody>
                {r.failingEndpoints.map((e) => (
                  <tr key={e.endpointId}>
                    <th scope="row" className="url-cell">
                      {/* Its deliveries in the logs, where a bulk recovery can resend them. */}
                      <Link to={`/logs?endpoint=${encodeURIComponent(e.endpointId)}`}>{e.url ?? e.endpointId}</Link>
                      {e.deleted && <span className="muted"> (deleted)</span>}
                    </th>
                    <td>{e.failed}</td>
                    <td>{e.delivered}</td>
                    <td>{successRate(e.delivered, e.failed)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="page-head">
            <h2>Billing</h2>
            <button type="button" onClick={billingCsv} disabled={!r.billing.length}>
              Download billing CSV
            </button>
          </div>
          {r.billing.length === 0 ? (
            <p>No billing records in this period.</p>
          ) : (
            <table className="table">
              <caption className="visually-hidden">Billing per day and currency</caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Currency</th>
                  <th scope="col">Transactions</th>
                  <th scope="col">Amount</th>
                  <th scope="col">Refunds</th>
                  <th scope="col">Refunded</th>
                </tr>
              </thead>
              <tbody>
                {r.billing.map((b) => (
                  <tr key={b.day + b.currency}>
                    <th scope="row">{b.day.slice(0, 10)}</th>
                    <td>{b.currency}</td>
                    <td>{b.transactions}</td>
                    <td>{(b.amount / 100).toFixed(2)}</td>
                    <td>{b.refunds}</td>
                    <td>{(b.refunded / 100).toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="page-head">
            <h3 id="states-title">Subscriptions by state</h3>
            <button type="button" onClick={subscriptionsCsv} disabled={!r.subscriptionsByState.length}>
              Download subscriptions CSV
            </button>
          </div>
          <p className="muted">As they stand now, whatever the period.</p>
          {r.subscriptionsByState.length === 0 ? (
            <p>No subscriptions recorded.</p>
          ) : (
            <table className="table" aria-labelledby="states-title">
              <thead>
                <tr>
                  <th scope="col">State</th>
                  <th scope="col">Subscriptions</th>
                </tr>
              </thead>
              <tbody>
                {r.subscriptionsByState.map((x) => (
                  <tr key={x.state}>
                    <th scope="row">{x.state}</th>
                    <td>{x.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
