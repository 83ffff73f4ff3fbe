// @herald/webhooks: verify the webhooks Herald sends. Zero dependencies; Web Crypto only, so it runs
// on Node.js 18+, Bun, Deno, browsers and edge runtimes.
export { Webhook, WEBHOOK_TOLERANCE_IN_SECONDS, type WebhookOptions, type WebhookPayload } from './webhook.js';
export { WebhookVerificationError } from './errors.js';
export { verifyToken, DEFAULT_TOKEN_HEADER } from './token.js';
export type { HeaderGetter, HeadersInput } from './headers.js';
export type { EventType, ProductfyEvent, StandardEvent } from './envelopes.js';
// Types only: the module is empty at run time.
export * from './events.js';
