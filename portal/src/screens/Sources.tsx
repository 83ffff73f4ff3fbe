import { useId, useState } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { usePages } from '../ui/usePages';
import { useQuery } from '../ui/useQuery';

const SOURCES = graphql(`
  query Sources($tenant: ID) {
    sources(tenant: $tenant) {
      id
      provider
      name
      url
      enabled
      createdAt
    }
  }
`);
const INBOUND = graphql(`
  query Inbound($tenant: ID, $source: ID, $status: String, $after: String) {
    inboundMessages(tenant: $tenant, source: $source, status: $status, first: 25, after: $after) {
      nodes {
        id
        sourceId
        status
        reason
        waitingFor
        duplicates
        eventType
        eventId
        receivedAt
        processedAt
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
type Message = ResultOf<typeof INBOUND>['inboundMessages']['nodes'][number];
const STATUSES = ['RECEIVED', 'PROCESSED', 'UNMATCHED', 'REJECTED', 'FAILED'];

/** Sources: where providers post (Chargify, Stripe, GitHub, …), and what they posted. */
export function Sources({ tenant }: { tenant: string | null }) {
  const id = useId();
  const sources = useQuery(SOURCES, { tenant });
  const [source, setSource] = useState('');
  const [status, setStatus] = useState('');
  const nameOf = (sid: string) => sources.data?.sources.find((s) => s.id === sid)?.name ?? sid;

  const { rows, more, loading, error, loadMore } = usePages<Message>(
    async (after) => (await request(INBOUND, { tenant, source: source || null, status: status || null, after })).inboundMessages,
    [source, status, tenant],
  );

  return (
    <section aria-labelledby="sources-title">
      <h1 id="sources-title">Sources</h1>
      <p className="muted">
        Where providers post their webhooks to Herald, verified and stored before anything else (see docs/sources.md).
      </p>
      <ErrorNote error={sources.error} />
      <table className="table">
        <caption>Sources</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Provider</th>
            <th scope="col">URL providers post to</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {(sources.data?.sources ?? []).map((s) => (
            <tr key={s.id}>
              <td>{s.name}</td>
              <td>{s.provider}</td>
              <td>
                <code>{s.url}</code>
              </td>
              <td>{s.enabled ? 'Enabled' : 'Disabled'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sources.data && sources.data.sources.length === 0 && (
        <p>No sources yet: create one with the REST API (POST /v1/tenants/:tenant/sources).</p>
      )}

      <h2>Received messages</h2>
      <form className="search-row" aria-label="Message filters" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-source`}>Source</label>
          <select id={`${id}-source`} value={source} onChange={(e) => setSource(e.target.value)}>
            <option value="">All sources</option>
            {(sources.data?.sources ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-status`}>Message status</label>
          <select id={`${id}-status`} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorNote error={error} />
      <table className="table">
        <caption className="visually-hidden">Received messages, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Source</th>
            <th scope="col">Status</th>
            <th scope="col">Event</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((m) => (
            <tr key={m.id}>
              <td>{new Date(m.receivedAt).toLocaleString()}</td>
              <td>{nameOf(m.sourceId)}</td>
              <td>
                {m.status.toLowerCase()}
                {m.duplicates > 0 && ` (+${m.duplicates} duplicates)`}
              </td>
              <td>{m.eventType ? <code>{m.eventType}</code> : '—'}</td>
              <td>{m.reason ?? (m.waitingFor ? `waiting for ${m.waitingFor}` : '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error && <p>No messages match.</p>}
      {loading && <p role="status">Loading…</p>}
      {more && !loading && (
        <button type="button" onClick={() => void loadMore()}>
          Show more
        </button>
      )}
    </section>
  );
}
