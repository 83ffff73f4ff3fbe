/** What `fetch`, Bun, Deno and edge runtimes hand a handler: a `Headers` object (only `get` is used). */
export interface HeaderGetter {
  get(name: string): string | null;
}

/**
 * The request's headers as a framework gives them: a `Headers` object, or a plain object such as
 * Node's `req.headers` (Express, Fastify, node:http). Names are matched case-insensitively.
 */
export type HeadersInput = HeaderGetter | Record<string, string | string[] | undefined>;

/** The value of header `name` (lower case), or undefined when it is absent or empty. */
export function headerOf(headers: HeadersInput, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as HeaderGetter).get(name) || undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    // Not Node's lower-cased names: look the name up whatever its case.
    for (const key of Object.keys(record)) if (key.toLowerCase() === name) value = record[key];
  }
  // A header sent twice: Node gives an array for some names; join it as Headers#get would.
  if (Array.isArray(value)) value = value.join(', ');
  return value || undefined;
}
