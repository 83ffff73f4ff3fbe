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
        const rows = JSON.stringify([...(await h.herald.db.all('SELECT * FROM tenants')), ...(await h.herald.db.all('SELECT * FROM endpoints'))]);
        for (const plain of [t.token, ep.secret, rotated]) assert.ok(!rows.includes(plain), `${plain.slice(0, 8)}… is not stored in the clear`);
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
        loadConfig({ HERALD_DATA_DIR: database.dataDir, HERALD_ROLES: 'api', ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}), ...extra });
      const first = await createHerald(env({ HERALD_SECRET_KEY: KEY_A }), log, { listen: false });
      const key = first.firstStartKeys[0].key;
      const call = async (herald: typeof first, method: string, url: string, payload?: unknown) =>
        (await herald.app!.inject({ method: method as 'GET', url, payload: payload as object, headers: { authorization: `Bearer ${key}` } })).json();
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
