import type { Db } from '../db/db.js';
import { SEALED_PREFIX, type SecretBox } from './secretBox.js';

// At start: seals what is stored in the clear (written before encryption existed) and re-seals
// what an older key sealed (after HERALD_SECRET_KEY was rotated), in batches, so that the previous
// key can be dropped once every node has restarted. Answers how many values were re-sealed.
// Every column that holds a sealed value: re-sealed here, and checked at start by sealedKeyIds.
// A `list` column holds a JSON array of {secret, …} whose every secret is sealed on its own.
export const SEALED_COLUMNS: { table: string; column: string; list?: true }[] = [
  { table: 'tenants', column: 'token' },
  { table: 'endpoints', column: 'secret' },
  { table: 'endpoints', column: 'previous_secrets', list: true },
  { table: 'sources', column: 'secret' },
  { table: 'users', column: 'totp_secret' },
  { table: 'enrolment_tickets', column: 'totp_secret' },
];

/** The value re-sealed with the current key, or null when nothing in it is stale. */
function resealed(box: SecretBox, value: string, list: boolean): string | null {
  if (!list) return box.isStale(value) ? box.seal(box.open(value)) : null;
  const items = JSON.parse(value) as { secret: string }[];
  if (!items.some((i) => box.isStale(i.secret))) return null;
  return JSON.stringify(items.map((i) => (box.isStale(i.secret) ? { ...i, secret: box.seal(box.open(i.secret)) } : i)));
}

export async function resealSecrets(db: Db, box: SecretBox): Promise<number> {
  let changed = 0;
  for (const { table, column, list = false } of SEALED_COLUMNS) {
    let after = '';
    for (;;) {
      const rows = await db.all<{ id: string; value: string }>(
        `SELECT id, ${column} AS value FROM ${table} WHERE id > $1 AND ${column} IS NOT NULL ORDER BY id LIMIT 500`,
        [after],
      );
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      const stale = rows.flatMap((r) => {
        const value = resealed(box, r.value, list);
        return value === null ? [] : [{ ...r, resealed: value }];
      });
      if (stale.length === 0) continue;
      await db.tx(async (q) => {
        for (const r of stale) {
          // Compare-and-set: a value changed meanwhile (a rotation on another node) is left alone.
          changed += await q.run(`UPDATE ${table} SET ${column} = $1 WHERE id = $2 AND ${column} = $3`, [r.resealed, r.id, r.value]);
        }
      });
    }
  }
  return changed;
}

/**
 * The ids of the keys that sealed the stored secrets (empty: nothing sealed yet). A value reads
 * `enc:v1:<key id>:…`, so the id is 8 characters from the 8th. One scan of each column at start,
 * as re-sealing does anyway.
 */
export async function sealedKeyIds(db: Db): Promise<Set<string>> {
  const ids = new Set<string>();
  const at = SEALED_PREFIX.length + 1;
  for (const { table, column, list } of SEALED_COLUMNS) {
    // A list of earlier secrets always sits beside its endpoint's current secret, checked here.
    if (list) continue;
    const rows = await db.all<{ kid: string }>(
      `SELECT DISTINCT substr(${column}, ${at}, 8) AS kid FROM ${table} WHERE ${column} LIKE '${SEALED_PREFIX}%'`,
    );
    for (const r of rows) ids.add(r.kid);
  }
  return ids;
}
