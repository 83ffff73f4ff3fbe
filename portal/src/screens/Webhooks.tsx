import { useState } from 'react';
import { request } from '../api/session';
import { emitPortalEvent } from '../embedEvents';
import { ErrorNote } from '../ui/ErrorNote';
import { useQuery } from '../ui/useQuery';
import { EndpointForm } from './EndpointForm';
import { TestEvent } from './TestEvent';
import { ENDPOINT_SECRET, ENDPOINTS, type EndpointRow, EVENT_TYPES, ROTATE_SECRET } from './webhookQueries';

/** Webhooks: the tenant's endpoints with their health; add, edit, test. */
export function Webhooks({ tenant }: { tenant: string | null }) {
  const endpoints = useQuery(ENDPOINTS, { tenant });
  const types = useQuery(EVENT_TYPES, {});
  const [editing, setEditing] = useState<string | null>(null);
  const [created, setCreated] = useState<{ id: string; secret: string } | null>(null);
  const eventTypes = types.data?.eventTypes ?? [];
  const list = endpoints.data?.endpoints ?? [];

  const saved = async (r: { id: string; secret?: string }) => {
    emitPortalEvent(r.secret ? 'ENDPOINT_CREATED' : 'ENDPOINT_UPDATED', { endpointId: r.id });
    setEditing(null);
    if (r.secret) setCreated({ id: r.id, secret: r.secret });
    await endpoints.reload();
  };

  return (
    <section aria-labelledby="webhooks-title">
      <div className="page-head">
        <h1 id="webhooks-title">Webhooks</h1>
        <button
          type="button"
          className="primary"
          onClick={() => {
            setEditing('new');
            setCreated(null);
          }}
          disabled={editing === 'new'}
        >
          Add endpoint
        </button>
      </div>
      <p className="muted">Each endpoint receives the event types it subscribes to, signed, retried with backoff, every attempt logged.</p>
      <ErrorNote error={endpoints.error ?? types.error} />
      {created && (
        <div className="notice" role="status">
          <p>Endpoint saved. Its signing secret (verify each webhook with it; you can reveal it again later):</p>
          <code className="secret">{created.secret}</code>
        </div>
      )}
      {editing === 'new' && <EndpointForm tenant={tenant} eventTypes={eventTypes} onSaved={saved} onCancel={() => setEditing(null)} />}
      {endpoints.loading && !endpoints.data && <p role="status">Loading endpoints…</p>}
      {endpoints.data && list.length === 0 && editing !== 'new' && <p>No endpoints yet. Add one to start receiving webhooks.</p>}
      <ul className="endpoints">
        {list.map((e) =>
          editing === e.id ? (
            <li key={e.id}>
              <EndpointForm tenant={tenant} endpoint={e} eventTypes={eventTypes} onSaved={saved} onCancel={() => setEditing(null)} />
            </li>
          ) : (
            <EndpointCard
              key={e.id}
              tenant={tenant}
              endpoint={e}
              onEdit={() => {
                setEditing(e.id);
                setCreated(null);
              }}
            />
          ),
        )}
      </ul>
    </section>
  );
}

function Health({ e }: { e: EndpointRow }) {
  if (!e.enabled)
    return (
      <p className="health bad">
        <span className="badge bad">Disabled</span> {e.disabledReason}
        {e.disabledAt && <> (since {new Date(e.disabledAt).toLocaleString()})</>}
      </p>
    );
  const h = e.health;
  if (h.circuit === 'OPEN')
    return (
      <p className="health bad">
        <span className="badge bad">Circuit open</span> {h.consecutiveFailures} failures in a row
        {h.failingSince && <>, failing since {new Date(h.failingSince).toLocaleString()}</>}. Deliveries wait until{' '}
        {h.circuitOpenUntil ? new Date(h.circuitOpenUntil).toLocaleTimeString() : 'the next probe'}.
      </p>
    );
  if (h.circuit === 'HALF_OPEN')
    return (
      <p className="health warn">
        <span className="badge warn">Circuit half-open</span> {h.consecutiveFailures} failures in a row: the next delivery is a probe.
      </p>
    );
  if (h.consecutiveFailures > 0)
    return (
      <p className="health warn">
        <span className="badge warn">Failing</span> {h.consecutiveFailures} failures in a row
        {h.failingSince && <> since {new Date(h.failingSince).toLocaleString()}</>}.
      </p>
    );
  return (
    <p className="health ok">
      <span className="badge ok">Healthy</span> Circuit closed.
    </p>
  );
}

function EndpointCard({ tenant, endpoint: e, onEdit }: { tenant: string | null; endpoint: EndpointRow; onEdit: () => void }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [secretError, setSecretError] = useState<unknown>();
  const reveal = async () => {
    setSecretError(undefined);
    try {
      setSecret((await request(ENDPOINT_SECRET, { endpointId: e.id })).endpointSecret);
    } catch (err) {
      setSecretError(err);
    }
  };
  const rotate = async () => {
    if (!window.confirm('Rotate the signing secret? The old one keeps signing beside the new one for 24 hours.')) return;
    setSecretError(undefined);
    try {
      setSecret((await request(ROTATE_SECRET, { endpointId: e.id })).rotateEndpointSecret);
    } catch (err) {
      setSecretError(err);
    }
  };
  const headingId = `ep-${e.id}`;
  return (
    <li className="card endpoint" aria-labelledby={headingId}>
      <div className="endpoint-head">
        <h2 id={headingId} className="endpoint-url">
          {e.url}
        </h2>
        <button type="button" onClick={onEdit}>
          Edit Webhook
        </button>
      </div>
      {e.description && <p>{e.description}</p>}
      <Health e={e} />
      <p className="muted">
        {e.eventTypes.length ? `Event types: ${e.eventTypes.join(', ')}` : 'Every event type'} · {e.format.toLowerCase()} format
      </p>
      <TestEvent tenant={tenant} endpoint={e} />
      <div className="secret-row">
        <button type="button" onClick={() => void reveal()}>
          Reveal signing secret
        </button>
        <button type="button" onClick={() => void rotate()}>
          Rotate signing secret
        </button>
        {secret && (
          <code className="secret" aria-label="Signing secret">
            {secret}
          </code>
        )}
      </div>
      <ErrorNote error={secretError} />
    </li>
  );
}
