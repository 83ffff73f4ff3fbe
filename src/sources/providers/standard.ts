import { secretBytes } from '../../delivery/signature.js';
import { hmac, jsonBody, type Provider, sameSignature, eventType } from './provider.js';

// Standard Webhooks (the format Herald itself sends): webhook-id, webhook-timestamp and
// webhook-signature ("v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>", space-separated
// while the sender rotates its secret). The key is the base64 after "whsec_". A timestamp more
// than five minutes away from now, either way, is refused.
export const STANDARD_TOLERANCE_S = 300;

export const standard: Provider = {
  choosesSecret: true,
  knownEvents: [],
  verify(req, secret) {
    const id = req.headers['webhook-id'];
    const ts = req.headers['webhook-timestamp'];
    const sig = req.headers['webhook-signature'];
    if (!id || !ts || !sig) return 'missing webhook-id, webhook-timestamp or webhook-signature header';
    if (!/^\d+$/.test(ts)) return 'webhook-timestamp must be unix seconds';
    const skew = Math.floor(req.receivedAt / 1000) - Number(ts);
    if (Math.abs(skew) > STANDARD_TOLERANCE_S)
      return `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}, beyond the ${STANDARD_TOLERANCE_S} s tolerance`;
    const expected = hmac(secretBytes(secret), [`${id}.${ts}.`, req.body], 'base64');
    const ok = sig.split(' ').some((s) => {
      const [version, value] = s.split(',', 2);
      return version === 'v1' && value !== undefined && sameSignature(value, expected);
    });
    return ok ? null : 'no v1 signature in webhook-signature matches the body signed with this source’s secret';
  },
  parse(req) {
    const { value, text } = jsonBody(req);
    const body = (value ?? {}) as Record<string, unknown>;
    return { type: eventType('standard', body.type), payload: text, dedupeKey: req.headers['webhook-id'] ?? null };
  },
};
