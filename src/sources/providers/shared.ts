import { eventType, formBody, isForm, jsonBody, type InboundRequest, type ParsedMessage, str } from './provider.js';

// The generic providers (token, basic) read JSON or form bodies. The event is named by the body's
// `type`, `event` or `eventType` field, or the X-Event-Type header; duplicates are known by an
// Idempotency-Key or webhook-id header when the sender gives one.
export function parseGeneric(provider: string, req: InboundRequest): ParsedMessage {
  let body: Record<string, unknown>;
  let payload: string;
  if (isForm(req)) {
    body = formBody(req);
    payload = JSON.stringify(body);
  } else {
    const json = jsonBody(req);
    body = json.value && typeof json.value === 'object' ? (json.value as Record<string, unknown>) : {};
    payload = json.text;
  }
  const name =
    str(body.type) ?? str(body.event) ?? str(body.eventType) ?? str(body.triggerType) ?? req.headers['x-event-type'] ?? 'message';
  return { type: eventType(provider, name), payload, dedupeKey: req.headers['idempotency-key'] ?? req.headers['webhook-id'] ?? null };
}
