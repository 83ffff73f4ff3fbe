import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createHerald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { SecretBox, SecretKeyError } from '../src/secrets/secretBox.js';
import { DIALECTS, freshDatabase, TEST_SECRET_KEY } from './helpers/db.js';
import { startHerald } from './helpers/herald.js';

const KEY_A = 'key-a-0123456789abcdefghijklmnopqrstuvwxyz';
const KEY_B = 'key-b-0123456789abcdefghijklmnopqrstuvwxyz';

describe('SecretBox', () => {
  it('seals with authenticated encryption and opens what it sealed', () => {
    const box = new SecretBox(KEY_A);
    const sealed = box.seal('whsec_abc');
    assert.match(sealed, /^enc:v1:[0-9a-f]{8}:/);
    assert.notEqual(box.seal('whsec_abc'), sealed, 'a fresh IV every time');
    assert.equal(new SecretBox(KEY_A).open(sealed), 'whsec_abc');
    const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.throws(() => new SecretBox(KEY_A).open(tampered));
    assert.throws(() => new SecretBox(KEY_B).open(sealed), SecretKeyError);
    assert.equal(new SecretBox(KEY_B, [KEY_A]).open(sealed), 'whsec_abc', 'a previous key still opens');
    assert.throws(() => new SecretBox('short'), /at least 32 characters/);
  });
});

for (const dialect of DIALECTS) {
  describe(`secrets at rest (${dialect})`, () => {
    it('stores endpoint secrets and tenant tokens sealed, never in the clear', async () => {
      const h = await startHerald(dialect);
      try {
        const t = (await h.api('POST', '/v1/tenants', { name: 's', uid: 's' })).body;
        const ep = (await h.api('POST', '/v1/tenants/s/endpoints', { url: 'http://127.0.0.1:9/x' })).body;
        const rotated = (await h.api('POST', `/v1/tenants/s/endpoints/${ep.id}/rotate-secret`)).body.secret;
        const rows = JSON.stringify([
          ...(await h.herald.db.all('SELECT * FROM tenants')),
          ...(await h.herald.db.all('SELECT * FROM endpoints')),
        ]);
        for (const plain of [t.token, ep.secret, rotated])
          assert.ok(!rows.includes(plain), `${plain.slice(0, 8)}… is not stored in the clear`);
        assert.match(rows, /enc:v1:/);
        // Reads give back the real values.
        assert.equal((await h.api('GET', `/v1/tenants/s/endpoints/${ep.id}/secret`)).body.secret, rotated);
        assert.equal((await h.api('GET', '/v1/tenants/s')).body.token, t.token);
        if (dialect === 'sqlite') {
          const file = path.join(h.database.dataDir, 'secret.key');
          assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the generated key is readable by its owner only');
        }
      } finally {
        await h.close();
      }
    });

    it('re-seals everything when HERALD_SECRET_KEY is rotated', async () => {
      const database = await freshDatabase(dialect);
      const log = createLogger('silent');
      const env = (extra: Record<string, string>) =>
        loadConfig({
          HERALD_DATA_DIR: database.dataDir,
          HERALD_ROLES: 'api',
          ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
          ...extra,
        });
      const first = await createHerald(env({ HERALD_SECRET_KEY: KEY_A }), log, { listen: false });
      const key = first.firstStartKeys[0].key;
      const call = async (herald: typeof first, method: string, url: string, payload?: unknown) =>
        (
          await herald.app!.inject({
            method: method as 'GET',
            url,
            payload: payload as object,
            headers: { authorization: `Bearer ${key}` },
          })
        ).json();
      await call(first, 'POST', '/v1/tenants', { name: 'r', uid: 'r' });
      const ep = await call(first, 'POST', '/v1/tenants/r/endpoints', { url: 'http://127.0.0.1:9/x' });
      await first.stop();

      const second = await createHerald(env({ HERALD_SECRET_KEY: KEY_B, HERALD_SECRET_KEY_PREVIOUS: KEY_A }), log, { listen: false });
      assert.equal((await call(second, 'GET', `/v1/tenants/r/endpoints/${ep.id}/secret`)).secret, ep.secret);
      await second.stop();

      // Everything is now sealed with B alone: A can go.
      const third = await createHerald(env({ HERALD_SECRET_KEY: KEY_B }), log, { listen: false });
      assert.equal((await call(third, 'GET', `/v1/tenants/r/endpoints/${ep.id}/secret`)).secret, ep.secret);
      await third.stop();
      await database.drop();
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`a key that does not open the stored secrets (${dialect})`, () => {
    it('refuses to start and says which key to use, instead of failing webhook by webhook', async () => {
      const database = await freshDatabase(dialect);
      const log = createLogger('silent');
      const env = (extra: Record<string, string>) =>
        loadConfig({
          HERALD_DATA_DIR: database.dataDir,
          HERALD_ROLES: 'api',
          ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
          ...extra,
        });
      try {
        // What the README's one-liner did: a new random HERALD_SECRET_KEY on every start.
        const first = await createHerald(env({ HERALD_SECRET_KEY: KEY_A }), log, { listen: false });
        await first.app!.inject({
          method: 'POST',
          url: '/v1/tenants',
          payload: { name: 'k', uid: 'k' },
          headers: { authorization: `Bearer ${first.firstStartKeys[0].key}` },
        });
        await first.stop();
        const refused = await createHerald(env({ HERALD_SECRET_KEY: KEY_B }), log, { listen: false }).then(
          (h) => h.stop().then(() => assert.fail('started with a key that does not open the stored secrets')),
          (err: Error) => err,
        );
        assert.ok(refused instanceof SecretKeyError, String(refused));
        assert.match(refused.message, /HERALD_SECRET_KEY \(key id "[0-9a-f]{8}"\) does not open the secrets stored in this database/);
        assert.match(refused.message, /Start Herald with the HERALD_SECRET_KEY this database was set up with/);
        assert.match(refused.message, /HERALD_SECRET_KEY_PREVIOUS/);
        assert.match(refused.message, /openssl rand -base64 48 > herald-secret.key/, 'says how to make a key once and keep it');
        // With the right key it starts again, nothing lost.
        const again = await createHerald(env({ HERALD_SECRET_KEY: KEY_A }), log, { listen: false });
        await again.stop();
      } finally {
        await database.drop();
      }
    });
  });
}

describe('a lost secret.key (sqlite)', () => {
  it('is never replaced by a new key over sealed data: Herald says the file is missing and where it was', async () => {
    const database = await freshDatabase('sqlite');
    const log = createLogger('silent');
    const config = loadConfig({ HERALD_DATA_DIR: database.dataDir, HERALD_ROLES: 'api' });
    const file = path.join(database.dataDir, 'secret.key');
    try {
      const first = await createHerald(config, log, { listen: false });
      const auth = { authorization: `Bearer ${first.firstStartKeys[0].key}` };
      const token = (
        await first.app!.inject({ method: 'POST', url: '/v1/tenants', payload: { name: 'l', uid: 'l' }, headers: auth })
      ).json().token;
      await first.stop();
      const kept = fs.readFileSync(file, 'utf8');
      fs.rmSync(file);

      const err = await createHerald(config, log, { listen: false }).then(
        (h) => h.stop().then(() => assert.fail('started over sealed secrets with a new key')),
        (e: Error) => e,
      );
      assert.ok(err instanceof SecretKeyError, String(err));
      assert.ok(err.message.includes(`the secret key file ${file} is missing`), err.message);
      assert.match(err.message, /Restore the file from your backup.*or set HERALD_SECRET_KEY to the key it held/);
      assert.doesNotMatch(err.message, /neither HERALD_SECRET_KEY/, 'does not blame a variable the user never set');
      assert.ok(!fs.existsSync(file), 'no new key was written over the sealed data');

      // Restored from the backup: it starts, and the secrets open.
      fs.writeFileSync(file, kept, { mode: 0o600 });
      const restored = await createHerald(config, log, { listen: false });
      assert.equal((await restored.app!.inject({ method: 'GET', url: '/v1/tenants/l', headers: auth })).json().token, token);
      await restored.stop();

      // A replaced key file is named as such.
      fs.writeFileSync(file, KEY_B + '\n', { mode: 0o600 });
      const replaced = await createHerald(config, log, { listen: false }).then(
        (h) => h.stop().then(() => assert.fail('started with a key file that does not open the secrets')),
        (e: Error) => e,
      );
      assert.ok(replaced.message.includes(`the key in ${file} (key id`), replaced.message);
      assert.match(replaced.message, /Put back the secret.key file this database was set up with/);
    } finally {
      await database.drop();
    }
  });

  it('generates the key on a database that holds no sealed secret yet', async () => {
    const database = await freshDatabase('sqlite');
    try {
      const config = loadConfig({ HERALD_DATA_DIR: database.dataDir, HERALD_ROLES: 'api' });
      const h = await createHerald(config, createLogger('silent'), { listen: false });
      await h.stop();
      assert.ok(fs.existsSync(path.join(database.dataDir, 'secret.key')));
    } finally {
      await database.drop();
    }
  });
});

describe('secret key configuration', () => {
  it('refuses to start on Postgres without HERALD_SECRET_KEY, and says how to set it', async () => {
    const database = await freshDatabase('postgres');
    try {
      const config = loadConfig({ DATABASE_URL: database.databaseUrl, HERALD_DATA_DIR: database.dataDir, HERALD_ROLES: 'api' });
      await assert.rejects(createHerald(config, createLogger('silent'), { listen: false }), /HERALD_SECRET_KEY is not set.*openssl rand/s);
    } finally {
      await database.drop();
    }
  });

  it('refuses a key shorter than 32 characters', () => {
    assert.throws(() => loadConfig({ HERALD_SECRET_KEY: 'too-short' }), /at least 32 characters/);
    assert.ok(loadConfig({ HERALD_SECRET_KEY: TEST_SECRET_KEY }).secretKey);
  });
});
