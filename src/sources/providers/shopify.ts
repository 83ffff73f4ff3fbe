import { eventType, hmac, jsonBody, type Provider, sameSignature } from './provider.js';

// Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(app secret, raw body). X-Shopify-Webhook-Id
// identifies the webhook (kept on retries); X-Shopify-Topic names it ("orders/create").
export const shopify: Provider = {
  choosesSecret: false,
  knownEvents: [
    'orders.create',
    'orders.paid',
    'orders.updated',
    'orders.cancelled',
    'customers.create',
    'customers.update',
    'app.uninstalled',
  ],
  verify(req, secret) {
    const given = req.headers['x-shopify-hmac-sha256'];
    if (!given) return 'missing X-Shopify-Hmac-Sha256 header';
    return sameSignature(given.trim(), hmac(secret, [req.body], 'base64'))
      ? null
      : 'X-Shopify-Hmac-Sha256 does not match the body signed with this source’s secret';
  },
  parse(req) {
    const { text } = jsonBody(req);
    const topic = req.headers['x-shopify-topic'];
    return {
      type: eventType('shopify', topic?.replace(/\//g, '.')),
      payload: text,
      dedupeKey: req.headers['x-shopify-webhook-id'] ?? null,
    };
  },
};
