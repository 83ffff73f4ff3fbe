import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { heraldEnv, runCli } from './helpers/process.js';

// Secrets revealed or rotated and keys made or revoked over REST or the CLI land in the audit log,
// as the key (or 'cli') that did it, and the log never holds a secret.
for (const dialect of DIALECTS) {
  describe(`the audit log of REST and CLI changes (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald(dialect);
    });
    after(() => h.close());

    it('records reveals, rotations and key changes by the key that made them, without a secret', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Acme', uid: 'acme' });
      const ep = (await h.api('POST', '/v1/tenants/acme/endpoints', { url: 'http://127.0.0.1:9/x' })).body;
      const src = (await h.api('POST', '/v1/tenants/acme/sources', { provider: 'token', name: 'in', secret: 'source-secret-0123456789' }))
        .body;
      const shown = [ep.secret, 'source-secret-0123456789'];
      shown.push((await h.api('GET', `/v1/tenants/acme/endpoints/${ep.id}/secret`)).body.secret);
      shown.push((await h.api('POST', `/v1/tenants/acme/endpoints/${ep.id}/rotate-secret`)).body.secret);
      assert.equal((await h.api('GET', `/v1/tenants/acme/sources/${src.id}/secret`)).status, 200);
      shown.push((await h.api('POST', '/v1/tenants/acme/rotate-token', {})).body.token);
      const key = (await h.api('POST', '/v1/keys', { kind: 'secret', name: 'audited' })).body;
      shown.push(key.key);
      assert.equal((await h.api('DELETE', `/v1/keys/${key.id}`)).status, 204);
      const cli = await runCli(['keys', 'create', '--env', 'sandbox', '--json'], heraldEnv(h.database));
      assert.equal(cli.code, 0, cli.stderr);
      shown.push(JSON.parse(cli.stdout).key);

      const me = (await h.api('GET', '/v1/keys')).body.data.find(
        (k: { name: string | null; environment: string }) => k.name === 'operator (first start)' && k.environment === 'sandbox',
      );
      const rows = await h.herald.db.all<{ actor: string; action: string; target: string; address: string | null; details: string }>(
        'SELECT actor, action, target, address, details FROM audit_log ORDER BY id',
      );
      const by = (action: string) => rows.filter((r) => r.action === action);
      assert.deepEqual(
        by('endpoint.secret_revealed').map((r) => [r.actor, r.target]),
        [[me.id, ep.id]],
      );
      assert.deepEqual(
        by('endpoint.secret_rotated').map((r) => [r.actor, r.target]),
        [[me.id, ep.id]],
      );
      assert.deepEqual(
        by('source.secret_revealed').map((r) => [r.actor, r.target]),
        [[me.id, src.id]],
      );
      assert.equal(by('tenant.token_rotated').length, 1);
      assert.deepEqual(
        by('key.created').map((r) => r.actor),
        [me.id, 'cli'],
      );
      assert.deepEqual(
        by('key.revoked').map((r) => [r.actor, r.target]),
        [[me.id, key.id]],
      );
      assert.ok(by('key.revoked')[0].address, 'the address of a REST call is kept');
      const all = JSON.stringify(rows);
      for (const s of shown) assert.ok(!all.includes(s), 'the audit log holds no secret');
    });
  });
}
