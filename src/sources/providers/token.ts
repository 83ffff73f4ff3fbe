import { type Provider, safeEqual } from './provider.js';
import { parseGeneric } from './shared.js';

// A static token in a header (Productfy's x-pfy-webhook-token is this kind): the header named by
// the source's `header` option, default x-webhook-token.
export const DEFAULT_TOKEN_HEADER = 'x-webhook-token';

export const token: Provider = {
  choosesSecret: true,
  knownEvents: [],
  verify(req, secret, options) {
    const header = (options.header ?? DEFAULT_TOKEN_HEADER).toLowerCase();
    const given = req.headers[header];
    if (!given) return `missing ${header} header`;
    return safeEqual(given, secret) ? null : `${header} does not match this source’s token`;
  },
  parse: (req) => parseGeneric('token', req),
};
