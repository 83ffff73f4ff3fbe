// The receiver library as its users get it: the built packages/webhooks/dist (npm run build), loaded
// at run time, with the types of its source so that typechecking does not need a build first.
import type * as Lib from '../../packages/webhooks/src/index.js';

export const WEBHOOKS_PACKAGE = new URL('../../packages/webhooks/', import.meta.url);

export const lib = (await import(new URL('dist/index.js', WEBHOOKS_PACKAGE).href)) as typeof Lib;
export const { Webhook, WebhookVerificationError, verifyToken } = lib;
export type Webhook = Lib.Webhook;
export type WebhookVerificationError = Lib.WebhookVerificationError;
