// One error type for everything Herald refuses on purpose; the API maps it to a response in one place
// (api/errors.ts). Messages say what is wrong and what to do about it.
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
};

export class HeraldError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const badRequest = (msg: string, details?: unknown) => new HeraldError('bad_request', msg, details);
export const notFound = (what: string, id: string) => new HeraldError('not_found', `${what} "${id}" was not found in this environment`);
