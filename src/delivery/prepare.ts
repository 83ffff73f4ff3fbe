import type { AddressPolicy } from '../endpoints/urlPolicy.js';
import { VERSION } from '../version.js';
import { buildBody, contentTypeOf } from './body.js';
import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';
import { signatureHeader } from './signature.js';

/** The request one delivery sends: signed, with the agent it goes through. */
export interface DeliveryRequest {
  send: true;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Through the SSRF guard (every connection checked), or the plain agent (see urlPolicy.ts). */
  guarded: boolean;
}

/** No request: the delivery fails for good, with this reason. */
export interface NoRequest {
  send: false;
  /** Whether it counts as an attempt (logged, counted) or not (the endpoint is gone). */
  attempted: boolean;
  error: string;
}

export type Prepared = DeliveryRequest | NoRequest;

/**
 * What one claimed delivery sends at `startedAt`: its URL, headers, body and signature, and
 * whether it goes through the address guard; or why it sends nothing. Pure: no I/O, the same
 * answer for the same input (the signature's timestamp is `startedAt`).
 */
export function prepare(
  d: ClaimedDelivery,
  startedAt: number,
  tokenHeader: string,
  addresses: Pick<AddressPolicy, 'guards' | 'isBlocked'>,
): Prepared {
  if (!d.endpointActive) {
    // Disabled or deleted after the event was accepted: no request; it can be resent later.
    const why =
      d.endpointGone === 'deleted'
        ? 'endpoint deleted'
        : d.endpointGone
          ? `endpoint disabled: ${d.endpointGone}`
          : 'endpoint disabled or deleted';
    return { send: false, attempted: false, error: why };
  }
  const guarded = addresses.guards(d);
  const host = new URL(d.url).hostname;
  if (guarded && addresses.isBlocked(host)) {
    // A literal address never goes through DNS: check it here (an allowlist may have changed).
    return { send: false, attempted: true, error: `refused: ${host} is a private or reserved address` };
  }
  const body = d.original?.body ?? buildBody(d);
  const timestamp = Math.floor(startedAt / 1000);
  const headers: Record<string, string> = {
    ...(d.original && originalHeaders(d.original.headers)),
    ...d.headers,
    'content-type': d.original?.headers['content-type'] ?? contentTypeOf(d.format),
    'user-agent': `Herald/${VERSION}`,
    'webhook-id': d.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(d.secrets, d.eventId, timestamp, body),
    [tokenHeader]: d.tenantToken,
  };
  return { send: true, url: d.url, headers, body, guarded };
}

// Headers of a received request that describe the hop, not the message: not forwarded. What is
// left (the provider's signature, event name, delivery id) lets a receiver verify the original.
const HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
  'authorization',
]);

function originalHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== '[redacted]') out[k] = v;
  return out;
}
