import { graphql, type ResultOf } from '../api/graphql';

export const ENDPOINTS = graphql(`
  query Endpoints($tenant: ID) {
    endpoints(tenant: $tenant) {
      id
      url
      description
      eventTypes
      enabled
      format
      disabledReason
      disabledAt
      createdAt
      health {
        circuit
        consecutiveFailures
        failingSince
        circuitOpenUntil
      }
    }
  }
`);

export const EVENT_TYPES = graphql(`
  query EventTypes {
    eventTypes {
      name
      description
      example
      catalog
    }
  }
`);

export const CREATE_ENDPOINT = graphql(`
  mutation CreateEndpoint($tenant: ID, $input: CreateEndpointInput!) {
    createEndpoint(tenant: $tenant, input: $input) {
      endpoint {
        id
      }
      secret
    }
  }
`);

export const UPDATE_ENDPOINT = graphql(`
  mutation UpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
    updateEndpoint(id: $id, input: $input) {
      id
    }
  }
`);

export const SEND_TEST_EVENT = graphql(`
  mutation SendTestEvent($endpointId: ID!, $eventType: String) {
    sendTestEvent(endpointId: $endpointId, eventType: $eventType) {
      eventId
    }
  }
`);

export const TEST_EVENT_RESULT = graphql(`
  query TestEventResult($tenant: ID, $id: ID!) {
    event(tenant: $tenant, id: $id) {
      id
      type
      status
      deliveries {
        id
        status
        attempts {
          id
          attempt
          statusCode
          durationMs
          error
          responseBody
        }
      }
    }
  }
`);

export const ENDPOINT_SECRET = graphql(`
  query EndpointSecret($endpointId: ID!) {
    endpointSecret(endpointId: $endpointId)
  }
`);
export const ROTATE_SECRET = graphql(`
  mutation RotateSecret($endpointId: ID!) {
    rotateEndpointSecret(endpointId: $endpointId)
  }
`);

export type EndpointRow = ResultOf<typeof ENDPOINTS>['endpoints'][number];
export type EventTypeRow = ResultOf<typeof EVENT_TYPES>['eventTypes'][number];
export type Format = EndpointRow['format'];
