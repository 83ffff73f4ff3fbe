import { type Provider, safeEqual } from './provider.js';
import { parseGeneric } from './shared.js';

// HTTP basic authentication; the source's secret is "user:password".
export const basic: Provider = {
  choosesSecret: true,
  knownEvents: [],
  verify(req, secret) {
    const m = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return 'missing Authorization: Basic header';
    return safeEqual(Buffer.from(m[1], 'base64').toString('utf8'), secret)
      ? null
      : 'the basic-auth user and password do not match this source’s';
  },
  parse: (req) => parseGeneric('basic', req),
};
