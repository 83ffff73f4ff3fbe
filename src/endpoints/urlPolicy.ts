import dns from 'node:dns';
import net from 'node:net';
import { badRequest } from '../errors.js';
import type { EnvironmentName } from '../keys/keys.js';

// Where an endpoint may point (SSRF protection). Sandbox takes any http(s) URL, loopback included,
// so a developer can receive on their own machine. Production takes https only, and never an
// address that is private, loopback, link-local (cloud metadata lives there), CGNAT, unique-local
// or otherwise not public, unless an allowlisted CIDR opts it back in. The check runs when an
// endpoint is registered (the literal host, and every address its name resolves to) and again when
// each connection is made (guardedLookup), so a DNS answer that changes later is caught too.
const BLOCKED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'], ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'], ['::1', 128, 'ipv6'], ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'], ['ff00::', 8, 'ipv6'],
];
const PRIVATE = new net.BlockList();
for (const [a, bits, family] of BLOCKED) PRIVATE.addSubnet(a, bits, family);

export class AddressPolicy {
  private readonly allowed = new net.BlockList();

  constructor(allowCidrs: string[] = []) {
    for (const c of allowCidrs) {
      const [a, bits] = c.split('/');
      this.allowed.addSubnet(a, Number(bits), net.isIP(a) === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** True for an address (or the name localhost) that production endpoints may not reach. */
  isBlocked(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, '');
    const v = net.isIP(h);
    if (v === 0) return h === 'localhost' || h.endsWith('.localhost');
    const family = v === 4 ? 'ipv4' : 'ipv6';
    // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged by its IPv4 part.
    const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h)?.[1] : undefined;
    if (mapped) return this.isBlocked(mapped);
    return PRIVATE.check(h, family) && !this.allowed.check(h, family);
  }

  /**
   * A `lookup` for net.connect: resolves as usual, then refuses the connection when any address is
   * blocked. Used by the production delivery agent.
   */
  guardedLookup = ((hostname: string, options: dns.LookupOptions, callback: (err: Error | null, address: any, family?: number) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, undefined);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => this.isBlocked(a.address));
      if (bad) {
        const e = Object.assign(new Error(`refused: ${hostname} resolves to ${bad.address}, a private or reserved address`), { code: 'EHERALDBLOCKED' });
        return callback(e, undefined);
      }
      if (options.all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  }) as unknown as typeof dns.lookup;

  /** Checks a URL for an endpoint of this environment; answers it normalised. */
  async checkEndpointUrl(raw: string, environment: EnvironmentName): Promise<string> {
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
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (this.isBlocked(host)) {
        throw badRequest(`production endpoints cannot point at a private or loopback address (${host}); use the sandbox to test locally, or allow the range with HERALD_ALLOW_PRIVATE_CIDRS`);
      }
      if (net.isIP(host) === 0) {
        // A name that does not resolve now is accepted (it may be set up later); the connect-time
        // check still guards every delivery.
        const timeout = new Promise<dns.LookupAddress[]>((r) => setTimeout(() => r([]), 2000).unref());
        const addresses = await Promise.race([dns.promises.lookup(host, { all: true }).catch(() => []), timeout]);
        const bad = addresses.find((a) => this.isBlocked(a.address));
        if (bad) throw badRequest(`production endpoints cannot point at ${host}: it resolves to ${bad.address}, a private or reserved address`);
      }
    }
    return url.toString();
  }
}
