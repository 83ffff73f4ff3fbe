import { useId, useState } from 'react';
import { type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { emitPortalEvent } from '../embedEvents';
import { ErrorNote } from '../ui/ErrorNote';
import { type EndpointRow, SEND_TEST_EVENT, TEST_EVENT_RESULT } from './webhookQueries';

type Attempt = ResultOf<typeof TEST_EVENT_RESULT>['event']['deliveries'][number]['attempts'][number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Send test event: the example of one of the endpoint's event types goes to this endpoint only,
 * through the outbox like any event; the screen then reads the event until its delivery's first
 * attempt is recorded and shows what the endpoint answered: status, duration and body.
 */
export function TestEvent({ tenant, endpoint }: { tenant: string | null; endpoint: EndpointRow }) {
  const id = useId();
  const [type, setType] = useState(endpoint.eventTypes[0] ?? '');
  const [state, setState] = useState<
    | { phase: 'idle' }
    | { phase: 'sending' }
    | { phase: 'waiting'; eventId: string }
    | { phase: 'done'; eventId: string; attempt: Attempt }
    | { phase: 'slow'; eventId: string }
  >({ phase: 'idle' });
  const [error, setError] = useState<unknown>();

  const send = async () => {
    setError(undefined);
    setState({ phase: 'sending' });
    try {
      const { sendTestEvent } = await request(SEND_TEST_EVENT, { endpointId: endpoint.id, eventType: type || null });
      const eventId = sendTestEvent.eventId;
      setState({ phase: 'waiting', eventId });
      // The first attempt is usually recorded within a second; give a slow endpoint the attempt
      // timeout and a little more before saying it is still going.
      for (const until = Date.now() + 20_000; Date.now() < until;) {
        await sleep(400);
        const { event } = await request(TEST_EVENT_RESULT, { tenant, id: eventId });
        const attempt = event.deliveries.flatMap((d) => d.attempts).sort((a, b) => a.attempt - b.attempt)[0];
        if (attempt) {
          emitPortalEvent('TEST_EVENT_SENT', { endpointId: endpoint.id, eventId, statusCode: attempt.statusCode });
          return setState({ phase: 'done', eventId, attempt });
        }
      }
      setState({ phase: 'slow', eventId });
    } catch (err) {
      setError(err);
      setState({ phase: 'idle' });
    }
  };

  const busy = state.phase === 'sending' || state.phase === 'waiting';
  return (
    <div className="test-event">
      <div className="test-event-row">
        {endpoint.eventTypes.length > 1 && (
          <>
            <label htmlFor={`${id}-type`}>Test event type</label>
            <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value)}>
              {endpoint.eventTypes.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </>
        )}
        <button
          type="button"
          onClick={() => void send()}
          disabled={busy || !endpoint.enabled}
          title={endpoint.enabled ? undefined : 'Enable the endpoint to test it'}
        >
          Send test event
        </button>
      </div>
      <div role="status" aria-live="polite" className="test-result">
        {state.phase === 'sending' && <p>Sending…</p>}
        {state.phase === 'waiting' && <p>Sent; waiting for the endpoint to answer…</p>}
        {state.phase === 'slow' && (
          <p>No answer recorded yet: the endpoint is slow or unreachable. Herald keeps retrying (event {state.eventId}).</p>
        )}
        {state.phase === 'done' && <AttemptResult attempt={state.attempt} />}
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

function AttemptResult({ attempt: a }: { attempt: Attempt }) {
  const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
  return (
    <div className={`attempt ${ok ? 'ok' : 'bad'}`}>
      <p>
        {a.statusCode !== null ? (
          <>
            The endpoint answered <strong className="status-code">HTTP {a.statusCode}</strong> in {a.durationMs} ms.
          </>
        ) : (
          <>
            No HTTP answer after {a.durationMs} ms: {a.error}
          </>
        )}
        {!ok && ' Herald will retry it with backoff.'}
      </p>
      {a.responseBody && (
        <details open>
          <summary>Response body</summary>
          <pre>{a.responseBody}</pre>
        </details>
      )}
    </div>
  );
}
