import { eventType, hmac, jsonBody, type Provider, sameSignature, str } from './provider.js';

// Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=…]. During a
// secret roll Stripe sends one v1 per secret; any may match. As in Stripe's own libraries, the
// whsec_… secret is the HMAC key as text, and a timestamp older than the tolerance is refused.
export const STRIPE_TOLERANCE_S = 300;

export const stripe: Provider = {
  choosesSecret: false,
  knownEvents: [
    'charge.succeeded',
    'charge.refunded',
    'invoice.payment_succeeded',
    'invoice.payment_failed',
    'customer.created',
    'customer.updated',
    'customer.subscription.created',
    'customer.subscription.updated',
    'customer.subscription.deleted',
  ],
  verify(req, secret) {
    const header = req.headers['stripe-signature'];
    if (!header) return 'missing Stripe-Signature header';
    let t: number | null = null;
    const v1: string[] = [];
    for (const part of header.split(',')) {
      const eq = part.indexOf('=');
      const k = part.slice(0, eq).trim();
      const v = part.slice(eq + 1).trim();
      if (k === 't') t = /^\d+$/.test(v) ? Number(v) : null;
      else if (k === 'v1') v1.push(v);
    }
    if (t === null) return 'Stripe-Signature has no valid t= timestamp';
    if (v1.length === 0) return 'Stripe-Signature has no v1= signature';
    const expected = hmac(secret, [`${t}.`, req.body], 'hex');
    if (!v1.some((s) => sameSignature(s, expected)))
      return 'no v1 signature in Stripe-Signature matches the body signed with this source’s secret';
    const age = Math.floor(req.receivedAt / 1000) - t;
    if (age > STRIPE_TOLERANCE_S)
      return `Stripe-Signature timestamp is ${age} s old, beyond the ${STRIPE_TOLERANCE_S} s tolerance (a replay?)`;
    return null;
  },
  parse(req) {
    const { value, text } = jsonBody(req);
    const body = (value ?? {}) as Record<string, unknown>;
    return { type: eventType('stripe', body.type), payload: text, dedupeKey: str(body.id) };
  },
};
