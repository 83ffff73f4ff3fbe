// application/x-www-form-urlencoded bodies with bracketed keys, the way Rails and Rack read them
// (Chargify posts `payload[subscription][customer][reference]=…`). Nothing is lost: a key that
// repeats keeps every value, in order, as an array. Anything malformed is refused with the
// reason, rather than guessed at: the body was signed by its sender and is stored as it came.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export class MalformedForm extends Error {}

const MAX_DEPTH = 32;
const MAX_PAIRS = 10_000;

function decode(s: string, where: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new MalformedForm(`${where} is not valid percent-encoded UTF-8`);
  }
}

/** `a[b][]` → ['a', 'b', '']; an empty segment means "append". */
function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open === -1) {
    if (key.includes(']')) throw new MalformedForm(`key "${key}" has a "]" without a "["`);
    return [key];
  }
  if (open === 0) throw new MalformedForm(`key "${key}" starts with "[": it needs a name before its brackets`);
  const parts = [key.slice(0, open)];
  let rest = key.slice(open);
  while (rest.length) {
    const m = /^\[([^[\]]*)\]/.exec(rest);
    if (!m) throw new MalformedForm(`key "${key}" has unbalanced brackets`);
    parts.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  if (parts.length > MAX_DEPTH) throw new MalformedForm(`key "${key}" nests deeper than ${MAX_DEPTH} levels`);
  return parts;
}

const isObject = (v: FormValue | undefined): v is FormObject => typeof v === 'object' && v !== null && !Array.isArray(v);

// Own properties are defined, never assigned: a key named __proto__ is data, not a prototype.
function put(obj: FormObject, key: string, value: FormValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function insert(target: FormObject, path: string[], value: string, fullKey: string): void {
  const [head, ...rest] = path;
  const existing = Object.hasOwn(target, head) ? target[head] : undefined;
  if (rest.length === 0) {
    // A repeated key keeps every value.
    if (existing === undefined) put(target, head, value);
    else if (Array.isArray(existing)) existing.push(value);
    else if (typeof existing === 'string') put(target, head, [existing, value]);
    else throw new MalformedForm(`key "${fullKey}" is given both a value and nested keys`);
    return;
  }
  if (rest[0] === '') {
    // name[]…: an array.
    const list = existing === undefined ? [] : existing;
    if (!Array.isArray(list))
      throw new MalformedForm(`key "${fullKey}" treats "${head}" as a list, but it was given a value or nested keys`);
    if (existing === undefined) put(target, head, list);
    const after = rest.slice(1);
    if (after.length === 0) {
      list.push(value);
      return;
    }
    // name[][field]=…: fields go into the last element until a field repeats (as Rack does).
    const last = list[list.length - 1];
    const element = isObject(last) && !Object.hasOwn(last, after[0]) ? last : (list[list.push({}) - 1] as FormObject);
    if (!isObject(element)) throw new MalformedForm(`key "${fullKey}" mixes values and nested keys in one list`);
    insert(element, after, value, fullKey);
    return;
  }
  let child = existing;
  if (child === undefined) {
    child = {};
    put(target, head, child);
  }
  if (!isObject(child)) throw new MalformedForm(`key "${fullKey}" gives nested keys to "${head}", which already has a value`);
  insert(child, rest, value, fullKey);
}

/** Parses a form body into nested objects; throws MalformedForm with the reason. */
export function parseForm(body: string): FormObject {
  const out: FormObject = {};
  const pairs = body.split('&');
  if (pairs.length > MAX_PAIRS) throw new MalformedForm(`the body has more than ${MAX_PAIRS} fields`);
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const key = decode(rawKey, `key "${rawKey.slice(0, 100)}"`);
    if (key === '') throw new MalformedForm('a field has an empty name');
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1), `the value of "${key.slice(0, 100)}"`);
    insert(out, splitKey(key), value, key);
  }
  return out;
}
