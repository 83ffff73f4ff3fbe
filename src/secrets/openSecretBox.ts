import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { sealedKeyIds } from './resealSecrets.js';
import { assertOpensSealed, resolveSecretKey, SecretBox } from './secretBox.js';

/**
 * The box every process (server or CLI) seals and opens secrets with. Before anything is sealed
 * or opened, the key must open what the database already holds: a wrong or regenerated key stops
 * here with one line that says what to do, instead of sealing new secrets nobody can read later.
 */
export async function openSecretBox(db: Db, config: Pick<Config, 'secretKey' | 'dataDir' | 'previousSecretKeys'>): Promise<SecretBox> {
  const sealedBy = await sealedKeyIds(db);
  const resolved = resolveSecretKey({
    secretKey: config.secretKey,
    dataDir: config.dataDir,
    usesPostgres: db.dialect === 'postgres',
    hasSealedSecrets: sealedBy.size > 0,
  });
  const box = new SecretBox(resolved.key, config.previousSecretKeys);
  assertOpensSealed(box, sealedBy, resolved.source);
  return box;
}
