import { Fragment, useEffect, useId, useState } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { useQuery } from '../ui/useQuery';
import { ENDPOINTS, EVENT_TYPES } from './webhookQueries';

const EVENTS = graphql(`
  query Events($tenant: ID, $type: String, $status: EventStatus, $since: String, $until: String, $after: String) {
    events(tenant: $tenant, type: $type, status: $status, since: $since, until: $until, first: 25, after: $after) {
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

type EventRow = ResultOf<typeof EVENTS>['events']['nodes'][number];
type Status = EventRow['status'];

const STATUS_NAMES: Record<Status, string> = { S: 'Delivered', F: 'Failed', I: 'In progress', N: 'No endpoint' };
const PRESETS = { all: 'Any time', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', custom: 'Custom range' } as const;
type Preset = keyof typeof PRESETS;
const PRESET_MS: Partial<Record<Preset, number>> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** datetime-local inputs speak local time without a zone; the API speaks ISO 8601. */
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : null);

/** Logs: the delivery log (events and their deliveries), filtered; each event's attempts; resend. */
export function Logs({ tenant }: { tenant: string | null }) {
  const id = useId();
  const types = useQuery(EVENT_TYPES, {});
  const endpoints = useQuery(ENDPOINTS, { tenant });
  const [type, setType] = useState('');
  const [status, setStatus] = useState<Status | ''>('');
  const [preset, setPreset] = useState<Preset>('24h');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [rows, setRows] = useState<EventRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState<string | null>(null);
  const urlOf = (endpointId: string) => endpoints.data?.endpoints.find((e) => e.id === endpointId)?.url ?? endpointId;

  const range = () => {
    if (preset === 'custom') return { since: fromLocal(from), until: fromLocal(to) };
    const ms = PRESET_MS[preset];
    return { since: ms ? new Date(Date.now() - ms).toISOString() : null, until: null };
  };

  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const r = await request(EVENTS, { tenant, type: type || null, status: status || null, ...range(), after });
      setRows((prev) => (after ? [...prev, ...r.events.nodes] : r.events.nodes));
      setNext(r.events.pageInfo.hasNextPage ? r.events.pageInfo.endCursor : null);
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, [type, status, preset, from, to, tenant]);

  return (
    <section aria-labelledby="logs-title">
      <div className="page-head">
        <h1 id="logs-title">Logs</h1>
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      <form className="search-row" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
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
            {Object.entries(STATUS_NAMES).map(([k, v]) => (
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
      {next && !loading && (
        <button type="button" onClick={() => void load(next)}>
          Show more
        </button>
      )}
    </section>
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
