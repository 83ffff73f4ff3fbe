import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createHerald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { freshDatabase, TEST_SECRET_KEY } from './helpers/db.js';
import { freePort, heraldEnv, runCli, spawnHerald } from './helpers/process.js';

// Start-up failures the operator can fix are one line that names the setting, with a non-zero
// exit and no stack trace.
function assertOneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at |Error:/, 'no stack trace');
  return lines[0];
}

describe('start-up failures', () => {
  it('a port in use: one line naming HERALD_PORT, before any key is made', async () => {
    const database = await freshDatabase('sqlite');
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    const env = heraldEnv(database, { HERALD_PORT: String(port), HERALD_HOST: '127.0.0.1' });
    try {
      const r = await runCli(['start'], env);
      assert.notEqual(r.code, 0);
      const line = assertOneLine(r.stderr);
      assert.match(line, new RegExp(`port ${port} is already in use.*HERALD_PORT`));
      assert.ok(!fs.existsSync(path.join(database.dataDir, 'herald.db')), 'the database was not touched');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // So the first start, once there is a free port, still shows the keys.
    const h = await spawnHerald({ ...env, HERALD_PORT: '0' });
    assert.match(h.stdout(), /sandbox\s+sk_test_/);
    h.proc.kill('SIGTERM');
    await h.exited;
    await database.drop();
  });

  it("a CLI command run before the first start prints the environments' keys it made, so none is lost", async () => {
    const database = await freshDatabase('sqlite');
    const env = heraldEnv(database, {});
    try {
      const r = await runCli(['keys', 'create', '--env', 'sandbox', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.parse(r.stdout).key, /^sk_test_/);
      assert.match(r.stderr, /First start: environments created/);
      assert.match(r.stderr, /sandbox\s+sk_test_/);
      assert.match(r.stderr, /production\s+sk_live_/);
      const again = await runCli(['keys', 'create', '--env', 'sandbox', '--json'], env);
      assert.doesNotMatch(again.stderr, /First start/, 'shown once');
    } finally {
      await database.drop();
    }
  });

  it('a Postgres database that does not exist: one line saying how to create it', async () => {
    const database = await freshDatabase('sqlite');
    const u = new URL(process.env.DATABASE_URL!);
    const name = `herald_missing_${process.pid}`;
    u.pathname = `/${name}`;
    const env = {
      ...heraldEnv(database, { HERALD_SECRET_KEY: TEST_SECRET_KEY, HERALD_PORT: '0' }),
      DATABASE_URL: u.toString(),
    };
    try {
      for (const args of [['start'], ['migrate'], ['keys', 'create', '--env', 'sandbox']]) {
        const r = await runCli(args, env);
        assert.notEqual(r.code, 0, args.join(' '));
        const line = assertOneLine(r.stderr);
        assert.match(line, new RegExp(`the Postgres database "${name}" does not exist`));
        assert.match(line, new RegExp(`createdb .*${name}`));
        assert.match(line, new RegExp(`CREATE DATABASE "${name}"`));
      }
    } finally {
      await database.drop();
    }
  });

  it('a secret key that does not open the stored secrets, or a lost secret.key: one line saying what to do', async () => {
    const database = await freshDatabase('sqlite');
    try {
      // A first start seals secrets (the operator tenant's token) with the generated secret.key.
      const h = await createHerald(loadConfig({ HERALD_DATA_DIR: database.dataDir, HERALD_ROLES: 'api' }), createLogger('silent'), {
        listen: false,
      });
      await h.stop();
      const env = heraldEnv(database, { HERALD_PORT: '0' });

      const wrong = await runCli(['start'], { ...env, HERALD_SECRET_KEY: 'another-key-0123456789abcdefghijklmnopqrstuvwxyz' });
      assert.notEqual(wrong.code, 0);
      assert.match(
        assertOneLine(wrong.stderr),
        /HERALD_SECRET_KEY \(key id "\w+"\) does not open the secrets stored in this database.*Start Herald with the HERALD_SECRET_KEY this database was set up with/,
      );

      const file = path.join(database.dataDir, 'secret.key');
      fs.rmSync(file);
      const lost = await runCli(['start'], env);
      assert.notEqual(lost.code, 0);
      assert.ok(assertOneLine(lost.stderr).includes(`the secret key file ${file} is missing`), lost.stderr);
      assert.ok(!fs.existsSync(file));
    } finally {
      await database.drop();
    }
  });
});
