import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { heraldEnv, runCli } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`API keys (${dialect})`, () => {
    let h: TestHerald;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      h = await startHerald(dialect);
      // The CLI runs as a real process on the same database as the running server.
      env = heraldEnv(h.database);
      await h.api('POST', '/v1/tenants', { name: 'Acme', uid: 'acme' });
    });
    after(async () => h.close());

    const cli = async (...args: string[]) => runCli(args, env);

    it('creates, lists and revokes keys from the CLI while the server runs', async () => {
      const made = await cli('keys', 'create', '--env', 'sandbox', '--name', 'ci', '--json');
      assert.equal(made.code, 0, made.stderr);
      const { id, key } = JSON.parse(made.stdout);
      assert.match(id, /^key_/);
      assert.match(key, /^sk_test_/);
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key })).status, 200);

      const scoped = JSON.parse((await cli('keys', 'create', '--env', 'sandbox', '--tenant', 'acme', '--json')).stdout);
      const later = JSON.parse((await cli('keys', 'create', '--env', 'sandbox', '--expires-in', '3600', '--json')).stdout);
      const pub = await cli(
        'keys',
        'create',
        '--env',
        'sandbox',
        '--kind',
        'public',
        '--allowed-origin',
        'https://app.example.com',
        '--allowed-origin',
        'http://localhost:3000',
        '--json',
      );
      assert.equal(pub.code, 0, pub.stderr);
      const publicKey = JSON.parse(pub.stdout);
      assert.match(publicKey.key, /^pk_test_/);

      const listed = await cli('keys', 'list', '--env', 'sandbox', '--json');
      assert.equal(listed.code, 0, listed.stderr);
      for (const secret of [key, scoped.key, later.key, publicKey.key, h.sandboxKey])
        assert.ok(!listed.stdout.includes(secret), 'a list never shows a key');
      const keys = JSON.parse(listed.stdout) as any[];
      const byId = new Map(keys.map((k) => [k.id, k]));
      const mine = byId.get(id);
      assert.equal(mine.kind, 'secret');
      assert.equal(mine.environment, 'sandbox');
      assert.equal(mine.name, 'ci');
      assert.ok(key.startsWith(mine.prefix) && mine.prefix.length < key.length);
      assert.equal(mine.tenant, null);
      assert.ok(mine.lastUsedAt, 'the key was used once: last used is recorded');
      assert.equal(mine.revokedAt, null);
      assert.equal(mine.expiresAt, null);
      assert.equal(byId.get(scoped.id).tenantUid, 'acme');
      assert.equal(byId.get(scoped.id).lastUsedAt, null, 'never used');
      const l = byId.get(later.id);
      assert.equal(Date.parse(l.expiresAt) - Date.parse(l.createdAt), 3600_000);
      assert.deepEqual(byId.get(publicKey.id).allowedOrigins, ['https://app.example.com', 'http://localhost:3000']);
      assert.equal(byId.get(publicKey.id).kind, 'public');
      assert.ok(
        keys.every((k) => k.environment === 'sandbox'),
        '--env filters',
      );
      const everything = JSON.parse((await cli('keys', 'list', '--json')).stdout) as any[];
      assert.ok(
        everything.some((k) => k.environment === 'production'),
        'without --env: both environments',
      );
      const table = await cli('keys', 'list');
      assert.match(table.stdout, new RegExp(id));
      assert.ok(!table.stdout.includes(key));

      const revoked = await cli('keys', 'revoke', id);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`revoked ${id}`));
      // The server caches keys for up to 5 s; the CLI is another process, so it sees this within that.
      await eventually(
        async () => (await h.api('GET', '/v1/tenants', undefined, { key })).status === 401,
        10_000,
        'the revoked key to answer 401',
      );
      const after = JSON.parse((await cli('keys', 'list', '--env', 'sandbox', '--json')).stdout) as any[];
      assert.ok(after.find((k) => k.id === id).revokedAt);
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key: later.key })).status, 200, 'other keys are untouched');

      const missing = await cli('keys', 'revoke', 'key_doesnotexist');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /key "key_doesnotexist" was not found/);
    });

    it('expires a key made with --expires-in: it answers 401 once the time has passed', async () => {
      const made = await cli('keys', 'create', '--env', 'sandbox', '--expires-in', '1', '--json');
      assert.equal(made.code, 0, made.stderr);
      const { id, key } = JSON.parse(made.stdout);
      const r = await eventually(
        async () => {
          const res = await h.api('GET', '/v1/tenants', undefined, { key });
          return res.status === 401 && res;
        },
        10_000,
        'the expired key to answer 401',
      );
      assert.match(r.body.error.message, /revoked or expired/);
      const k = (JSON.parse((await cli('keys', 'list', '--env', 'sandbox', '--json')).stdout) as any[]).find((x) => x.id === id);
      assert.equal(Date.parse(k.expiresAt) - Date.parse(k.createdAt), 1000);
      assert.equal(k.revokedAt, null, 'expired, not revoked');
    });

    it('refuses bad CLI input with a message that says what to fix', async () => {
      const cases: [string[], RegExp][] = [
        [['keys', 'create', '--env', 'staging'], /--env must be sandbox or production/],
        [['keys', 'create', '--env', 'sandbox', '--expires-in=-5'], /--expires-in must be a positive whole number of seconds/],
        [['keys', 'create', '--env', 'sandbox', '--expires-in', '0'], /--expires-in must be a positive whole number/],
        [['keys', 'create', '--env', 'sandbox', '--expires-in', '1h'], /--expires-in must be a positive whole number/],
        [['keys', 'create', '--env', 'sandbox', '--kind', 'client'], /unknown key kind "client"/],
        [['keys', 'create', '--env', 'sandbox', '--kind', 'public'], /a public key needs at least one allowed origin/],
        [
          ['keys', 'create', '--env', 'sandbox', '--kind', 'public', '--allowed-origin', 'https://app.example.com/portal'],
          /is not an origin.*scheme:\/\/host\[:port\]/,
        ],
        [
          ['keys', 'create', '--env', 'sandbox', '--kind', 'public', '--allowed-origin', 'ftp://files.example.com'],
          /must be http:\/\/ or https:\/\//,
        ],
        [
          ['keys', 'create', '--env', 'sandbox', '--allowed-origin', 'https://app.example.com'],
          /allowed origins apply to public keys only/,
        ],
        [['keys', 'create', '--env', 'sandbox', '--tenant', 'nobody'], /tenant "nobody" was not found/],
        [['keys', 'list', '--env', 'staging'], /unknown environment "staging"/],
        [['keys', 'revoke'], /keys revoke takes one key id/],
      ];
      for (const [args, message] of cases) {
        const r = await cli(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
    });

    it('manages keys over REST with an operator key', async () => {
      const made = await h.api('POST', '/v1/keys', { name: 'deploy bot' });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.match(made.body.key, /^sk_test_/);
      assert.match(made.body.id, /^key_/);
      assert.equal(made.body.kind, 'secret');
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key: made.body.key })).status, 200);

      const scoped = await h.api('POST', '/v1/keys', { tenant: 'acme', expiresInSeconds: 600 });
      assert.equal(scoped.status, 201);
      assert.equal(scoped.body.tenantUid, 'acme');
      assert.equal(Date.parse(scoped.body.expiresAt) - Date.parse(scoped.body.createdAt), 600_000);
      const pub = await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: ['https://shop.example.com'] });
      assert.equal(pub.status, 201);
      assert.match(pub.body.key, /^pk_test_/);

      const list = await h.api('GET', '/v1/keys?limit=250');
      assert.equal(list.status, 200);
      const text = JSON.stringify(list.body);
      for (const k of [made.body.key, scoped.body.key, pub.body.key, h.sandboxKey])
        assert.ok(!text.includes(k), 'a list never shows a key');
      assert.ok(!text.includes('key_hash') && !/[0-9a-f]{64}/.test(text), 'nor its hash');
      const ids = list.body.data.map((k: any) => k.id);
      for (const id of [made.body.id, scoped.body.id, pub.body.id]) assert.ok(ids.includes(id));
      assert.ok(
        list.body.data.every((k: any) => k.environment === 'sandbox'),
        'a sandbox key lists sandbox keys',
      );
      assert.ok(list.body.data.find((k: any) => k.id === made.body.id).lastUsedAt, 'used once: last used is recorded');
      const page1 = await h.api('GET', '/v1/keys?limit=1');
      assert.equal(page1.body.data.length, 1);
      assert.ok(page1.body.nextCursor);
      assert.notEqual((await h.api('GET', `/v1/keys?limit=1&cursor=${page1.body.nextCursor}`)).body.data[0].id, page1.body.data[0].id);

      const del = await h.api('DELETE', `/v1/keys/${made.body.id}`);
      assert.equal(del.status, 204);
      const refused = await h.api('GET', '/v1/tenants', undefined, { key: made.body.key });
      assert.equal(refused.status, 401, 'revoked: 401 at once on the node that revoked it');
      assert.match(refused.body.error.message, /revoked/);
      assert.ok((await h.api('GET', '/v1/keys?limit=250')).body.data.find((k: any) => k.id === made.body.id).revokedAt);
      assert.equal((await h.api('DELETE', `/v1/keys/${made.body.id}`)).status, 204, 'revoking twice is harmless');
      assert.equal((await h.api('DELETE', '/v1/keys/key_nope')).status, 404);
      const prodKeyId = (await h.api('GET', '/v1/keys', undefined, { key: h.productionKey })).body.data[0].id;
      assert.equal((await h.api('DELETE', `/v1/keys/${prodKeyId}`)).status, 404, 'a sandbox key cannot see production keys');
    });

    it('lets only operator secret keys manage keys, and validates what they ask for', async () => {
      const scoped = (await h.api('POST', '/v1/keys', { tenant: 'acme' })).body.key;
      for (const [method, path, body] of [
        ['GET', '/v1/keys'],
        ['POST', '/v1/keys', {}],
        ['DELETE', '/v1/keys/key_x'],
      ] as const) {
        const r = await h.api(method, path, body, { key: scoped });
        assert.equal(r.status, 403, `${method} ${path} with a tenant key`);
        assert.match(r.body.error.message, /operator key/);
      }
      const pub = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: ['https://shop.example.com'] })).body.key;
      const withPublic = await h.api('GET', '/v1/tenants', undefined, { key: pub });
      assert.equal(withPublic.status, 403, 'a public key alone reads nothing');
      assert.match(withPublic.body.error.message, /public key.*cannot call the API/);
      assert.equal((await h.api('GET', '/v1/event-types', undefined, { key: pub })).status, 403);

      const bad: [unknown, number, RegExp][] = [
        [{ environment: 'staging' }, 400, /unknown environment "staging"/],
        [{ environment: 'production' }, 403, /sandbox key: it manages sandbox keys only/],
        [{ kind: 'client' }, 400, /unknown key kind/],
        [{ kind: 'public' }, 400, /at least one allowed origin/],
        [{ kind: 'public', allowedOrigins: ['not a url'] }, 400, /"not a url" is not an origin/],
        [{ kind: 'public', allowedOrigins: ['https://App.Example.com/'] }, 400, /here: "https:\/\/app.example.com"/],
        [{ kind: 'public', allowedOrigins: ['https://*.example.com'] }, 400, /wildcard/],
        [{ allowedOrigins: ['https://a.example.com'] }, 400, /public keys only/],
        [{ expiresInSeconds: -60 }, 400, /whole number of seconds/],
        [{ expiresInSeconds: 1.5 }, 400, /whole number of seconds/],
        [{ expiresInSeconds: '60' }, 400, /expiresInSeconds/],
        [{ tenant: 'nobody' }, 404, /tenant "nobody" was not found/],
        [{ surprise: 1 }, 400, /unknown field "surprise"/],
      ];
      for (const [body, status, message] of bad) {
        const r = await h.api('POST', '/v1/keys', body);
        assert.equal(r.status, status, JSON.stringify(body));
        assert.match(r.body.error.message + JSON.stringify(r.body.error.details ?? ''), message, JSON.stringify(body));
      }
      assert.equal((await h.api('GET', '/v1/keys?environment=staging')).status, 400);
      assert.equal((await h.api('GET', '/v1/keys?environment=sandbox')).status, 200);
    });

    it('expires a key made over REST: it answers 401 after expiresInSeconds', async () => {
      const { key } = (await h.api('POST', '/v1/keys', { expiresInSeconds: 1 })).body;
      await eventually(
        async () => (await h.api('GET', '/v1/tenants', undefined, { key })).status === 401,
        10_000,
        'the expired key to answer 401',
      );
    });

    it('lets an operator key revoke itself: the next call with it answers 401', async () => {
      const { id, key } = (await h.api('POST', '/v1/keys', {})).body;
      assert.equal((await h.api('DELETE', `/v1/keys/${id}`, undefined, { key })).status, 204);
      assert.equal((await h.api('GET', '/v1/keys', undefined, { key })).status, 401);
    });
  });

  describe(`tenant token rotation (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await rx.stop();
      await h.close();
    });

    const tokenOf = async (n: number) => {
      const ev = (await h.api('POST', '/v1/tenants/rot/events', { type: 'thing.happened', payload: { n } })).body;
      await rx.waitFor((r) => r.some((x) => x.headers['webhook-id'] === ev.id), 10_000, `event ${n}`);
      return rx.received.find((x) => x.headers['webhook-id'] === ev.id)!.headers['x-herald-webhook-token'];
    };

    it('replaces the token that endpoints receive in the token header', async () => {
      const tenant = (await h.api('POST', '/v1/tenants', { name: 'Rot', uid: 'rot' })).body;
      await h.api('POST', '/v1/tenants/rot/endpoints', { url: `${rx.url}/rot` });
      assert.equal(await tokenOf(1), tenant.token);

      const rotated = await h.api('POST', '/v1/tenants/rot/rotate-token');
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.match(rotated.body.token, /^whtok_/);
      assert.notEqual(rotated.body.token, tenant.token);
      assert.equal(await tokenOf(2), rotated.body.token, 'the new token, at once: no overlap');
      assert.equal((await h.api('GET', '/v1/tenants/rot')).body.token, rotated.body.token);
      const stored = JSON.stringify(await h.herald.db.all('SELECT token FROM tenants'));
      assert.ok(!stored.includes(rotated.body.token), 'sealed at rest');

      // A token the operator chose, so that the receiver could accept it before the switch.
      const chosen = 'my-own-token-0123456789abcdef';
      assert.equal((await h.api('POST', '/v1/tenants/rot/rotate-token', { token: chosen })).body.token, chosen);
      assert.equal(await tokenOf(3), chosen);
      assert.equal((await h.api('POST', '/v1/tenants/rot/rotate-token', { token: chosen })).status, 400, 'the same token again');
      assert.equal((await h.api('POST', '/v1/tenants/rot/rotate-token', { token: 'short' })).status, 400);
      assert.equal((await h.api('POST', '/v1/tenants/rot/rotate-token', { token: 'has spaces in it 0123456789' })).status, 400);
      assert.equal((await h.api('POST', '/v1/tenants/nobody/rotate-token')).status, 404);

      await h.api('POST', '/v1/tenants', { name: 'Other', uid: 'other' });
      const otherKey = (await h.api('POST', '/v1/keys', { tenant: 'other' })).body.key;
      assert.equal((await h.api('POST', '/v1/tenants/rot/rotate-token', undefined, { key: otherKey })).status, 403);
      const rotKey = (await h.api('POST', '/v1/keys', { tenant: 'rot' })).body.key;
      assert.equal(
        (await h.api('POST', '/v1/tenants/rot/rotate-token', undefined, { key: rotKey })).status,
        200,
        'a tenant rotates its own token',
      );
    });
  });
}
