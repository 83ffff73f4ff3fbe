import type { EventPayloads } from './events.js';

/** The name of a catalog event type (`PymtCard`, `customer.created`…). */
export type EventType = keyof EventPayloads;

/**
 * The body an endpoint of format `standard` (the default) receives, as a union discriminated by
 * `type`: `switch (event.type)` narrows `event.data` to that type's payload. `K` limits it to
 * some types, e.g. `StandardEvent<CatalogEventTypes['billing']>`.
 */
export type StandardEvent<K extends EventType = EventType> = {
  [T in K]: {
    /** The event id, also in the `webhook-id` header: the same on every retry, so deduplicate on it. */
    id: string;
    type: T;
    /** When the event occurred (ISO 8601). */
    timestamp: string;
    data: EventPayloads[T];
  };
}[K];

/**
 * The body an endpoint of format `productfy` receives (Productfy's webhook envelope), as a union
 * discriminated by `triggerType`.
 */
export type ProductfyEvent<K extends EventType = EventType> = {
  [T in K]: {
    /** The event id, also in the `webhook-id` header. */
    id: string;
    /** `"I"`: the webhook is being sent. */
    status: 'I';
    /** When Herald accepted the event (ISO 8601). */
    createdTs: string;
    /** The endpoint's URL. */
    callbackUrl: string;
    triggerType: T;
    eventPayload: EventPayloads[T];
    /** When the event occurred (ISO 8601). */
    triggeringEventTs: string;
  };
}[K];
