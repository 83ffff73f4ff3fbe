import { type TSchema, Type } from '@sinclair/typebox';

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

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50, description: 'page size, 1–250' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const page = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const TenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 200, description: 'the tenant id or uid' }) });

export const Timestamp = Type.String({ format: 'date-time' });

export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** A value or null. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
