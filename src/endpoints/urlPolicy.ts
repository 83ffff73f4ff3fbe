import net from 'node:net';
import { badRequest } from '../errors.js';
import type { EnvironmentName } from '../keys/keys.js';

// Where an endpoint may point. Sandbox takes any http(s) URL, loopback included, so a developer can
// receive on their own machine. Production takes https only, and no literal private, loopback,
// link-local or metadata address. (Hostnames that resolve to such addresses are checked again at
// connect time; see issue #3.)
const PRIVATE = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15],
] as const) PRIVATE.addSubnet(net4, bits, 'ipv4');
for (const [net6, bits] of [['::1', 128], ['::', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(net6, bits, 'ipv6');

export function isPrivateAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  const v = net.isIP(h);
  if (v === 0) return h === 'localhost' || h.endsWith('.localhost');
  return PRIVATE.check(h, v === 4 ? 'ipv4' : 'ipv6');
}

export function checkEndpointUrl(raw: string, environment: EnvironmentName): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(`url "${raw}" is not a valid absolute URL; give one like https://example.com/webhooks`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw badRequest(`url must use http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username || url.password) throw badRequest('url must not contain credentials; use custom headers instead');
  if (environment === 'production') {
    if (url.protocol !== 'https:') throw badRequest('production endpoints must use https:// (sandbox allows http://)');
    if (isPrivateAddress(url.hostname)) {
      throw badRequest(`production endpoints cannot point at a private or loopback address (${url.hostname}); use the sandbox to test locally`);
    }
  }
  return url.toString();
}
