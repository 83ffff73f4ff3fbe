import { useId, useState } from 'react';
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
      billing {
        day
        currency
        transactions
        amount
        refunds
        refunded
      }
    }
  }
`);

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

/** Reports: delivery volume, success and failure, latency p50/p99 over time; CSV of each. */
export function Reports({ tenant }: { tenant: string | null }) {
  const id = useId();
  const [range, setRange] = useState<Range>('24h');
  const [w, setW] = useState(() => window('24h'));
  const q = useQuery(REPORT, { tenant, ...w });
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
  const rate = r && r.totals.delivered + r.totals.failed > 0 ? (100 * r.totals.delivered) / (r.totals.delivered + r.totals.failed) : null;

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
              <dd>{rate === null ? '—' : `${rate.toFixed(1)} %`}</dd>
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
        </>
      )}
    </section>
  );
}
