import { WebhookVerificationError } from './errors.js';
import { headerOf, type HeadersInput } from './headers.js';
import { timingSafeEqual } from './crypto.js';

/** Herald's default tenant token header (its setting HERALD_TOKEN_HEADER); Productfy's is `x-pfy-webhook-token`. */
export const DEFAULT_TOKEN_HEADER = 'x-herald-webhook-token';

/**
 * Checks the tenant token header, the way Productfy receivers check `x-pfy-webhook-token`: throws a
 * WebhookVerificationError unless header `headerName` holds `token`. The comparison takes the same
 * time wherever the values differ. A token proves less than a signature (it is the same on every
 * request, so it can be replayed): use it beside `Webhook#verify`, or alone only where the sender
 * is known to sign nothing.
 */
export function verifyToken(headers: HeadersInput, token: string, headerName: string = DEFAULT_TOKEN_HEADER): void {
  if (!token) throw new Error('verifyToken needs the tenant token to expect (it is empty)');
  const given = headerOf(headers, headerName.toLowerCase());
  if (!given) throw new WebhookVerificationError(`Missing tenant token header ${headerName.toLowerCase()}`);
  if (!timingSafeEqual(given, token)) throw new WebhookVerificationError('Tenant token does not match');
}
