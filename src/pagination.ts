import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';

// Lists answer {data, nextCursor}. Queries fetch limit+1 rows: the extra row only tells that a
// next page exists, and the position is the last key shown (ids sort by creation time).
//
// Store modules work with plain positions (an id, a name, an attempt number). The API hands them
// out as opaque cursors and takes them back (api/app.ts, once for every list): a cursor is the
// base64url of a version, a tag of the list it was issued for, the position's type and the
// position. So a cursor made up by hand or copied from another list is refused with a 400 instead
// of answering everything (a position that sorts after every id) or nothing, and a number that
// does not fit the column never reaches the database.
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function pageOf<T>(rows: T[], limit: number, key: (t: T) => string = (t) => (t as { id: string }).id): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more ? key(data[data.length - 1]) : null };
}

/** Positions that are whole numbers (attempt numbers) must fit a 32-bit integer column. */
const MAX_NUMBER = 2 ** 31 - 1;

/**
 * A check of what the cursor says: the list it was issued for, the position's type and the
 * position, as 12 base64url characters of their SHA-256. It tells a cursor Herald issued for this
 * list from a made-up, truncated or borrowed one. It is not a secret: a cursor forged with intent
 * only names a position, which is checked for its type like any other.
 */
const check = (list: string, type: string, position: string) =>
  createHash('sha256').update(`${list}\u0000${type}\u0000${position}`).digest('base64url').slice(0, 12);

const isNumber = (position: string) => /^\d{1,10}$/.test(position) && Number(position) <= MAX_NUMBER;

/** The opaque cursor for `position` in `list`: typed "n" (a whole number) or "s" (a string key). */
export function encodeCursor(list: string, position: string): string {
  const type = isNumber(position) ? 'n' : 's';
  return Buffer.from(`h1.${type}.${check(list, type, position)}.${position}`, 'utf8').toString('base64url');
}

/** The position a cursor stands for, or a 400 when Herald did not issue it for this list. */
export function decodeCursor(list: string, cursor: string): string {
  const refuse = () =>
    badRequest(
      'cursor is not one this list issued; pass the nextCursor of the previous page unchanged, or leave cursor out to start from the first page',
    );
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Decoding is lenient (it skips what is not base64url, it reads invalid UTF-8): only the exact
  // encoding of a well-formed cursor counts.
  const m = /^h1\.([ns])\.([A-Za-z0-9_-]{12})\.(.+)$/s.exec(text);
  if (!m || Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw refuse();
  const [, type, sum, position] = m;
  if (sum !== check(list, type, position) || (type === 'n' && !isNumber(position))) throw refuse();
  return position;
}
