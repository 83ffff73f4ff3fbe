import { type FormEvent, Fragment, useEffect, useId, useState } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { usePages } from '../ui/usePages';
import { useQuery } from '../ui/useQuery';
import { ENDPOINTS, EVENT_TYPES } from './webhookQueries';

const EVENTS = graphql(`
  query Events($tenant: ID, $type: String, $status: EventStatus, $since: String, $until: String, $endpoint: ID, $after: String) {
    events(tenant: $tenant, type: $type, status: $status, since: $since, until: $until, endpoint: $endpoint, first: 25, after: $after) {
      nodes {
        id
        type
        status
        createdAt
        deliveries {
          id
          endpointId
          status
          attemptCount
          lastStatusCode
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const EVENT = graphql(`
  query LogEvent($tenant: ID, $id: ID!) {
    event(tenant: $tenant, id: $id) {
      id
      type
      status
      createdAt
      occurredAt
      payload
      deliveries {
        id
        endpointId
        status
        attemptCount
        attempts {
          id
          attempt
          startedAt
          statusCode
          durationMs
          error
          responseBody
        }
      }
    }
  }
`);

const RESEND = graphql(`
  mutation Resend($id: ID!) {
    resendDelivery(id: $id) {
      id
      status
    }
  }
`);

const RECOVER = graphql(`
  mutation RecoverEndpoint($endpointId: ID!, $since: String!, $until: String) {
    recoverEndpoint(endpointId: $endpointId, since: $since, until: $until) {
      id
      endpointId
      status
      total
      failed
      waiting
      done
    }
  }
`);

const RECOVERY = graphql(`
  query Recovery($id: ID!) {
    recovery(id: $id) {
      id
      endpointId
      status
      total
      failed
      waiting
      done
    }
  }
`);

type EventRow = ResultOf<typeof EVENTS>['events']['nodes'][number];
type Recovery = ResultOf<typeof RECOVERY>['recovery'];
type Status = EventRow['status'];

const STATUS_NAMES: Record<Status, string> = { S: 'Delivered', F: 'Failed', I: 'In progress', N: 'No endpoint' };
const PRESETS = { all: 'Any time', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', custom: 'Custom range' } as const;
type Preset = keyof typeof PRESETS;
const PRESET_MS: Partial<Record<Preset, number>> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** datetime-local inputs speak local time without a zone; the API speaks ISO 8601. */
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : null);
/** A time as a datetime-local input's value (local time, to the minute). */
function toLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Logs: the delivery log (events and their deliveries), filtered (by endpoint too: `?endpoint=` in
 * the address opens it so); each event's attempts; resend; bulk recovery of an endpoint with its
 * progress.
 */
export function Logs({ tenant }: { tenant: string | null }) {
  const id = useId();
  const types = useQuery(EVENT_TYPES, {});
  const endpoints = useQuery(ENDPOINTS, { tenant });
  const [endpoint, setEndpoint] = useState(() => new URLSearchParams(window.location.search).get('endpoint') ?? '');
  const [type, setType] = useState('');
  const [status, setStatus] = useState<Status | ''>('');
  const [preset, setPreset] = useState<Preset>('24h');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const urlOf = (endpointId: string) => endpoints.data?.endpoints.find((e) => e.id === endpointId)?.url ?? endpointId;

  const range = () => {
    if (preset === 'custom') return { since: fromLocal(from), until: fromLocal(to) };
    const ms = PRESET_MS[preset];
    return { since: ms ? new Date(Date.now() - ms).toISOString() : null, until: null };
  };

  const { rows, more, loading, error, loadMore, reload } = usePages<EventRow>(
    async (after) =>
      (await request(EVENTS, { tenant, type: type || null, status: status || null, endpoint: endpoint || null, ...range(), after })).events,
    [endpoint, type, status, preset, from, to, tenant],
  );

  const live = endpoints.data?.endpoints ?? [];
  // An endpoint named in the address that is not live (deleted since: its deliveries stay in the log).
  const endpointOptions =
    endpoint && endpoints.data && !live.some((e) => e.id === endpoint) ? [...live, { id: endpoint, url: `${endpoint} (deleted)` }] : live;
  const pickEndpoint = (next: string) => {
    setEndpoint(next);
    // No endpoint has a delivery of an event that had none.
    if (next && status === 'N') setStatus('');
  };

  return (
    <section aria-labelledby="logs-title">
      <div className="page-head">
        <h1 id="logs-title">Logs</h1>
        <button type="button" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      <form className="search-row" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-endpoint`}>Endpoint</label>
          <select id={`${id}-endpoint`} value={endpoint} onChange={(e) => pickEndpoint(e.target.value)}>
            <option value="">All endpoints</option>
            {endpointOptions.map((e) => (
              <option key={e.id} value={e.id}>
                {e.url}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-type`}>Event type</label>
          <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All types</option>
            {(types.data?.eventTypes ?? []).map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
            <option value="">All statuses</option>
            {Object.entries(STATUS_NAMES)
              .filter(([k]) => !endpoint || k !== 'N')
              .map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-period`}>Period</label>
          <select id={`${id}-period`} value={preset} onChange={(e) => setPreset(e.target.value as Preset)}>
            {Object.entries(PRESETS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        {preset === 'custom' && (
          <>
            <div className="field">
              <label htmlFor={`${id}-from`}>From</label>
              <input id={`${id}-from`} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor={`${id}-to`}>To</label>
              <input id={`${id}-to`} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            </div>
          </>
        )}
      </form>
      {endpoint && <p className="muted">Status is that of the delivery to this endpoint.</p>}
      <BulkRecovery endpoints={live} chosen={endpoint} onDone={() => void reload()} />
      <ErrorNote error={error} />
      <table className="table">
        <caption className="visually-hidden">Events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Accepted</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Deliveries</th>
            <th scope="col">
              <span className="visually-hidden">Details</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <Fragment key={e.id}>
              <tr>
                <td>{new Date(e.createdAt).toLocaleString()}</td>
                <td>
                  <code>{e.type}</code>
                </td>
                <td>
                  <span className={`badge ${e.status === 'S' ? 'ok' : e.status === 'F' ? 'bad' : 'warn'}`}>{STATUS_NAMES[e.status]}</span>
                </td>
                <td>
                  {e.deliveries.length === 0
                    ? 'none'
                    : e.deliveries
                        .filter((d) => !endpoint || d.endpointId === endpoint)
                        .map((d) => `${d.lastStatusCode ?? '—'} after ${d.attemptCount} attempt${d.attemptCount === 1 ? '' : 's'}`)
                        .join('; ')}
                </td>
                <td>
                  <button
                    type="button"
                    aria-expanded={open === e.id}
                    aria-controls={`ev-${e.id}`}
                    onClick={() => setOpen(open === e.id ? null : e.id)}
                  >
                    {open === e.id ? 'Hide' : 'Details'}
                    <span className="visually-hidden">
                      {' '}
                      of {e.type} at {new Date(e.createdAt).toLocaleString()}
                    </span>
                  </button>
                </td>
              </tr>
              {open === e.id && (
                <tr id={`ev-${e.id}`}>
                  <td colSpan={5}>
                    <EventDetails tenant={tenant} eventId={e.id} urlOf={urlOf} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error && <p>No events match these filters.</p>}
      {loading && <p role="status">Loading…</p>}
      {more && !loading && (
        <button type="button" onClick={() => void loadMore()}>
          Show more
        </button>
      )}
    </section>
  );
}

/**
 * Bulk recovery: for an endpoint that was down and works again, every delivery to it in a time
 * range that failed or waits for a later retry is sent again, in the background; its progress is
 * read until it is done.
 */
function BulkRecovery({
  endpoints,
  chosen,
  onDone,
}: {
  endpoints: readonly { id: string; url: string }[];
  chosen: string;
  onDone: () => void;
}) {
  const id = useId();
  const [endpoint, setEndpoint] = useState(chosen);
  const [since, setSince] = useState(() => toLocal(Date.now() - 86_400_000));
  const [until, setUntil] = useState('');
  const [recovery, setRecovery] = useState<Recovery | null>(null);
  const [error, setError] = useState<unknown>();
  const [starting, setStarting] = useState(false);
  // The filter's endpoint is the likely one to recover.
  useEffect(() => {
    if (chosen) setEndpoint(chosen);
  }, [chosen]);

  // Read the progress until it is done, then show the log again (the resent deliveries are in it).
  useEffect(() => {
    if (!recovery || recovery.status === 'DONE') return;
    const t = setTimeout(async () => {
      try {
        const r = (await request(RECOVERY, { id: recovery.id })).recovery;
        setRecovery(r);
        if (r.status === 'DONE') onDone();
      } catch (err) {
        setError(err);
      }
    }, 700);
    return () => clearTimeout(t);
  }, [recovery]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setStarting(true);
    try {
      const r = (await request(RECOVER, { endpointId: endpoint, since: fromLocal(since)!, until: fromLocal(until) })).recoverEndpoint;
      setRecovery(r);
      if (r.status === 'DONE') onDone();
    } catch (err) {
      setError(err);
    } finally {
      setStarting(false);
    }
  };
  const running = recovery?.status === 'RUNNING';
  const urlOf = (endpointId: string) => endpoints.find((x) => x.id === endpointId)?.url ?? endpointId;

  return (
    <details className="card recovery">
      <summary>Bulk recovery</summary>
      <p className="muted">
        For an endpoint that was down and works again: every delivery to it in the range that failed, or waits for a later retry, is sent
        again now, in the background.
      </p>
      <form className="search-row" aria-label="Bulk recovery" onSubmit={(e) => void start(e)}>
        <div className="field">
          <label htmlFor={`${id}-endpoint`}>Endpoint to recover</label>
          <select id={`${id}-endpoint`} value={endpoint} required onChange={(e) => setEndpoint(e.target.value)}>
            <option value="">Choose an endpoint</option>
            {endpoints.map((x) => (
              <option key={x.id} value={x.id}>
                {x.url}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-since`}>Since</label>
          <input id={`${id}-since`} type="datetime-local" required value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-until`}>Until</label>
          <input
            id={`${id}-until`}
            type="datetime-local"
            value={until}
            aria-describedby={`${id}-until-hint`}
            onChange={(e) => setUntil(e.target.value)}
          />
          <small id={`${id}-until-hint`}>Empty: now</small>
        </div>
        <div className="field">
          <button type="submit" className="primary" disabled={starting || running}>
            Start recovery
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {recovery && (
        <div className="recovery-progress">
          {recovery.total > 0 && (
            <progress id={`${id}-progress`} max={recovery.total} value={recovery.done} aria-label="Recovery progress" />
          )}
          <p role="status">
            {recovery.total === 0
              ? `Nothing to recover: no delivery to ${urlOf(recovery.endpointId)} failed or waits for a retry in that range.`
              : `${recovery.status === 'DONE' ? 'Done' : 'Running'}: ${recovery.done} of ${recovery.total} deliveries to ${urlOf(recovery.endpointId)} sent again` +
                ` (${recovery.failed} failed, ${recovery.waiting} waiting for a retry).` +
                (recovery.status === 'DONE' ? ' Their new attempts appear in the log.' : '')}
          </p>
        </div>
      )}
    </details>
  );
}

function payloadText(payload: unknown): string {
  // Stored payloads come back as their JSON text; show them indented.
  if (typeof payload === 'string') {
    try {
      return JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      return payload;
    }
  }
  return JSON.stringify(payload, null, 2);
}

function EventDetails({ tenant, eventId, urlOf }: { tenant: string | null; eventId: string; urlOf: (id: string) => string }) {
  const q = useQuery(EVENT, { tenant, id: eventId });
  const [error, setError] = useState<unknown>();
  const [resent, setResent] = useState<{ deliveryId: string; attempts: number; tries: number } | null>(null);
  const e = q.data?.event;

  // The new attempt is made in the background: read the event again until it shows (about 10 s at most).
  useEffect(() => {
    if (!resent || resent.tries >= 15) return;
    const d = e?.deliveries.find((x) => x.id === resent.deliveryId);
    if (d && d.attempts.length > resent.attempts) return;
    const t = setTimeout(() => void q.reload().then(() => setResent((r) => r && { ...r, tries: r.tries + 1 })), 700);
    return () => clearTimeout(t);
  }, [resent, e]);

  const resend = async (deliveryId: string) => {
    setError(undefined);
    try {
      const before = e?.deliveries.find((x) => x.id === deliveryId)?.attempts.length ?? 0;
      await request(RESEND, { id: deliveryId });
      setResent({ deliveryId, attempts: before, tries: 0 });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="event-details">
      <ErrorNote error={q.error ?? error} />
      {!e && q.loading && <p role="status">Loading…</p>}
      {e && (
        <>
          <p className="muted">
            Event <code>{e.id}</code>, occurred {new Date(e.occurredAt).toLocaleString()}
          </p>
          {e.deliveries.map((d) => (
            <div key={d.id} className="card delivery">
              <div className="endpoint-head">
                <h3 className="endpoint-url">{urlOf(d.endpointId)}</h3>
                <button type="button" onClick={() => void resend(d.id)}>
                  Resend
                </button>
              </div>
              {resent?.deliveryId === d.id && <p role="status">Resent: a new attempt is on its way.</p>}
              <ol className="timeline" aria-label={`Attempts to ${urlOf(d.endpointId)}`}>
                {d.attempts.map((a) => (
                  <li key={a.id} className={a.statusCode !== null && a.statusCode < 300 && a.statusCode >= 200 ? 'ok' : 'bad'}>
                    <strong>Attempt {a.attempt}</strong> at {new Date(a.startedAt).toLocaleString()}:{' '}
                    {a.statusCode !== null ? `HTTP ${a.statusCode}` : `no answer (${a.error})`} in {a.durationMs} ms
                    {a.responseBody && <pre>{a.responseBody}</pre>}
                  </li>
                ))}
                {d.attempts.length === 0 && <li>No attempt yet.</li>}
              </ol>
            </div>
          ))}
          <details>
            <summary>Payload</summary>
            <pre>{payloadText(e.payload)}</pre>
          </details>
        </>
      )}
    </div>
  );
}
