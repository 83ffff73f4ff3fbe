// The status letters of deliveries and events: stored in deliveries.status and events.status, and
// answered as they are by the REST and GraphQL APIs. They are the codes of Productfy's webhook
// documentation, which Herald's API keeps. SQL text interpolates these constants too, so every use
// of a status can be found from here (the migrations' partial indexes, `WHERE status = 'I'`, are
// the one place the letters are written out).

/** A delivery: in progress (including waiting for a retry), delivered, or failed for good. */
export const DeliveryStatus = { InProgress: 'I', Succeeded: 'S', Failed: 'F' } as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

/**
 * An event, which follows its deliveries (events/eventStatus.ts): no endpoint was subscribed, any
 * delivery in progress, none in progress and at least one failed, all delivered.
 */
export const EventStatus = { NoEndpoints: 'N', InProgress: 'I', Succeeded: 'S', Failed: 'F' } as const;
export type EventStatus = (typeof EventStatus)[keyof typeof EventStatus];

/** Every delivery status and every event status, for schemas and enums. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = Object.values(DeliveryStatus);
export const EVENT_STATUSES: readonly EventStatus[] = Object.values(EventStatus);

/** What each letter means, in the API reference's words. */
export const STATUS_MEANING: Readonly<Record<EventStatus, string>> = {
  N: 'no endpoint subscribed',
  I: 'in progress',
  S: 'delivered',
  F: 'failed',
};

/** "N no endpoint subscribed, I in progress, …": the statuses listed with their meaning, for API descriptions. */
export function describeStatuses(statuses: readonly EventStatus[]): string {
  return statuses.map((s) => `${s} ${STATUS_MEANING[s]}`).join(', ');
}
