import type { Dialect } from './db.js';

// Small builders for the SQL that takes a list: `IN (…)` lists, multi-row VALUES lists, and the
// slices a long list is sent in. Statements keep Postgres-style `$n` placeholders (db/db.ts), so a
// list starts at whatever number follows the statement's fixed parameters.
//
// The lists are on the hot path (every claim, every batch of recorded attempts, every group of
// events), and a list of n items is the first n items of the longest one built so far for the same
// shape: each shape's text is built once, extended when a longer one is asked for, and answered
// as a prefix (a substring, no new formatting). Lists longer than MAX_CACHED_ITEMS (callers cut
// theirs into chunks well below it) are built each time, and so are the lists of shapes beyond
// the first MAX_SHAPES (the code has a dozen).

const MAX_CACHED_ITEMS = 2000;
const MAX_SHAPES = 100;

interface Built {
  text: string;
  /** ends[i]: the length of the text holding items 0..i. */
  ends: number[];
}
const built = new Map<string, Built>();

function list(shape: string, count: number, item: (i: number) => string): string {
  if (count <= 0) return '';
  let b = built.get(shape);
  if (!b && built.size < MAX_SHAPES) built.set(shape, (b = { text: '', ends: [] }));
  if (!b || count > MAX_CACHED_ITEMS) return Array.from({ length: count }, (_, i) => item(i)).join(', ');
  if (count > b.ends.length) {
    let text = b.text;
    for (let i = b.ends.length; i < count; i++) {
      text += i === 0 ? item(i) : `, ${item(i)}`;
      b.ends.push(text.length);
    }
    b.text = text;
  }
  return b.text.slice(0, b.ends[count - 1]);
}

/** Up to this many placeholders are written each time rather than cached (see placeholders). */
const SHORT = 16;

/** `$from, $from+1, …`: `n` placeholders for an `IN (…)` list or one VALUES row. */
export function placeholders(n: number, from = 1): string {
  // A row's few placeholders (their first number moves with every row) are quicker written than
  // looked up, and would fill the cache with one shape per row.
  if (n > SHORT) return list(`$${from}`, n, (i) => `$${from + i}`);
  let s = '';
  for (let i = 0; i < n; i++) s += i === 0 ? `$${from}` : `, $${from + i}`;
  return s;
}

/**
 * `rows` rows of a VALUES list, `(…), (…)`, numbered from `from`, for parameters pushed row after
 * row. `columns` is either how many columns a row has, or the SQL type of each column: each
 * placeholder is then written `CAST($n AS type)`. The casts are how Postgres learns the type of a
 * VALUES column it cannot infer (a joined UPDATE, an INSERT … SELECT); SQLite accepts the same
 * spelling.
 */
export function valuesRows(rows: number, columns: number | readonly string[], from = 1): string {
  const types = typeof columns === 'number' ? null : columns;
  const width = types ? types.length : (columns as number);
  const row = (r: number) => {
    const first = from + r * width;
    let s = '(';
    for (let c = 0; c < width; c++) {
      if (c > 0) s += ', ';
      s += types ? `CAST($${first + c} AS ${types[c]})` : `$${first + c}`;
    }
    return s + ')';
  };
  return list(`$${from} ${types ? types.join(',') : width}`, rows, row);
}

/**
 * `xs` in consecutive slices of at most `n` (none for an empty list): one statement each.
 *
 * On SQLite a slice is `n` long or a power of two (37 rows go as 32, 4 and 1). Its adapter keeps
 * each statement's text compiled (db/sqlite.ts), and a slice of any length up to `n` made one text
 * per length: the recorder's and the event writer's shapes alone came to some 800, more than the
 * cache holds, so it kept compiling them again, and each held its compiled program in memory.
 * Powers of two make a handful per shape. On Postgres a statement is parsed each time whatever
 * its text, and a slice as long as it may be saves round trips.
 */
export function chunks<T>(dialect: Dialect, xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (; xs.length - i >= n; i += n) out.push(xs.slice(i, i + n));
  if (i === xs.length) return out;
  if (dialect === 'postgres') {
    out.push(xs.slice(i));
    return out;
  }
  for (let size = 2 ** Math.floor(Math.log2(n)); i < xs.length; size /= 2) {
    if (xs.length - i < size) continue;
    out.push(xs.slice(i, i + size));
    i += size;
  }
  return out;
}
