import { useEffect, useState } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';

const AUDIT = graphql(`
  query Audit($after: String) {
    auditLog(first: 50, after: $after) {
      nodes {
        id
        actor
        action
        target
        address
        at
        details
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
type Entry = ResultOf<typeof AUDIT>['auditLog']['nodes'][number];

/** Audit log (operators): logins, sessions, people and secrets, newest first. Never a secret itself. */
export function AuditLog() {
  const [rows, setRows] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const r = await request(AUDIT, { after });
      setRows((prev) => (after ? [...prev, ...r.auditLog.nodes] : r.auditLog.nodes));
      setNext(r.auditLog.pageInfo.hasNextPage ? r.auditLog.pageInfo.endCursor : null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, []);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <ErrorNote error={error} />
      <table className="table">
        <caption className="visually-hidden">Audit log, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">By</th>
            <th scope="col">Target</th>
            <th scope="col">From</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>{new Date(e.at).toLocaleString()}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>{e.actor ?? '—'}</td>
              <td>{e.target ?? ''}</td>
              <td>{e.address ?? ''}</td>
              <td>
                <code>{JSON.stringify(e.details)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {loading && <p role="status">Loading…</p>}
      {next && !loading && (
        <button type="button" onClick={() => void load(next)}>
          Show more
        </button>
      )}
    </section>
  );
}
