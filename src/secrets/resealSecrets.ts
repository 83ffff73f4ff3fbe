import type { Db } from '../db/db.js';
import { SEALED_PREFIX, type SecretBox } from './secretBox.js';

// At start: seals what is stored in the clear (written before encryption existed) and re-seals
// what an older key sealed (after HERALD_SECRET_KEY was rotated), in batches, so that the previous
// key can be dropped once every node has restarted. Answers how many values were re-sealed.
// Every column that holds a sealed value: re-sealed here, and checked at start by sealedKeyIds.
export const SEALED_COLUMNS: { table: string; column: string }[] = [
  { table: 'tenants', column: 'token' },
  { table: 'endpoints', column: 'secret' },
  { table: 'endpoints', column: 'previous_secret' },
  { table: 'sources', column: 'secret' },
  { table: 'users', column: 'totp_secret' },
];

export async function resealSecrets(db: Db, box: SecretBox): Promise<number> {
  let changed = 0;
  for (const { table, column } of SEALED_COLUMNS) {
    let after = '';
    for (;;) {
      const rows = await db.all<{ id: string; value: string }>(
        `SELECT id, ${column} AS value FROM ${table} WHERE id > $1 AND ${column} IS NOT NULL ORDER BY id LIMIT 500`,
        [after],
      );
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      const stale = rows.filter((r) => box.isStale(r.value));
      if (stale.length === 0) continue;
      await db.tx(async (q) => {
        for (const r of stale) {
          // Compare-and-set: a value changed meanwhile (a rotation on another node) is left alone.
          changed += await q.run(`UPDATE ${table} SET ${column} = $1 WHERE id = $2 AND ${column} = $3`, [box.seal(box.open(r.value)), r.id, r.value]);
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
  for (const { table, column } of SEALED_COLUMNS) {
    const rows = await db.all<{ kid: string }>(
      `SELECT DISTINCT substr(${column}, ${at}, 8) AS kid FROM ${table} WHERE ${column} LIKE '${SEALED_PREFIX}%'`,
    );
    for (const r of rows) ids.add(r.kid);
  }
  return ids;
}
