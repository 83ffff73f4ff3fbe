import { GraphQLError } from 'graphql';
import { isUnavailable } from '../db/db.js';
import { type ErrorCode, HeraldError } from '../errors.js';

// Every GraphQL error leaves with `extensions.code` and `extensions.requestId`. Herald's own
// refusals (HeraldError) are mapped here, in one place, to the codes of the design document; a
// mistake in the request document itself (syntax, unknown field, a limit) is BAD_USER_INPUT; an
// unexpected failure is masked (a generic message, the requestId kept) and logged whole.

export type GraphQLCode =
  'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'RATE_LIMITED' | 'CONFLICT' | 'UNAVAILABLE' | 'INTERNAL_SERVER_ERROR';

const CODES: Record<ErrorCode, GraphQLCode> = {
  bad_request: 'BAD_USER_INPUT',
  unauthorized: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  // A key or uid already taken: the request can be changed to succeed, but it is not malformed.
  conflict: 'CONFLICT',
  payload_too_large: 'BAD_USER_INPUT',
  unsupported_media_type: 'BAD_USER_INPUT',
  rate_limited: 'RATE_LIMITED',
  unavailable: 'UNAVAILABLE',
};

const OURS = new Set<string>([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'CONFLICT',
  'UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);

export const INTERNAL_MESSAGE = 'something went wrong on our side; quote the requestId if you report it';

/** A refusal raised by the GraphQL layer itself (no session, batched request). */
export const gqlError = (code: GraphQLCode, message: string, extra: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, ...extra } });

/**
 * Yoga's maskError: called for every error of a result. Answers the error the client sees; a
 * masked one keeps the real error as `originalError` (never serialised) for the log.
 */
export function maskError(error: unknown): Error {
  const gql = error instanceof GraphQLError ? error : undefined;
  let original: unknown = gql ? gql.originalError : error;
  // Resolvers' errors arrive wrapped, sometimes twice (a GraphQLError around a GraphQLError).
  while (original instanceof GraphQLError && original.originalError) original = original.originalError;
  const where = { nodes: gql?.nodes, source: gql?.source, positions: gql?.positions, path: gql?.path };
  if (original instanceof HeraldError) {
    const retryAfter = original.details as { retryAfter?: number; retryAfterSeconds?: number } | undefined;
    const seconds = retryAfter?.retryAfter ?? retryAfter?.retryAfterSeconds;
    return new GraphQLError(original.message, {
      ...where,
      extensions: { code: CODES[original.code], ...(seconds ? { retryAfterSeconds: seconds } : {}) },
    });
  }
  // Errors of the request document (syntax, validation, graphql-armor's limits) come with yoga's
  // codes (GRAPHQL_VALIDATION_FAILED, …) or none: to the client they are all BAD_USER_INPUT.
  if (original instanceof GraphQLError)
    return OURS.has(original.extensions?.code as string) ? original : withCode(original, 'BAD_USER_INPUT');
  if (gql && !original) return OURS.has(gql.extensions?.code as string) ? gql : withCode(gql, 'BAD_USER_INPUT');
  if (isUnavailable(original)) {
    return new GraphQLError('the database is unavailable right now; nothing was changed, retry in a few seconds', {
      ...where,
      extensions: { code: 'UNAVAILABLE' },
    });
  }
  return new GraphQLError(INTERNAL_MESSAGE, {
    ...where,
    originalError: original instanceof Error ? original : new Error(String(original)),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

function withCode(e: GraphQLError, code: GraphQLCode): GraphQLError {
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    extensions: { ...e.extensions, code },
  });
}

/**
 * The error as it leaves: the request id added, and a code of ours (validation errors reach the
 * result without passing maskError, with yoga's GRAPHQL_VALIDATION_FAILED); the original is kept
 * for the log.
 */
export function withRequestId(e: GraphQLError, requestId: string): GraphQLError {
  const code = OURS.has(e.extensions?.code as string) ? e.extensions.code : 'BAD_USER_INPUT';
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError ?? undefined,
    extensions: { ...e.extensions, code, requestId },
  });
}
