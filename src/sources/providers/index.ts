import { basic } from './basic.js';
import { chargify } from './chargify.js';
import { github } from './github.js';
import type { Provider } from './provider.js';
import { shopify } from './shopify.js';
import { standard } from './standard.js';
import { stripe } from './stripe.js';
import { token } from './token.js';

export const PROVIDERS = { chargify, stripe, github, shopify, standard, token, basic } satisfies Record<string, Provider>;
export type ProviderName = keyof typeof PROVIDERS;
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];
export { MalformedBody, type InboundRequest, type ParsedMessage, type SourceOptions } from './provider.js';

/**
 * The event types a provider's source registers in the environment's catalogue: its known events,
 * named as they are forwarded. Only these: every other name a source receives comes from the
 * request (and the tenant holds the secret that signs it), so it is forwarded without becoming a
 * catalogue entry, which every tenant of the environment would see.
 */
export const registeredTypes = (provider: ProviderName): string[] => PROVIDERS[provider].knownEvents.map((e) => `${provider}.${e}`);

const REGISTERED = new Set(PROVIDER_NAMES.flatMap(registeredTypes));
export const isRegisteredType = (type: string): boolean => REGISTERED.has(type);
