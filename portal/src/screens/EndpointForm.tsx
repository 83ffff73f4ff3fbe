import { useId, useMemo, useState, type FormEvent } from 'react';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { CREATE_ENDPOINT, type EndpointRow, type EventTypeRow, type Format, UPDATE_ENDPOINT } from './webhookQueries';

const CATALOG_TITLES: Record<string, string> = {
  productfy: 'Productfy events',
  billing: 'Billing events',
  herald: "Herald's operational events",
};
const FORMATS: { value: Format; label: string }[] = [
  { value: 'STANDARD', label: 'Standard Webhooks (signed JSON envelope)' },
  { value: 'PRODUCTFY', label: 'Productfy envelope' },
  { value: 'ORIGINAL', label: 'Original payload only' },
  { value: 'CLOUDEVENTS', label: 'CloudEvents 1.0 (structured JSON)' },
];

/** Event types by catalog, the catalogs in a fixed order and hand-made types last. */
function groups(types: EventTypeRow[]): [string, EventTypeRow[]][] {
  const by = new Map<string, EventTypeRow[]>();
  for (const t of types) {
    const g = t.catalog ?? '';
    by.set(g, [...(by.get(g) ?? []), t]);
  }
  return [...by].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
}

/**
 * Add endpoint / Edit Webhook: the Endpoint URL, one checkbox per event type labelled with the
 * type's name (grouped by catalog, each with its description and example payload), Save.
 */
export function EndpointForm({
  tenant,
  endpoint,
  eventTypes,
  onSaved,
  onCancel,
}: {
  tenant: string | null;
  endpoint?: EndpointRow;
  eventTypes: EventTypeRow[];
  onSaved: (result: { id: string; secret?: string }) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [url, setUrl] = useState(endpoint?.url ?? '');
  const [description, setDescription] = useState(endpoint?.description ?? '');
  const [format, setFormat] = useState<Format>(endpoint?.format ?? 'STANDARD');
  const [enabled, setEnabled] = useState(endpoint?.enabled ?? true);
  const [ticked, setTicked] = useState<Set<string>>(new Set(endpoint?.eventTypes ?? []));
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const grouped = useMemo(() => groups(eventTypes), [eventTypes]);
  const f = filter.trim().toLowerCase();
  const shown = (t: EventTypeRow) => !f || t.name.toLowerCase().includes(f) || t.description.toLowerCase().includes(f);

  const toggle = (name: string, on: boolean) => {
    const next = new Set(ticked);
    if (on) next.add(name);
    else next.delete(name);
    setTicked(next);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const input = { url: url.trim(), description, format, enabled, eventTypes: [...ticked].sort() };
    try {
      if (endpoint) {
        await request(UPDATE_ENDPOINT, { id: endpoint.id, input });
        onSaved({ id: endpoint.id });
      } else {
        const r = await request(CREATE_ENDPOINT, { tenant, input });
        onSaved({ id: r.createEndpoint.endpoint.id, secret: r.createEndpoint.secret });
      }
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form className="endpoint-form card" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{endpoint ? `Edit webhook ${endpoint.url}` : 'New endpoint'}</h2>
      <div className="field">
        <label htmlFor={`${id}-url`}>Endpoint URL</label>
        <input
          id={`${id}-url`}
          type="url"
          required
          placeholder="https://example.com/webhooks"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-describedby={`${id}-url-hint`}
        />
        <small id={`${id}-url-hint`}>Where Herald POSTs each event, signed. HTTPS in production.</small>
      </div>
      <div className="field">
        <label htmlFor={`${id}-desc`}>Description</label>
        <input id={`${id}-desc`} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-format`}>Format</label>
        <select id={`${id}-format`} value={format} onChange={(e) => setFormat(e.target.value as Format)}>
          {FORMATS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field checkbox">
        <input id={`${id}-enabled`} type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <label htmlFor={`${id}-enabled`}>Enabled</label>
      </div>

      <fieldset className="event-types">
        <legend>Event types</legend>
        <p className="muted" id={`${id}-types-hint`}>
          {ticked.size === 0
            ? 'None ticked: this endpoint receives every event type.'
            : `${ticked.size} ticked: this endpoint receives only these.`}
        </p>
        {eventTypes.length > 8 && (
          <div className="field">
            <label htmlFor={`${id}-filter`}>Filter event types</label>
            <input id={`${id}-filter`} type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </div>
        )}
        {eventTypes.length === 0 && (
          <p>This environment has no event types yet: create them with the REST API (POST /v1/event-types) or import a catalog.</p>
        )}
        {grouped.map(([catalog, types]) => (
          <fieldset key={catalog} className="catalog" hidden={!types.some(shown)}>
            <legend>{CATALOG_TITLES[catalog] ?? (catalog ? `${catalog} events` : 'Your own event types')}</legend>
            <ul>
              {types.map((t) => (
                <li key={t.name} hidden={!shown(t)}>
                  <input
                    id={`${id}-t-${t.name}`}
                    type="checkbox"
                    checked={ticked.has(t.name)}
                    onChange={(e) => toggle(t.name, e.target.checked)}
                    aria-describedby={t.description ? `${id}-d-${t.name}` : undefined}
                  />
                  <label htmlFor={`${id}-t-${t.name}`}>{t.name}</label>
                  {t.description && (
                    <p id={`${id}-d-${t.name}`} className="muted">
                      {t.description}
                    </p>
                  )}
                  {t.example != null && (
                    <details>
                      <summary>Example payload</summary>
                      <pre>{JSON.stringify(t.example, null, 2)}</pre>
                    </details>
                  )}
                </li>
              ))}
            </ul>
          </fieldset>
        ))}
      </fieldset>

      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
