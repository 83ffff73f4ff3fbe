import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// Secrets at rest: endpoint signing secrets and tenant tokens are stored encrypted with
// AES-256-GCM (authenticated: a changed byte fails to decrypt instead of yielding garbage), under a
// key derived with HKDF-SHA256 from HERALD_SECRET_KEY. A stored value reads
//   enc:v1:<key id>:<base64(iv ‖ tag ‖ ciphertext)>
// The key id (first bytes of a hash of the derived key) says which key sealed it, so after a
// rotation values sealed with the previous key still open, and are re-sealed at start.

export const SEALED_PREFIX = 'enc:v1:';

export class SecretKeyError extends Error {}

interface Key {
  id: string;
  bytes: Buffer;
}

function deriveKey(secret: string): Key {
  if (secret.length < 32) throw new SecretKeyError('HERALD_SECRET_KEY must be at least 32 characters long');
  const bytes = Buffer.from(hkdfSync('sha256', secret, 'herald/v1', 'secrets at rest', 32));
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 8), bytes };
}

export class SecretBox {
  private readonly current: Key;
  private readonly keys = new Map<string, Key>();
  private readonly opened = new Map<string, string>(); // sealed → plain, for the delivery hot path

  constructor(secretKey: string, previousKeys: string[] = []) {
    this.current = deriveKey(secretKey);
    for (const k of [this.current, ...previousKeys.map(deriveKey)]) this.keys.set(k.id, k);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${SEALED_PREFIX}${this.current.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Opens a sealed value. A value stored before encryption existed is returned as it is. */
  open(stored: string): string {
    if (!stored.startsWith(SEALED_PREFIX)) return stored;
    const hit = this.opened.get(stored);
    if (hit !== undefined) return hit;
    const [kid, data] = stored.slice(SEALED_PREFIX.length).split(':');
    const key = this.keys.get(kid);
    if (!key)
      throw new SecretKeyError(
        `a stored secret was sealed with key id "${kid}", which is neither HERALD_SECRET_KEY nor in HERALD_SECRET_KEY_PREVIOUS; start Herald with the key that sealed it`,
      );
    const raw = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    if (this.opened.size > 10_000) this.opened.clear();
    this.opened.set(stored, plain);
    return plain;
  }

  /** The id of the key that seals new values (first bytes of a hash of the derived key: not secret). */
  get currentId(): string {
    return this.current.id;
  }

  /** True when a value sealed under key id `kid` opens with this box. */
  knows(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** True when the value is not sealed with the current key (plain, or an older key). */
  isStale(stored: string): boolean {
    return !stored.startsWith(`${SEALED_PREFIX}${this.current.id}:`);
  }
}

/** Where the key came from, for messages that say what to fix. */
export type KeySource = { kind: 'env' } | { kind: 'file'; file: string; generated: boolean };

export interface ResolvedKey {
  key: string;
  source: KeySource;
}

const KEEP_IT =
  'make it once and keep it, e.g. `openssl rand -base64 48 > herald-secret.key && chmod 600 herald-secret.key`, ' +
  'then start every node, every time, with HERALD_SECRET_KEY="$(cat herald-secret.key)"';

/**
 * The key to use: HERALD_SECRET_KEY; or, on the embedded database only, the key kept in the data
 * directory, readable by its owner only. That file is generated only while the database holds no
 * sealed secret: a new key over sealed data would make them unreadable, so a missing file is
 * reported (with where it was and how to restore it) instead of replaced. Postgres serves many
 * nodes, so they must share a key given to them: Herald refuses to start without one.
 */
export function resolveSecretKey(opts: {
  secretKey?: string;
  dataDir: string;
  usesPostgres: boolean;
  hasSealedSecrets: boolean;
}): ResolvedKey {
  if (opts.secretKey) return { key: opts.secretKey, source: { kind: 'env' } };
  if (opts.usesPostgres) {
    throw new SecretKeyError(
      'HERALD_SECRET_KEY is not set. With Postgres every node must share one key for the secrets it stores: ' +
        `set HERALD_SECRET_KEY to a random string of 32 characters or more; ${KEEP_IT}. A new key on each start would lock the stored secrets away.`,
    );
  }
  const file = path.join(opts.dataDir, 'secret.key');
  try {
    return { key: fs.readFileSync(file, 'utf8').trim(), source: { kind: 'file', file, generated: false } };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (opts.hasSealedSecrets) {
    throw new SecretKeyError(
      `the secret key file ${file} is missing, but the database in ${opts.dataDir} holds secrets sealed with it ` +
        '(endpoint signing secrets, tenant tokens, source secrets). Herald will not make a new key: those secrets would no longer open. ' +
        `Restore the file from your backup (one line; \`chmod 600 ${file}\`), or set HERALD_SECRET_KEY to the key it held. ` +
        'If the key is lost, the sealed secrets cannot be read by anyone: move the data directory aside and start afresh.',
    );
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const key = randomBytes(48).toString('base64url');
  try {
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (the CLI, a second node) created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { key: fs.readFileSync(file, 'utf8').trim(), source: { kind: 'file', file, generated: false } };
    throw err;
  }
  return { key, source: { kind: 'file', file, generated: true } };
}

/**
 * Refuses to start when stored secrets were sealed with a key this process does not have (a new
 * HERALD_SECRET_KEY generated on each start, a replaced key file), naming the key ids and saying
 * exactly what to do. Without this the first webhook to each endpoint would fail instead.
 */
export function assertOpensSealed(box: SecretBox, sealedKeyIds: Iterable<string>, source: KeySource): void {
  const unknown = [...sealedKeyIds].filter((kid) => !box.knows(kid));
  if (unknown.length === 0) return;
  const ids = unknown.map((k) => `"${k}"`).join(', ');
  const which =
    source.kind === 'env' ? `HERALD_SECRET_KEY (key id "${box.currentId}")` : `the key in ${source.file} (key id "${box.currentId}")`;
  const fix =
    source.kind === 'env'
      ? 'Start Herald with the HERALD_SECRET_KEY this database was set up with: the same one on every node and every restart ' +
        `(${KEEP_IT}). To change the key on purpose, put the old one in HERALD_SECRET_KEY_PREVIOUS: Herald re-seals everything with the new one.`
      : `Put back the secret.key file this database was set up with, or set HERALD_SECRET_KEY to that key (the old key may also go in HERALD_SECRET_KEY_PREVIOUS).`;
  throw new SecretKeyError(
    `${which} does not open the secrets stored in this database: they were sealed with key id ${ids}. ${fix} ` +
      'If that key is lost, the sealed secrets (endpoint signing secrets, tenant tokens, source secrets) cannot be read by anyone.',
  );
}
