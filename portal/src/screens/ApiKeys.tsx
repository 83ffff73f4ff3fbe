import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { TenantPicker, type TenantChoice } from '../ui/TenantPicker';
import { usePages } from '../ui/usePages';

const KEYS = graphql(`
  query ApiKeys($after: String) {
    apiKeys(first: 25, after: $after) {
      nodes {
        id
        kind
        prefix
        name
        tenant {
          id
          uid
        }
        allowedOrigins
        createdAt
        lastUsedAt
        expiresAt
        revokedAt
        active
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
const CREATE = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      key
      apiKey {
        id
        kind
      }
    }
  }
`);
const REVOKE = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
      active
    }
  }
`);
const SET_ORIGINS = graphql(`
  mutation SetApiKeyOrigins($id: ID!, $allowedOrigins: [String!]!) {
    setApiKeyOrigins(id: $id, allowedOrigins: $allowedOrigins) {
      id
      allowedOrigins
    }
  }
`);

type Key = ResultOf<typeof KEYS>['apiKeys']['nodes'][number];
type Kind = 'SECRET' | 'PUBLIC';

const EXPIRIES: { label: string; seconds: number | null }[] = [
  { label: 'Never', seconds: null },
  { label: 'In 1 day', seconds: 86_400 },
  { label: 'In 30 days', seconds: 30 * 86_400 },
  { label: 'In 90 days', seconds: 90 * 86_400 },
  { label: 'In 1 year', seconds: 365 * 86_400 },
];

const ORIGINS_HINT = 'One per line: scheme://host[:port] with nothing after it, like https://app.example.com. No wildcards.';

/** The origins typed into a text area: one per line (commas and spaces separate too). */
const originsOf = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** How a key is named in buttons and questions: its prefix, and its name when it has one. */
const keyLabel = (k: Key) => `${k.prefix}…${k.name ? ` (${k.name})` : ''}`;

const when = (iso: string | null, none: string) => (iso ? new Date(iso).toLocaleString() : none);

/** API keys (operators): the secret and public keys of this environment; create, revoke, edit a public key's origins. */
export function ApiKeys() {
  const keys = usePages(async (after) => (await request(KEYS, { after })).apiKeys, []);
  const [error, setError] = useState<unknown>();
  const [made, setMade] = useState<{ key: string; kind: Kind } | null>(null);
  const [editing, setEditing] = useState<Key | null>(null);

  /** A row changed by a mutation, in place: the pages already shown stay. */
  const patch = (changed: Partial<Key> & { id: string }) =>
    keys.setRows((prev) => prev.map((k) => (k.id === changed.id ? { ...k, ...changed } : k)));

  const revoke = async (k: Key) => {
    if (
      !window.confirm(
        `Revoke ${keyLabel(k)}? Anything using it is refused from now on (within 5 seconds on other Herald servers). This cannot be undone.`,
      )
    )
      return;
    setError(undefined);
    try {
      patch((await request(REVOKE, { id: k.id })).revokeApiKey);
      if (editing?.id === k.id) setEditing(null);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <p className="muted">
        Secret keys (sk_…) let your backend call the REST API; public keys (pk_…) let your site embed the portal from the origins they name.
        Herald keeps only a hash of each key: a list shows its first characters.
      </p>
      <ErrorNote error={error ?? keys.error} />
      {made && <NewKey made={made} onDone={() => setMade(null)} />}
      {editing && (
        <OriginsForm
          key={editing.id}
          apiKey={editing}
          onSaved={(changed) => {
            patch(changed);
            setEditing(null);
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <table className="table">
        <caption className="visually-hidden">API keys, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Kind</th>
            <th scope="col">Scope</th>
            <th scope="col">Allowed origins</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.rows.map((k) => (
            <tr key={k.id}>
              <td>
                <code>{k.prefix}…</code>
                {k.name && <div>{k.name}</div>}
              </td>
              <td>{k.kind === 'PUBLIC' ? 'Public' : 'Secret'}</td>
              <td>{k.tenant ? `Tenant ${k.tenant.uid}` : 'Every tenant'}</td>
              <td>
                {k.kind === 'PUBLIC' ? (
                  <ul className="origins">
                    {k.allowedOrigins.map((o) => (
                      <li key={o}>{o}</li>
                    ))}
                  </ul>
                ) : (
                  <span className="muted">does not apply</span>
                )}
              </td>
              <td>{when(k.createdAt, '')}</td>
              <td>{when(k.lastUsedAt, 'never')}</td>
              <td>
                <Status k={k} />
              </td>
              <td>
                <div className="row-actions">
                  {k.active && k.kind === 'PUBLIC' && (
                    <button type="button" onClick={() => setEditing(k)}>
                      Edit origins<span className="visually-hidden"> of {keyLabel(k)}</span>
                    </button>
                  )}
                  {k.active && (
                    <button type="button" onClick={() => void revoke(k)}>
                      Revoke<span className="visually-hidden"> {keyLabel(k)}</span>
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {keys.loading && <p role="status">Loading keys…</p>}
      {keys.more && !keys.loading && (
        <button type="button" onClick={() => void keys.loadMore()}>
          Show more
        </button>
      )}
      <CreateForm
        onCreated={(key, kind) => {
          setMade({ key, kind });
          setEditing(null);
          void keys.reload();
        }}
      />
    </section>
  );
}

function Status({ k }: { k: Key }) {
  if (k.revokedAt)
    return (
      <>
        <span className="badge bad">Revoked</span> {when(k.revokedAt, '')}
      </>
    );
  if (!k.active)
    return (
      <>
        <span className="badge warn">Expired</span> {when(k.expiresAt, '')}
      </>
    );
  return (
    <>
      <span className="badge ok">Active</span>
      {k.expiresAt && <> until {when(k.expiresAt, '')}</>}
    </>
  );
}

/** The key just made, shown this once, with a button to copy it. */
function NewKey({ made, onDone }: { made: { key: string; kind: Kind }; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const code = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<string>('');
  // The card appears above the form that made it: bring it into view, and the reader to it.
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(made.key);
      setCopied('Copied.');
    } catch {
      // No clipboard (an insecure origin, a refused permission): select the key to copy by hand.
      const range = document.createRange();
      if (code.current) range.selectNodeContents(code.current);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      setCopied('Could not copy: the key is selected, press Ctrl+C (⌘C on a Mac).');
    }
  };
  return (
    <div className="card notice" role="status">
      <h2 ref={heading} tabIndex={-1}>
        Your new {made.kind === 'PUBLIC' ? 'public' : 'secret'} key
      </h2>
      <p>
        <strong>Shown once.</strong> Copy it now and keep it safe: Herald keeps only a hash and cannot show it again. If you lose it, revoke
        it and create another.
        {made.kind === 'PUBLIC' && ' A public key may be published in your pages.'}
      </p>
      <div className="secret-row">
        <code className="secret" ref={code} aria-label="New key">
          {made.key}
        </code>
        <button type="button" onClick={() => void copy()}>
          Copy key
        </button>
        <span aria-live="polite">{copied}</span>
      </div>
      <button type="button" onClick={onDone}>
        Done: hide it
      </button>
    </div>
  );
}

/** Create a key: secret or public, every tenant or one, the origins of a public key, an expiry. */
function CreateForm({ onCreated }: { onCreated: (key: string, kind: Kind) => void }) {
  const id = useId();
  const [kind, setKind] = useState<Kind>('SECRET');
  const [name, setName] = useState('');
  const [tenant, setTenant] = useState<TenantChoice | null>(null);
  const [origins, setOrigins] = useState('');
  const [expiry, setExpiry] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await request(CREATE, {
        input: {
          kind,
          name: name.trim() || null,
          tenant: tenant?.id ?? null,
          allowedOrigins: kind === 'PUBLIC' ? originsOf(origins) : null,
          expiresInSeconds: EXPIRIES[expiry].seconds,
        },
      });
      setName('');
      setOrigins('');
      onCreated(r.createApiKey.key, kind);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-new`}>
      <h2 id={`${id}-new`}>Create a key</h2>
      <ErrorNote error={error} />
      <div className="field">
        <label htmlFor={`${id}-kind`}>Kind of key</label>
        <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="SECRET">Secret key (sk_…): for your backend, never in a browser</option>
          <option value="PUBLIC">Public key (pk_…): to embed the portal in your site</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          value={name}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
          aria-describedby={`${id}-name-hint`}
        />
        <small id={`${id}-name-hint`}>Optional: a label for the list, like "deploy bot".</small>
      </div>
      <TenantPicker
        label="Scope"
        value={tenant}
        onChange={setTenant}
        noneLabel="Every tenant (an operator key)"
        placeholder="Every tenant, or type a tenant's uid or name"
        hideSystem
        hint="A key scoped to one tenant reaches that tenant only."
      />
      {kind === 'PUBLIC' && (
        <div className="field">
          <label htmlFor={`${id}-origins`}>Allowed origins</label>
          <textarea
            id={`${id}-origins`}
            rows={3}
            required
            value={origins}
            onChange={(e) => setOrigins(e.target.value)}
            aria-describedby={`${id}-origins-hint`}
          />
          <small id={`${id}-origins-hint`}>{ORIGINS_HINT} Only these sites may embed the portal with this key.</small>
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-expiry`}>Expires</label>
        <select id={`${id}-expiry`} value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
          {EXPIRIES.map((x, i) => (
            <option key={x.label} value={i}>
              {x.label}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="primary" disabled={busy}>
        Create key
      </button>
    </form>
  );
}

/** A public key's allowed origins, edited as lines of text; saving replaces them all. */
function OriginsForm({
  apiKey,
  onSaved,
  onCancel,
}: {
  apiKey: Key;
  onSaved: (changed: { id: string; allowedOrigins: string[] }) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [origins, setOrigins] = useState(apiKey.allowedOrigins.join('\n'));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSaved((await request(SET_ORIGINS, { id: apiKey.id, allowedOrigins: originsOf(origins) })).setApiKeyOrigins);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Allowed origins of {keyLabel(apiKey)}</h2>
      <ErrorNote error={error} />
      <div className="field">
        <label htmlFor={`${id}-origins`}>Allowed origins</label>
        <textarea
          id={`${id}-origins`}
          rows={4}
          required
          autoFocus
          value={origins}
          onChange={(e) => setOrigins(e.target.value)}
          aria-describedby={`${id}-hint`}
        />
        <small id={`${id}-hint`}>
          {ORIGINS_HINT} Pages embedding from an origin you remove are refused at once; to stop all embedding, revoke the key.
        </small>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Save origins
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
