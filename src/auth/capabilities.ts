import { badRequest } from '../errors.js';

// What a client token may do: a fixed vocabulary of capability names, each a set of GraphQL
// operations (src/graphql/fieldCapabilities.ts says which field needs which). A client token is
// minted with some of them, its session carries them, and the Actor checks them. Keys and people's
// sessions are not limited by capabilities: their reach is their role's.
//
// The names are part of the public API (mint requests name them): a name is never renamed or
// narrowed; a new operation gets an existing name when it does the same kind of thing, or a new one.

/** Every capability, in the order the docs list them, with what it allows (for the docs and errors). */
export const CAPABILITIES = {
  'customers:read': 'customers (persons and organizations): search, read, their address and custom data',
  'customers:write': 'create persons and organizations, save addresses and custom data (includes customers:read)',
  'billing:read': "customers' billing records (subscriptions, transactions, refunds) and the billing totals of a report",
  'endpoints:read': 'webhook endpoints: their URL, subscribed event types, format and health',
  'endpoints:write':
    'create and update endpoints (URL, subscriptions, format, enabled), reveal and rotate the signing secret, send a test event (includes endpoints:read)',
  'events:read': 'the delivery log: events, their deliveries and attempts, what the endpoint answered',
  'events:resend': "resend a delivery; recover an endpoint's failed deliveries in a window",
  'reports:read': 'delivery volume, success, failure and latency (report)',
  'sources:read': 'sources (where providers post) and the messages they received',
} as const;

export type Capability = keyof typeof CAPABILITIES;

/** Every capability a tenant may hold: what a client token minted without `capabilities` gets. */
export const ALL_CAPABILITIES = Object.keys(CAPABILITIES) as Capability[];

// Changing something answers it: a write capability shows what it wrote, so it reads as well.
const IMPLIES: Partial<Record<Capability, readonly Capability[]>> = {
  'customers:write': ['customers:read'],
  'endpoints:write': ['endpoints:read'],
};

export const isCapability = (name: string): name is Capability => Object.hasOwn(CAPABILITIES, name);

/** Whether holding `held` allows what `needed` allows. */
export function grants(held: ReadonlySet<Capability>, needed: Capability): boolean {
  if (held.has(needed)) return true;
  for (const c of held) if (IMPLIES[c]?.includes(needed)) return true;
  return false;
}

const KNOWN = () => ALL_CAPABILITIES.join(', ');

/**
 * The capabilities of a mint request: every one when none are named (what a client token has
 * always allowed), else the named ones, in the vocabulary's order. An empty list is refused rather
 * than read as "everything": a caller whose computed list came out empty means less, not more.
 */
export function capabilitiesOfRequest(names: readonly string[] | undefined): Capability[] {
  if (names === undefined) return [...ALL_CAPABILITIES];
  if (names.length === 0)
    throw badRequest(`capabilities is empty: name at least one (${KNOWN()}), or leave capabilities out for all of them`);
  const unknown = names.filter((n) => !isCapability(n));
  if (unknown.length) {
    throw badRequest(
      `unknown ${unknown.length === 1 ? 'capability' : 'capabilities'} ${unknown.map((n) => `"${n}"`).join(', ')}; the capabilities are ${KNOWN()} (see docs/graphql.md)`,
    );
  }
  const named = new Set(names);
  return ALL_CAPABILITIES.filter((c) => named.has(c));
}
