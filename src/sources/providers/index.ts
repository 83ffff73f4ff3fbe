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
