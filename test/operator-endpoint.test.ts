import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createHerald, type Herald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { DIALECTS, freshDatabase, TEST_SECRET_KEY, type TestDatabase } from './helpers/db.js';
import { eventually } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// The endpoint of HERALD_OPERATOR_WEBHOOK_URL lives in the database and is set up at every start:
// restarts with the same configuration must leave it as it is, and never touch endpoints the
// operator added under the operator tenant with the API.

interface Node {
  herald: Herald;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

for (const dialect of DIALECTS) {
  describe(`the operator's endpoint across restarts (${dialect})`, () => {
    let database: TestDatabase;
    let rx: Receiver;
    let key = '';
    let node: Node | null = null;

    /** Starts Herald on the same database with this HERALD_OPERATOR_WEBHOOK_URL (or none). */
    async function start(operatorUrl?: string): Promise<Node> {
      const config = loadConfig({
        HERALD_PORT: '0',
        HERALD_HOST: '127.0.0.1',
        HERALD_DATA_DIR: database.dataDir,
        HERALD_LOG_LEVEL: 'silent',
        HERALD_POLL_INTERVAL_MS: '100',
        HERALD_SQLITE_SYNC: 'normal',
        ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl, HERALD_SECRET_KEY: TEST_SECRET_KEY } : {}),
        ...(operatorUrl ? { HERALD_OPERATOR_WEBHOOK_URL: operatorUrl } : {}),
      });
      const herald = await createHerald(config, createLogger('silent'), { db: database.open() });
      key ||= herald.firstStartKeys.find((k) => k.environment === 'sandbox')!.key;
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`http://127.0.0.1:${herald.port}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      };
      node = { herald, api };
      return node;
    }
    async function stop(): Promise<void> {
      await node?.herald.stop();
      await node?.herald.db.close();
      node = null;
    }
    const rows = async (n: Node) =>
      n.herald.db.all<{ id: string; url: string; enabled: number; private_allowed: number; operator_config: number }>(
        `SELECT e.* FROM endpoints e JOIN tenants t ON t.id = e.tenant_id
          WHERE t.uid = '_operator' AND t.environment_id = 'sandbox' ORDER BY e.id`,
      );
    /** An operational event to the operator tenant's endpoints: a test event through the API. */
    const ping = async (n: Node, endpointId: string) => {
      const r = await n.api('POST', `/v1/tenants/_operator/endpoints/${endpointId}/test`, {});
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.eventId as string;
    };

    before(async () => {
      database = await freshDatabase(dialect);
      rx = await new Receiver().start();
    });
    after(async () => {
      await stop();
      await rx.stop();
      await database.drop();
    });

    it('never rewrites an endpoint the operator added under its tenant with the API', async () => {
      // No operator URL configured: the operator adds an endpoint of its own.
      let n = await start();
      const own = (await n.api('POST', '/v1/tenants/_operator/endpoints', { url: `${rx.url}/own` })).body;
      assert.ok(own.id, JSON.stringify(own));
      await stop();
      // Restarting without the variable, then with it, leaves that endpoint alone.
      n = await start();
      assert.deepEqual(
        (await rows(n)).map((r) => [r.id, r.url, r.enabled]),
        [[own.id, `${rx.url}/own`, 1]],
      );
      await stop();
      n = await start(`${rx.url}/ops`);
      const [first, configured] = await rows(n);
      assert.deepEqual([first.id, first.url, first.enabled, first.operator_config], [own.id, `${rx.url}/own`, 1, 0]);
      assert.deepEqual([configured.url, configured.enabled, configured.operator_config], [`${rx.url}/ops`, 1, 1]);
      await ping(n, own.id);
      await rx.waitFor((r) => r.some((x) => x.path === '/own'), 5000, 'a delivery to the API-made endpoint');
      await stop();
    });

    it('keeps the configured endpoint intact across a restart with the same URL, and it delivers', async () => {
      let n = await start(`${rx.url}/ops`);
      const before = (await rows(n)).find((r) => r.operator_config === 1)!;
      // A literal loopback address in the configuration means this machine: allowed.
      assert.equal(before.private_allowed, 1);
      await stop();
      n = await start(`${rx.url}/ops`);
      const afterRestart = (await rows(n)).find((r) => r.operator_config === 1)!;
      assert.deepEqual(afterRestart, before, 'the same row, unchanged');
      const sent = await ping(n, afterRestart.id);
      await rx.waitFor((r) => r.some((x) => x.path === '/ops' && JSON.parse(x.body).id === sent), 5000, 'the operational delivery');
      // Unset, it stops (its URL stays, to come back with the variable); set again, it delivers.
      await stop();
      n = await start();
      const off = (await rows(n)).find((r) => r.operator_config === 1)!;
      assert.deepEqual([off.id, off.url, off.enabled], [before.id, `${rx.url}/ops`, 0]);
      await stop();
      n = await start(`${rx.url}/ops`);
      const on = (await rows(n)).find((r) => r.operator_config === 1)!;
      assert.deepEqual([on.id, on.url, on.enabled], [before.id, `${rx.url}/ops`, 1]);
      const again = await ping(n, on.id);
      await eventually(
        async () => rx.received.some((x) => x.path === '/ops' && JSON.parse(x.body).id === again),
        5000,
        'the operational delivery after the variable came back',
      );
      await stop();
    });
  });
}
