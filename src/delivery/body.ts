import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';

// The body an endpoint receives, by its format. The payload is spliced in as the stored text, so
// the bytes a sender posted are the bytes a receiver gets (and the bytes that are signed).
const iso = (ms: number) => JSON.stringify(new Date(ms).toISOString());

export function buildBody(
  d: Pick<ClaimedDelivery, 'eventId' | 'type' | 'payload' | 'occurredAt' | 'createdAt' | 'format' | 'url' | 'tenantId'>,
): string {
  if (d.format === 'cloudevents') {
    // CloudEvents 1.0, structured mode in JSON: the attributes and the payload as `data`. `source`
    // is a URI-reference naming the tenant the event belongs to; `id` with `source` is unique.
    return (
      `{"specversion":"1.0","id":${JSON.stringify(d.eventId)},"source":${JSON.stringify(`/tenants/${d.tenantId}`)},` +
      `"type":${JSON.stringify(d.type)},"time":${iso(d.occurredAt)},"datacontenttype":"application/json","data":${d.payload}}`
    );
  }
  if (d.format === 'productfy') {
    // Productfy's webhook envelope: status is "I" because the webhook is being sent.
    return (
      `{"id":${JSON.stringify(d.eventId)},"status":"I","createdTs":${iso(d.createdAt)},"callbackUrl":${JSON.stringify(d.url)},` +
      `"triggerType":${JSON.stringify(d.type)},"eventPayload":${d.payload},"triggeringEventTs":${iso(d.occurredAt)}}`
    );
  }
  return `{"id":${JSON.stringify(d.eventId)},"type":${JSON.stringify(d.type)},"timestamp":${iso(d.occurredAt)},"data":${d.payload}}`;
}

/** The content type of a body of this format: CloudEvents' structured mode names itself. */
export function contentTypeOf(format: ClaimedDelivery['format']): string {
  return format === 'cloudevents' ? 'application/cloudevents+json; charset=utf-8' : 'application/json';
}
