import type { Config } from '../config.js';
import type { EndpointContext } from '../endpoints/endpoints.js';
import type { AddressPolicy } from '../endpoints/urlPolicy.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { type Actor, urlCaller } from './actor.js';

export interface EndpointContextDeps {
  config: Pick<Config, 'tokenHeader' | 'maxEndpointsPerTenant'>;
  addresses: AddressPolicy;
  box: SecretBox;
}

/**
 * What creating or changing an endpoint needs to know of the caller, built the same way for a REST
 * key and a GraphQL session: the URL policy of the actor's environment, and whether the actor is
 * a tenant's (no private addresses, even in the sandbox, unless HERALD_SANDBOX_TENANT_PRIVATE
 * says so).
 */
export function endpointContext(actor: Actor, { config, addresses, box }: EndpointContextDeps): EndpointContext {
  return {
    environmentId: actor.environmentId,
    environment: actor.environment,
    caller: urlCaller(actor),
    tokenHeader: config.tokenHeader,
    addresses,
    maxEndpoints: config.maxEndpointsPerTenant,
    box,
  };
}
