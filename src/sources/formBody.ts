// application/x-www-form-urlencoded bodies with bracketed keys, the way Rails and Rack read them
// (Chargify posts `payload[subscription][customer][reference]=…`). Nothing is lost: a key that
// repeats keeps every value, in order, as an array. Anything malformed is refused with the
// reason, rather than guessed at: the body was signed by its sender and is stored as it came.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export class MalformedForm extends Error {}

const MAX_DEPTH = 32;
const MAX_PAIRS = 10_000;

/** `where` is built only for the error: most keys and values are plain ASCII with nothing to decode. */
function decode(s: string, where: () => string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new MalformedForm(`${where()} is not valid percent-encoded UTF-8`);
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
  // Each segment is "[" then anything but brackets then "]", to the end of the key.
  for (let at = open; at < key.length;) {
    const close = key.indexOf(']', at + 1);
    const next = key.indexOf('[', at + 1);
    if (key[at] !== '[' || close === -1 || (next !== -1 && next < close)) throw new MalformedForm(`key "${key}" has unbalanced brackets`);
    parts.push(key.slice(at + 1, close));
    at = close + 1;
  }
  if (parts.length > MAX_DEPTH) throw new MalformedForm(`key "${key}" nests deeper than ${MAX_DEPTH} levels`);
  return parts;
}

const isObject = (v: FormValue | undefined): v is FormObject => typeof v === 'object' && v !== null && !Array.isArray(v);

// A key named __proto__ is data, not a prototype: it alone is defined rather than assigned (the
// only setter plain objects inherit).
function put(obj: FormObject, key: string, value: FormValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Puts `value` at path[from…] under `target`. */
function insert(target: FormObject, path: string[], from: number, value: string, fullKey: string): void {
  const head = path[from];
  const existing = Object.hasOwn(target, head) ? target[head] : undefined;
  if (from === path.length - 1) {
    // A repeated key keeps every value.
    if (existing === undefined) put(target, head, value);
    else if (Array.isArray(existing)) existing.push(value);
    else if (typeof existing === 'string') put(target, head, [existing, value]);
    else throw new MalformedForm(`key "${fullKey}" is given both a value and nested keys`);
    return;
  }
  if (path[from + 1] === '') {
    // name[]…: an array.
    const list = existing === undefined ? [] : existing;
    if (!Array.isArray(list))
      throw new MalformedForm(`key "${fullKey}" treats "${head}" as a list, but it was given a value or nested keys`);
    if (existing === undefined) put(target, head, list);
    const after = from + 2;
    if (after === path.length) {
      list.push(value);
      return;
    }
    // name[][field]=…: fields go into the last element until a field repeats (as Rack does).
    const last = list[list.length - 1];
    const element = isObject(last) && !Object.hasOwn(last, path[after]) ? last : (list[list.push({}) - 1] as FormObject);
    if (!isObject(element)) throw new MalformedForm(`key "${fullKey}" mixes values and nested keys in one list`);
    insert(element, path, after, value, fullKey);
    return;
  }
  let child = existing;
  if (child === undefined) {
    child = {};
    put(target, head, child);
  }
  if (!isObject(child)) throw new MalformedForm(`key "${fullKey}" gives nested keys to "${head}", which already has a value`);
  insert(child, path, from + 1, value, fullKey);
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
    const key = decode(rawKey, () => `key "${rawKey.slice(0, 100)}"`);
    if (key === '') throw new MalformedForm('a field has an empty name');
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1), () => `the value of "${key.slice(0, 100)}"`);
    insert(out, splitKey(key), 0, value, key);
  }
  return out;
}
