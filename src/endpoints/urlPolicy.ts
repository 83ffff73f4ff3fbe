import dns from 'node:dns';
import net from 'node:net';
import { badRequest } from '../errors.js';
import type { EnvironmentName } from '../keys/keys.js';

// Where an endpoint may point (SSRF protection).
//
// Production takes https only, and never an address that is not globally reachable (private,
// loopback, link-local where cloud metadata lives, CGNAT, unique-local, documentation, …) unless
// an allowlisted CIDR opts it back in. Sandbox takes http too, and private addresses only for an
// endpoint whose URL an operator key set (a developer receiving on their own machine): a tenant's
// credentials must not turn Herald into a proxy that reads the operator's internal services back
// through the attempt log, unless the operator allows it (HERALD_SANDBOX_TENANT_PRIVATE).
//
// The check runs when an endpoint is registered (the literal host, and every address its name
// resolves to) and again on every connection (guardedConnector in delivery/send.ts), so a DNS
// answer that changes later is caught too. The endpoint row carries `private_allowed`, the one
// thing that lets a connection skip the guard.

// IPv4: the IANA special-purpose address registry's entries that are not globally reachable,
// plus multicast (and 240/4, which holds the limited broadcast address).
const V4_NOT_GLOBAL: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
// IPv6 is judged the other way round: only global unicast (2000::/3) can be public, so everything
// outside it is refused (loopback, unspecified, ULA fc00::/7, link-local fe80::/10, deprecated
// site-local fec0::/10, multicast, discard-only 100::/64, local-use NAT64 64:ff9b:1::/48, and what
// is not allocated at all), then the registry's non-global blocks inside 2000::/3. The whole
// 2001::/23 (Teredo, benchmarking, ORCHID, …) is refused, including its few globally reachable
// anycast services: no webhook receiver lives there.
const V6_GLOBAL: [string, number][] = [['2000::', 3]];
const V6_NOT_GLOBAL: [string, number][] = [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['3fff::', 20],
];

const blockList = (family: 'ipv4' | 'ipv6', cidrs: [string, number][]) => {
  const list = new net.BlockList();
  for (const [a, bits] of cidrs) list.addSubnet(a, bits, family);
  return list;
};
const NOT_GLOBAL_V4 = blockList('ipv4', V4_NOT_GLOBAL);
const GLOBAL_V6 = blockList('ipv6', V6_GLOBAL);
const NOT_GLOBAL_V6 = blockList('ipv6', V6_NOT_GLOBAL);

/** The eight 16-bit groups of an IPv6 address (one net.isIPv6 accepts). */
function ipv6Groups(address: string): number[] {
  let s = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    s = s.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => parseInt(g, 16));
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address stands for, in the forms that reach an IPv4 host: IPv4-compatible
 * (::a.b.c.d, deprecated), IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), the
 * well-known NAT64 prefix (64:ff9b::a.b.c.d, what DNS64 answers on an IPv6-only network) and 6to4
 * (2002:aabb:ccdd::). Such an address is only as public as the IPv4 address it embeds.
 */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 6)) return v4(g[6], g[7]);
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6], g[7]);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6], g[7]);
  if (g[0] === 0x2002) return v4(g[1], g[2]);
  return undefined;
}

/** `localhost` and its subdomains, with or without the trailing dot of a fully qualified name. */
const isLocalhostName = (name: string) => /^(.+\.)?localhost\.?$/i.test(name);

const unbracket = (host: string) => host.replace(/^\[|\]$/g, '');

/** Who sets an endpoint's URL: an operator-wide credential, or one scoped to a tenant. */
export type UrlCaller = 'operator' | 'tenant';

export interface AddressPolicyOptions {
  /** Tenant-set sandbox endpoints may reach private addresses too (HERALD_SANDBOX_TENANT_PRIVATE). */
  sandboxTenantPrivate?: boolean;
}

export class AddressPolicy {
  private readonly allowed = new net.BlockList();
  private readonly sandboxTenantPrivate: boolean;

  /** `allowCidrs`: CIDRs that may be reached although not public (HERALD_ALLOW_PRIVATE_CIDRS). */
  constructor(allowCidrs: string[] = [], opts: AddressPolicyOptions = {}) {
    for (const c of allowCidrs) {
      const [a, bits] = c.split('/');
      this.allowed.addSubnet(a, Number(bits), net.isIP(a) === 4 ? 'ipv4' : 'ipv6');
    }
    this.sandboxTenantPrivate = opts.sandboxTenantPrivate ?? false;
  }

  /** True for an address (or the name localhost) that a guarded connection may not reach. */
  isBlocked(host: string): boolean {
    const h = unbracket(host);
    const family = net.isIP(h);
    if (family === 0) return isLocalhostName(h);
    if (family === 4) return NOT_GLOBAL_V4.check(h, 'ipv4') && !this.allowed.check(h, 'ipv4');
    if (this.allowed.check(h, 'ipv6')) return false;
    const inner = embeddedIPv4(h);
    if (inner !== undefined) return this.isBlocked(inner);
    return !GLOBAL_V6.check(h, 'ipv6') || NOT_GLOBAL_V6.check(h, 'ipv6');
  }

  /**
   * True when the host itself says "this machine or its network": a literal non-public address or
   * localhost. A name cannot be rebound there by whoever runs its DNS.
   */
  isLiteralPrivate(host: string): boolean {
    const h = unbracket(host);
    return (net.isIP(h) !== 0 || isLocalhostName(h)) && this.isBlocked(h);
  }

  /** Whether a connection to this endpoint goes through the address guard. */
  guards(endpoint: { environment: EnvironmentName; privateAllowed: boolean }): boolean {
    if (endpoint.privateAllowed) return false;
    return !(endpoint.environment === 'sandbox' && this.sandboxTenantPrivate);
  }

  /**
   * A `lookup` for net.connect: resolves as usual, then refuses the connection when any address is
   * blocked. A literal address never reaches a lookup: guardedConnector checks those.
   */
  guardedLookup = ((
    hostname: string,
    options: dns.LookupOptions,
    callback: (err: Error | null, address: string | dns.LookupAddress[] | undefined, family?: number) => void,
  ) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, undefined);
      const list = addresses;
      const bad = list.find((a) => this.isBlocked(a.address));
      if (bad) return callback(refusal(`${hostname} resolves to ${bad.address}, a private or reserved address`), undefined);
      if (options.all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  }) as unknown as typeof dns.lookup;

  /**
   * Checks a URL for an endpoint of this environment, set by this caller. Answers it normalised,
   * and whether the endpoint keeps the right to reach private addresses: only a sandbox URL an
   * operator key set does (HERALD_SANDBOX_TENANT_PRIVATE is read at connect time instead, so that
   * turning it off takes effect at once).
   */
  async checkEndpointUrl(raw: string, environment: EnvironmentName, caller: UrlCaller): Promise<{ url: string; privateAllowed: boolean }> {
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
    if (environment === 'production' && url.protocol !== 'https:')
      throw badRequest('production endpoints must use https:// (sandbox allows http://)');
    const privateAllowed = environment === 'sandbox' && caller === 'operator';
    if (privateAllowed || !this.guards({ environment, privateAllowed })) return { url: url.toString(), privateAllowed };

    const cannot =
      environment === 'production' ? 'production endpoints cannot point at' : 'a tenant-scoped key cannot point a sandbox endpoint at';
    const remedy =
      environment === 'production'
        ? 'use the sandbox to test locally, or have the operator allow the range with HERALD_ALLOW_PRIVATE_CIDRS'
        : 'register it with an operator key, or have the operator allow it for tenants with HERALD_SANDBOX_TENANT_PRIVATE=1';
    const host = unbracket(url.hostname);
    if (this.isBlocked(host))
      throw badRequest(`${cannot} a private or loopback address, or any other that is not public (${host}); ${remedy}`);
    if (net.isIP(host) === 0) {
      // A name that does not resolve now is accepted (it may be set up later); the connect-time
      // guard still checks every connection.
      const timeout = new Promise<dns.LookupAddress[]>((r) => setTimeout(() => r([]), 2000).unref());
      const addresses = await Promise.race([dns.promises.lookup(host, { all: true }).catch(() => []), timeout]);
      const bad = addresses.find((a) => this.isBlocked(a.address));
      if (bad) throw badRequest(`${cannot} ${host}: it resolves to ${bad.address}, a private or reserved address; ${remedy}`);
    }
    return { url: url.toString(), privateAllowed };
  }
}

/** The error a refused connection fails with; its message becomes the attempt's error. */
export function refusal(why: string): Error {
  return Object.assign(new Error(`refused: ${why}`), { code: 'EHERALDBLOCKED' });
}
