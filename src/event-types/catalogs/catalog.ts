// A catalog is a named set of event types that `POST /v1/event-types/import` loads. Each type is
// described by its fields; the JSON Schema and the webhook reference (docs/webhooks.md) are both
// derived from that one description so they cannot disagree.

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

export interface Field {
  name: string;
  type: FieldType | FieldType[];
  description: string;
  enum?: (string | number)[];
  nullable?: boolean;
  required?: boolean;
  format?: 'date-time';
}

export interface CatalogType {
  name: string;
  title: string;
  description: string;
  fields: Field[];
  example: Record<string, unknown>;
}

export interface Catalog {
  name: string;
  description: string;
  types: CatalogType[];
}

export function schemaOf(t: CatalogType): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of t.fields) {
    const types = Array.isArray(f.type) ? [...f.type] : [f.type];
    if (f.nullable) types.push('null' as FieldType);
    const prop: Record<string, unknown> = { type: types.length === 1 ? types[0] : types, description: f.description };
    if (f.enum) prop.enum = f.nullable ? [...f.enum, null] : f.enum;
    if (f.format) prop.format = f.format;
    properties[f.name] = prop;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: t.title,
    type: 'object',
    properties,
    required: t.fields.filter((f) => f.required).map((f) => f.name),
    // Senders add fields over time (a non-breaking change); receivers must tolerate them.
    additionalProperties: true,
  };
}
