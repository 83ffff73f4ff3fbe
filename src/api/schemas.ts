import { type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { badRequest } from '../errors.js';

// Shared request and response schemas. They validate requests at the edge and are the source of
// the OpenAPI document, so the two cannot drift apart.

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      requestId: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Type.Ref('Error')]));

/**
 * A field with a `default` may be left out of a request: validation fills it in (Ajv's
 * useDefaults), so a handler always sees it set. TypeBox types such a field optional when it is
 * left out of `required`; this keeps it required in the handler's type and takes it out of the
 * schema's `required` list instead.
 */
export function defaulted<T extends TSchema & { properties: TProperties }>(schema: T): T {
  const listed = (schema.required as readonly string[] | undefined) ?? [];
  const required = listed.filter((k) => schema.properties[k]?.default === undefined);
  const out: T = { ...schema, required };
  if (required.length === 0) delete out.required;
  return out;
}

const ListFields = {
  limit: Type.Integer({ minimum: 1, maximum: 250, default: 50, description: 'page size, 1–250' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
};

/** The query string of a list: `limit` and `cursor`, then the list's own filters. Unknown fields are refused. */
export const listQuery = <P extends TProperties>(filters: P) =>
  defaulted(Type.Object({ ...ListFields, ...filters }, { additionalProperties: false }));

export const ListQuery = listQuery({});

export const page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** The answer of a 204: no body (typed so that a handler sends nothing). */
export const NoContent = Type.Unsafe<void>(Type.Null());

export const TenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 200, description: 'the tenant id or uid' }) });

export const Timestamp = Type.String({ format: 'date-time' });

export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** A value or null. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Milliseconds of an ISO 8601 date-time that passed the `date-time` format. RFC 3339 allows a leap
 * second (23:59:60), which JavaScript time does not have (Date.parse answers NaN): it is read as
 * the last millisecond of that minute, 23:59:59.999, which keeps it after everything earlier in
 * the minute and before the next one.
 */
export function parseTimestamp(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isNaN(ms)) return ms;
  const clamped = Date.parse(value.replace(/:60(\.\d+)?(?=([Zz]|[+-]\d\d:\d\d)$)/, ':59.999'));
  if (!Number.isNaN(clamped)) return clamped;
  throw badRequest(`"${value}" is not a date-time Herald can read; send ISO 8601 with a time zone, like 2021-07-09T09:15:18.223Z`);
}
