import { graphql, type ResultOf } from '../api/graphql';
import { ErrorNote } from '../ui/ErrorNote';
import { Link } from '../ui/Link';
import { useQuery } from '../ui/useQuery';

const CUSTOMER = graphql(`
  query Customer($id: ID!) {
    customer(customerId: $id) {
      id
      key
      kind
      name
      email
      createdAt
      updatedAt
      customData
      address {
        placeId
        streetNumber
        streetName
        streetSuffix
        unitNumber
        unitType
        city
        postalCode
        countryCode
        usTerritory
      }
      subscriptions(first: 50) {
        nodes {
          id
          provider
          providerId
          productName
          plan {
            name
          }
          state
          amount
          currency
          createdAt
        }
        pageInfo {
          hasNextPage
        }
      }
      transactions(first: 50) {
        nodes {
          id
          provider
          providerId
          amount
          currency
          memo
          occurredAt
        }
        pageInfo {
          hasNextPage
        }
      }
      refunds(first: 50) {
        nodes {
          id
          provider
          providerId
          amount
          currency
          memo
          occurredAt
        }
        pageInfo {
          hasNextPage
        }
      }
    }
  }
`);

type Customer = ResultOf<typeof CUSTOMER>['customer'];

const money = (cents: number | null, currency: string | null) =>
  cents === null ? '' : new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(cents / 100);

/** One customer: profile, address, custom data and billing records. */
export function CustomerPage({ customerId }: { tenant: string | null; customerId: string }) {
  const q = useQuery(CUSTOMER, { id: customerId });
  const c = q.data?.customer;
  return (
    <section aria-labelledby="customer-title">
      <p>
        <Link to="/users">← All users</Link>
      </p>
      <ErrorNote error={q.error} />
      {q.loading && !c && <p role="status">Loading…</p>}
      {c && (
        <>
          <h1 id="customer-title">{c.name || c.key}</h1>
          <dl className="facts">
            <dt>Kind</dt>
            <dd>{c.kind === 'PERSON' ? 'Person' : 'Organization'}</dd>
            <dt>Customer key</dt>
            <dd>
              <code>{c.key}</code>
            </dd>
            <dt>Email</dt>
            <dd>{c.email ?? '—'}</dd>
            <dt>Created</dt>
            <dd>{new Date(c.createdAt).toLocaleString()}</dd>
          </dl>
          <h2>Address</h2>
          <Address c={c} />
          <h2>Custom data</h2>
          <CustomData data={c.customData} />
          <h2>Billing records</h2>
          <Billing c={c} />
        </>
      )}
    </section>
  );
}

function Address({ c }: { c: Customer }) {
  const a = c.address;
  if (!a) return <p>No address saved.</p>;
  if (a.placeId && !a.streetName)
    return (
      <p>
        Place id <code>{a.placeId}</code>
      </p>
    );
  const street = [a.streetNumber, a.streetName, a.streetSuffix].filter(Boolean).join(' ');
  const unit = [a.unitType, a.unitNumber].filter(Boolean).join(' ');
  return (
    <address className="address">
      {street}
      {unit && <>, {unit}</>}
      <br />
      {[a.city, a.usTerritory, a.postalCode].filter(Boolean).join(' ')}
      <br />
      {a.countryCode}
    </address>
  );
}

function CustomData({ data }: { data: unknown }) {
  const fields = data && typeof data === 'object' && !Array.isArray(data) ? Object.entries(data as Record<string, unknown>) : [];
  if (!fields.length) return <p>No custom data.</p>;
  return (
    <table className="table custom-data">
      <caption className="visually-hidden">Custom data</caption>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {fields.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === 'string' ? v : <code>{JSON.stringify(v)}</code>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Billing({ c }: { c: Customer }) {
  const subs = c.subscriptions.nodes;
  const tx = c.transactions.nodes;
  const refunds = c.refunds.nodes;
  if (!subs.length && !tx.length && !refunds.length)
    return <p>No billing records: they appear when a billing source (Chargify, Stripe) reports this customer.</p>;
  return (
    <>
      {subs.length > 0 && (
        <table className="table">
          <caption>Subscriptions</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Plan</th>
              <th scope="col">State</th>
              <th scope="col">Amount</th>
              <th scope="col">Provider</th>
            </tr>
          </thead>
          <tbody>
            {subs.map((s) => (
              <tr key={s.id}>
                <td>{s.productName ?? '—'}</td>
                <td>{s.plan?.name ?? '—'}</td>
                <td>{s.state}</td>
                <td>{money(s.amount, s.currency)}</td>
                <td>
                  {s.provider} <code>{s.providerId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {[
        ['Transactions', tx, c.transactions.pageInfo.hasNextPage],
        ['Refunds', refunds, c.refunds.pageInfo.hasNextPage],
      ].map(([title, rows, more]) =>
        (rows as typeof tx).length ? (
          <table className="table" key={title as string}>
            <caption>{title as string}</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Amount</th>
                <th scope="col">Memo</th>
                <th scope="col">Provider</th>
              </tr>
            </thead>
            <tbody>
              {(rows as typeof tx).map((m) => (
                <tr key={m.id}>
                  <td>{new Date(m.occurredAt).toLocaleDateString()}</td>
                  <td>{money(m.amount, m.currency)}</td>
                  <td>{m.memo ?? ''}</td>
                  <td>
                    {m.provider} <code>{m.providerId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
            {more ? (
              <tfoot>
                <tr>
                  <td colSpan={4}>The newest 50 are shown; the GraphQL Builder pages through all of them.</td>
                </tr>
              </tfoot>
            ) : null}
          </table>
        ) : null,
      )}
    </>
  );
}
