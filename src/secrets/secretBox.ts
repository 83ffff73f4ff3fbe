import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// Secrets at rest: endpoint signing secrets and tenant tokens are stored encrypted with
// AES-256-GCM (authenticated: a changed byte fails to decrypt instead of yielding garbage), under a
// key derived with HKDF-SHA256 from HERALD_SECRET_KEY. A stored value reads
//   enc:v1:<key id>:<base64(iv ‖ tag ‖ ciphertext)>
// The key id (first bytes of a hash of the derived key) says which key sealed it, so after a
// rotation values sealed with the previous key still open, and are re-sealed at start.

const PREFIX = 'enc:v1:';

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
    return `${PREFIX}${this.current.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Opens a sealed value. A value stored before encryption existed is returned as it is. */
  open(stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const hit = this.opened.get(stored);
    if (hit !== undefined) return hit;
    const [kid, data] = stored.slice(PREFIX.length).split(':');
    const key = this.keys.get(kid);
    if (!key) throw new SecretKeyError(`a stored secret was sealed with key ${kid}, which is neither HERALD_SECRET_KEY nor in HERALD_SECRET_KEY_PREVIOUS`);
    const raw = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    if (this.opened.size > 10_000) this.opened.clear();
    this.opened.set(stored, plain);
    return plain;
  }

  /** True when the value is not sealed with the current key (plain, or an older key). */
  isStale(stored: string): boolean {
    return !stored.startsWith(`${PREFIX}${this.current.id}:`);
  }
}

/**
 * The key to use: HERALD_SECRET_KEY; or, on the embedded database only, a key generated on first
 * start and kept in the data directory, readable by its owner only. Postgres serves many nodes, so
 * they must share a key given to them: Herald refuses to start without one and says how to set it.
 */
export function resolveSecretKey(opts: { secretKey?: string; dataDir: string; usesPostgres: boolean }): string {
  if (opts.secretKey) return opts.secretKey;
  if (opts.usesPostgres) {
    throw new SecretKeyError(
      'HERALD_SECRET_KEY is not set. With Postgres every node must share one key for the secrets it stores: ' +
        'set HERALD_SECRET_KEY to a random string of 32 characters or more, e.g. `export HERALD_SECRET_KEY=$(openssl rand -base64 48)`, and keep it safe.',
    );
  }
  const file = path.join(opts.dataDir, 'secret.key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const key = randomBytes(48).toString('base64url');
  try {
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (the CLI, a second node) created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
  return key;
}
