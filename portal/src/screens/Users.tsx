import { useId, useState } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { usePages } from '../ui/usePages';
import { Link } from '../ui/Link';

const CUSTOMERS = graphql(`
  query Customers($tenant: ID, $search: String, $kind: CustomerKind, $after: String) {
    customers(tenant: $tenant, search: $search, kind: $kind, first: 25, after: $after) {
      nodes {
        id
        key
        kind
        name
        email
        address {
          city
          countryCode
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

type Customer = ResultOf<typeof CUSTOMERS>['customers']['nodes'][number];
type Kind = Customer['kind'];

/** Users: the tenant's customers, persons and organizations, searched by key, name or email. */
export function Users({ tenant }: { tenant: string | null }) {
  const id = useId();
  const [search, setSearch] = useState('');
  const [kind, setKind] = useState<Kind | ''>('');
  // Searches as the person types, a moment after the last key.
  const { rows, more, loading, error, loadMore, reload } = usePages<Customer>(
    async (after) => (await request(CUSTOMERS, { tenant, search: search.trim() || null, kind: kind || null, after })).customers,
    [search, kind, tenant],
    { delayMs: search ? 250 : 0 },
  );

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <p className="muted">Your customers: persons and organizations, with their address, custom data and billing records.</p>
      <form
        className="search-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void reload();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-search`}>Search</label>
          <input
            id={`${id}-search`}
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Name, email or customer key"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as Kind | '')}>
            <option value="">Persons and organizations</option>
            <option value="PERSON">Persons</option>
            <option value="ORGANIZATION">Organizations</option>
          </select>
        </div>
      </form>
      <ErrorNote error={error} />
      <table className="table" aria-busy={loading}>
        <caption className="visually-hidden">Customers{search ? ` matching “${search}”` : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Email</th>
            <th scope="col">Key</th>
            <th scope="col">City</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={c.id}>
              <td>
                <Link to={`/users/${encodeURIComponent(c.id)}`}>{c.name || c.key}</Link>
              </td>
              <td>{c.kind === 'PERSON' ? 'Person' : 'Organization'}</td>
              <td>{c.email}</td>
              <td>
                <code>{c.key}</code>
              </td>
              <td>{[c.address?.city, c.address?.countryCode].filter(Boolean).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error && <p>{search ? 'No customer matches this search.' : 'No customers yet.'}</p>}
      {loading && <p role="status">Loading…</p>}
      {more && !loading && (
        <button type="button" onClick={() => void loadMore()}>
          Show more
        </button>
      )}
    </section>
  );
}
