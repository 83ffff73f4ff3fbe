// The portal's only way to the server: POSTs of one GraphQL operation to Herald's two endpoints,
// the session key in extensions.sessionKey (docs/graphql.md). Errors keep Herald's code and
// request id, so every screen can show them.
import { print } from '@0no-co/graphql.web';
import type { TadaDocumentNode } from 'gql.tada';

export const PUBLIC_PATH = '/graphql/api/public';
export const AUTHENTICATED_PATH = '/graphql/api/authenticated';

/** A GraphQL error as Herald answers it: a message that says what to do, a code, a request id. */
export class ApiError extends Error {
  readonly code: string;
  readonly requestId: string | null;
  constructor(message: string, code: string, requestId: string | null) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.requestId = requestId;
  }
}

interface GraphQLAnswer {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string; requestId?: string } }[];
}

/** One operation; answers its data or throws an ApiError (the first error, with its request id). */
export async function post<R, V>(path: string, doc: TadaDocumentNode<R, V>, variables: V, sessionKey?: string): Promise<R> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(doc), variables, ...(sessionKey ? { extensions: { sessionKey } } : {}) }),
    });
  } catch {
    throw new ApiError('Herald cannot be reached: check that it is running, then try again.', 'NETWORK', null);
  }
  const requestId = res.headers.get('x-request-id');
  let body: GraphQLAnswer;
  try {
    body = (await res.json()) as GraphQLAnswer;
  } catch {
    throw new ApiError(`Herald answered ${res.status} without a GraphQL body.`, 'INTERNAL_SERVER_ERROR', requestId);
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.extensions?.requestId ?? requestId);
  return body.data as R;
}
