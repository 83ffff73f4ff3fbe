import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';

// The body an endpoint receives, by its format. The payload is spliced in as the stored text, so
// the bytes a sender posted are the bytes a receiver gets (and the bytes that are signed).
const iso = (ms: number) => JSON.stringify(new Date(ms).toISOString());

export function buildBody(
  d: Pick<ClaimedDelivery, 'eventId' | 'type' | 'payload' | 'occurredAt' | 'createdAt' | 'format' | 'url'>,
): string {
  if (d.format === 'productfy') {
    // Productfy's webhook envelope: status is "I" because the webhook is being sent.
    return (
      `{"id":${JSON.stringify(d.eventId)},"status":"I","createdTs":${iso(d.createdAt)},"callbackUrl":${JSON.stringify(d.url)},` +
      `"triggerType":${JSON.stringify(d.type)},"eventPayload":${d.payload},"triggeringEventTs":${iso(d.occurredAt)}}`
    );
  }
  return `{"id":${JSON.stringify(d.eventId)},"type":${JSON.stringify(d.type)},"timestamp":${iso(d.occurredAt)},"data":${d.payload}}`;
}
