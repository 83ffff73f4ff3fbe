import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { usePages } from '../ui/usePages';

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
  const { rows, more, loading, error, loadMore } = usePages<Entry>(async (after) => (await request(AUDIT, { after })).auditLog, []);
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
      {more && !loading && (
        <button type="button" onClick={() => void loadMore()}>
          Show more
        </button>
      )}
    </section>
  );
}
