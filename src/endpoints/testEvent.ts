import type { Queryable } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { findEventType } from '../event-types/eventTypes.js';
import type { EventWriter } from '../events/eventWriter.js';
import type { Endpoint } from './endpoints.js';

/** The built-in type of a test event sent to an endpoint that subscribes to every type. */
export const TEST_EVENT_TYPE = 'herald.test';

/**
 * Sends a test event to one endpoint only: the example payload of `eventType` (default: the first
 * type the endpoint subscribes to; TEST_EVENT_TYPE when it subscribes to all). It goes through the
 * outbox like any event, so it is signed, retried and logged like the real ones. REST and GraphQL
 * both send test events through here.
 */
export async function sendTestEvent(
  q: Queryable,
  writer: EventWriter,
  environmentId: string,
  endpoint: Endpoint,
  eventType?: string | null,
): Promise<{ eventId: string }> {
  if (!endpoint.enabled) throw new HeraldError('bad_request', 'this endpoint is disabled; enable it before testing it');
  const wanted = eventType ?? endpoint.eventTypes[0];
  let type = TEST_EVENT_TYPE;
  let payload = JSON.stringify({ message: 'This is a test event from Herald.', endpointId: endpoint.id });
  if (wanted) {
    const t = await findEventType(q, environmentId, wanted);
    if (!t)
      throw new HeraldError(
        'bad_request',
        `unknown event type "${wanted}"; create it first (POST /v1/event-types) or pick one of eventTypes`,
      );
    type = t.name;
    payload = JSON.stringify(t.example ?? {});
  }
  const [event] = await writer.write(endpoint.tenantId, [{ type, payload }], { onlyEndpointId: endpoint.id });
  return { eventId: event.id };
}
