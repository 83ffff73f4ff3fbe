import { eventType, formBody, hmac, isForm, jsonBody, type Provider, sameSignature, str } from './provider.js';

// Chargify (Maxio) posts a form body (`id`, `event`, `payload[…]`) and signs it with the site's
// shared key: X-Chargify-Webhook-Signature-Hmac-Sha-256 = lowercase hex HMAC-SHA256(key, raw body).
// The webhook `id` is unique per webhook and stays the same on Chargify's retries.
export const chargify: Provider = {
  choosesSecret: false,
  knownEvents: [
    'payment_success',
    'payment_failure',
    'signup_success',
    'signup_failure',
    'renewal_success',
    'renewal_failure',
    'subscription_state_change',
    'subscription_product_change',
    'component_allocation_change',
    'refund_success',
    'customer_update',
    'billing_date_change',
  ],
  verify(req, secret) {
    const given = req.headers['x-chargify-webhook-signature-hmac-sha-256'];
    if (!given) return 'missing X-Chargify-Webhook-Signature-Hmac-Sha-256 header';
    return sameSignature(given.trim().toLowerCase(), hmac(secret, [req.body], 'hex'))
      ? null
      : 'X-Chargify-Webhook-Signature-Hmac-Sha-256 does not match the body signed with this source’s shared key';
  },
  parse(req) {
    // Chargify's webhooks are forms; a JSON body (as some proxies re-post them) is read too.
    const body = (isForm(req) ? formBody(req) : (jsonBody(req).value as Record<string, unknown>)) ?? {};
    return { type: eventType('chargify', body.event), payload: JSON.stringify(body), dedupeKey: str(body.id) };
  },
};
