import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findSession } from '../src/accounts/sessions.js';
import {
  type Actor,
  actorOfKey,
  actorOfSession,
  requireCapability,
  requireEnvironment,
  requireOperator,
  resolveOwner,
  resolveTenant,
} from '../src/auth/actor.js';
import { ALL_CAPABILITIES } from '../src/auth/capabilities.js';
import { endpointContext } from '../src/auth/endpointContext.js';
import { AddressPolicy } from '../src/endpoints/urlPolicy.js';
import { HeraldError, notFound } from '../src/errors.js';
import { findKey } from '../src/keys/keys.js';
import { openSecretBox } from '../src/secrets/openSecretBox.js';
import type { SecretBox } from '../src/secrets/secretBox.js';
import { DIALECTS } from './helpers/db.js';
import { authed, gql, logInAs } from './helpers/graphql.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// Who may do what is decided in one place, the Actor (src/auth/actor.ts), whatever the door: a
// REST key, a person's GraphQL session, an embedded portal's client-token session. The table below
// is that decision for every kind of actor, made from real credentials and asked of the Actor
// directly; then the REST door and the GraphQL door are shown to answer the same rows with the
// Actor's own code and words, which they could not if either decided by rules of its own.

const KINDS = ['operator key', 'tenant key', 'operator session', 'tenant session', 'client-token session'] as const;
type Kind = (typeof KINDS)[number];

const EXCHANGE = `mutation X($input: ExchangeClientTokenInput!) { exchangeClientToken(input: $input) { login { sessions { sessionKey } } } }`;

/**
 * What each kind of actor gets for each action: "allowed" (or the uid of the tenant it reached),
 * else the error code. Tenant-bound actors (acme's) are refused another
 * tenant without learning whether it exists; operators reach every tenant of their environment and
 * no other.
 */
const EXPECTED: Record<string, Record<Kind, string>> = {
  'an operator-only operation': {
    'operator key': 'allowed',
    'tenant key': 'forbidden',
    'operator session': 'allowed',
    'tenant session': 'forbidden',
    'client-token session': 'forbidden',
  },
  'its own tenant (acme), named': {
    'operator key': 'acme',
    'tenant key': 'acme',
    'operator session': 'acme',
    'tenant session': 'acme',
    'client-token session': 'acme',
  },
  'another tenant (globex)': {
    'operator key': 'globex',
    'tenant key': 'forbidden',
    'operator session': 'globex',
    'tenant session': 'forbidden',
    'client-token session': 'forbidden',
  },
  'a tenant that does not exist': {
    'operator key': 'not_found',
    'tenant key': 'forbidden',
    'operator session': 'not_found',
    'tenant session': 'forbidden',
    'client-token session': 'forbidden',
  },
  'no tenant named': {
    'operator key': 'bad_request',
    'tenant key': 'acme',
    'operator session': 'bad_request',
    'tenant session': 'acme',
    'client-token session': 'acme',
  },
  'a production tenant, by id': {
    'operator key': 'not_found',
    'tenant key': 'forbidden',
    'operator session': 'not_found',
    'tenant session': 'forbidden',
    'client-token session': 'forbidden',
  },
  "globex's customer, by id": {
    'operator key': 'globex',
    'tenant key': 'not_found',
    'operator session': 'globex',
    'tenant session': 'not_found',
    'client-token session': 'not_found',
  },
  "acme's customer, by id": {
    'operator key': 'acme',
    'tenant key': 'acme',
    'operator session': 'acme',
    'tenant session': 'acme',
    'client-token session': 'acme',
  },
  'naming its own environment': {
    'operator key': 'allowed',
    'tenant key': 'allowed',
    'operator session': 'allowed',
    'tenant session': 'allowed',
    'client-token session': 'allowed',
  },
  'naming the other environment': {
    'operator key': 'forbidden',
    'tenant key': 'forbidden',
    'operator session': 'forbidden',
    'tenant session': 'forbidden',
    'client-token session': 'forbidden',
  },
  'a sandbox endpoint at a loopback address': {
    'operator key': 'allowed',
    'tenant key': 'bad_request',
    'operator session': 'allowed',
    'tenant session': 'bad_request',
    'client-token session': 'bad_request',
  },
};

/** The outcome of one decision: what it reached, or the code it was refused with. */
async function outcome(decide: () => Promise<string> | string): Promise<string> {
  try {
    return await decide();
  } catch (err) {
    if (err instanceof HeraldError) return err.code;
    throw err;
  }
}

/** The refusal itself, for comparing words across doors. */
async function refusal(decide: () => unknown): Promise<HeraldError> {
  try {
    await decide();
  } catch (err) {
    if (err instanceof HeraldError) return err;
    throw err;
  }
  throw new Error('the Actor allowed what this row expects refused');
}

const GQL_CODES: Record<string, string> = { forbidden: 'FORBIDDEN', not_found: 'NOT_FOUND', bad_request: 'BAD_USER_INPUT' };

for (const dialect of DIALECTS) {
  describe(`one authorization model: the Actor (${dialect})`, () => {
    let h: TestHerald;
    let box: SecretBox;
    const actors = {} as Record<Kind, Actor>;
    const sessionKeys = {} as Record<Kind, string>;
    let tenantKey = '';
    const ids: Record<string, string> = {};

    before(async () => {
      h = await startHerald(dialect);
      box = await openSecretBox(h.herald.db, h.config);
      for (const uid of ['acme', 'globex']) {
        const t = await h.api('POST', '/v1/tenants', { name: uid, uid });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        ids[uid] = t.body.id;
        const c = await h.api('POST', `/v1/tenants/${uid}/customers`, { key: `c-${uid}`, kind: 'person' });
        assert.equal(c.status, 201, JSON.stringify(c.body));
        ids[`${uid} customer`] = c.body.id;
      }
      const production = await h.api('POST', '/v1/tenants', { name: 'initech', uid: 'initech' }, { key: h.productionKey });
      ids.initech = production.body.id;

      // Every kind of credential, made the way its holder gets it.
      tenantKey = (await h.api('POST', '/v1/keys', { tenant: 'acme' })).body.key;
      sessionKeys['operator session'] = await logInAs(h, { role: 'operator' });
      sessionKeys['tenant session'] = await logInAs(h, { role: 'tenant', tenantId: ids.acme });
      const pk = await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: ['https://shop.example.com'] });
      const ct = await h.api('POST', '/v1/tenants/acme/client-tokens', {});
      assert.deepEqual([pk.status, ct.status], [201, 201], JSON.stringify([pk.body, ct.body]));
      const [publicKey, clientToken] = [pk.body.key, ct.body.token];
      const exchanged = await gql(h, 'public', { query: EXCHANGE, variables: { input: { publicKey, clientToken } } });
      sessionKeys['client-token session'] = exchanged.body?.data?.exchangeClientToken?.login?.sessions?.[0]?.sessionKey;
      assert.ok(sessionKeys['client-token session'], JSON.stringify(exchanged.body));

      const db = h.herald.db;
      actors['operator key'] = actorOfKey((await findKey(db, h.sandboxKey))!);
      actors['tenant key'] = actorOfKey((await findKey(db, tenantKey))!);
      for (const kind of ['operator session', 'tenant session', 'client-token session'] as const) {
        actors[kind] = actorOfSession((await findSession(db, sessionKeys[kind]))!);
      }
    });
    after(() => h?.close());

    const tenantUid = async (p: Promise<{ uid: string }>) => (await p).uid;
    const action = (a: Actor): Record<keyof typeof EXPECTED, () => Promise<string> | string> => {
      const db = h.herald.db;
      const named = (idOrUid: string | undefined) => () => tenantUid(resolveTenant(db, box, a, idOrUid));
      const owner = (tenantId: string, customerId: string) => () =>
        tenantUid(resolveOwner(db, box, a, tenantId, () => notFound('customer', customerId)));
      return {
        'an operator-only operation': () => (requireOperator(a), 'allowed'),
        'its own tenant (acme), named': named('acme'),
        'another tenant (globex)': named('globex'),
        'a tenant that does not exist': named('nope'),
        'no tenant named': named(undefined),
        'a production tenant, by id': named(ids.initech),
        "globex's customer, by id": owner(ids.globex, ids['globex customer']),
        "acme's customer, by id": owner(ids.acme, ids['acme customer']),
        'naming its own environment': () => (requireEnvironment(a, 'sandbox', 'keys'), 'allowed'),
        'naming the other environment': () => (requireEnvironment(a, 'production', 'keys'), 'allowed'),
        'a sandbox endpoint at a loopback address': async () => {
          const ctx = endpointContext(a, { config: h.config, addresses: new AddressPolicy(), box });
          await ctx.addresses.checkEndpointUrl('http://127.0.0.1:9/hooks', ctx.environment, ctx.caller);
          return 'allowed';
        },
      };
    };

    it('knows each credential for what it is', () => {
      const seen = KINDS.map((k) => [k, actors[k].kind, actors[k].role, actors[k].environment, actors[k].tenantId]);
      assert.deepEqual(seen, [
        ['operator key', 'key', 'operator', 'sandbox', null],
        ['tenant key', 'key', 'tenant', 'sandbox', ids.acme],
        ['operator session', 'user', 'operator', 'sandbox', null],
        ['tenant session', 'user', 'tenant', 'sandbox', ids.acme],
        ['client-token session', 'client', 'tenant', 'sandbox', ids.acme],
      ]);
    });

    it('limits a client-token session by its capabilities, and nothing else by them', () => {
      // The token was minted without capabilities: it holds every one, and says so.
      assert.deepEqual([...(actors['client-token session'].capabilities ?? [])], ALL_CAPABILITIES);
      for (const kind of KINDS.filter((k) => k !== 'client-token session')) assert.equal(actors[kind].capabilities, null, kind);
      const narrow: Actor = { ...actors['client-token session'], capabilities: new Set(['events:read'] as const) };
      assert.doesNotThrow(() => requireCapability(narrow, 'events:read'));
      assert.throws(
        () => requireCapability(narrow, 'endpoints:write'),
        (err: unknown) => err instanceof HeraldError && err.code === 'forbidden' && err.message.includes('"endpoints:write"'),
      );
      for (const kind of KINDS) assert.doesNotThrow(() => requireCapability(actors[kind], 'endpoints:write'), kind);
    });

    it('decides every action for every kind of actor as the table says', async () => {
      const decided: Record<string, Record<string, string>> = {};
      for (const name of Object.keys(EXPECTED)) {
        decided[name] = {};
        for (const kind of KINDS) decided[name][kind] = await outcome(action(actors[kind])[name]);
      }
      assert.deepEqual(decided, EXPECTED);
    });

    it('REST answers each key as the Actor decides, in the same words', async () => {
      // The REST request that asks each action of a key (its tenant resolved by the path).
      const rest: Record<string, [string, string]> = {
        'an operator-only operation': ['GET', '/v1/tenants'],
        'its own tenant (acme), named': ['GET', '/v1/tenants/acme'],
        'another tenant (globex)': ['GET', '/v1/tenants/globex'],
        'a tenant that does not exist': ['GET', '/v1/tenants/nope'],
        'a production tenant, by id': ['GET', `/v1/tenants/${ids.initech}`],
      };
      for (const kind of ['operator key', 'tenant key'] as const) {
        for (const [name, [method, path]] of Object.entries(rest)) {
          const r = await h.api(method, path, undefined, { key: kind === 'tenant key' ? tenantKey : h.sandboxKey });
          const expected = EXPECTED[name][kind];
          if (expected === 'forbidden' || expected === 'not_found') {
            const e = await refusal(action(actors[kind])[name]);
            assert.equal(r.status, e.status, `${kind}, ${name}: ${JSON.stringify(r.body)}`);
            assert.deepEqual([r.body.error.code, r.body.error.message], [expected, e.message], `${kind}, ${name}`);
          } else {
            assert.equal(r.status, 200, `${kind}, ${name}: ${JSON.stringify(r.body)}`);
            if (r.body.uid) assert.equal(r.body.uid, expected, `${kind}, ${name}`);
          }
        }
      }
      // Naming the other environment, where an operator key may name one.
      const e = await refusal(action(actors['operator key'])['naming the other environment']);
      const r = await h.api('GET', '/v1/keys?environment=production');
      assert.deepEqual([r.status, r.body.error.code, r.body.error.message], [e.status, e.code, e.message]);
    });

    it('GraphQL answers each session as the Actor decides, in the same words', async () => {
      const query: Record<string, string> = {
        'an operator-only operation': '{ users { nodes { id } } }',
        'its own tenant (acme), named': '{ customers(tenant: "acme") { nodes { key } } }',
        'another tenant (globex)': '{ customers(tenant: "globex") { nodes { key } } }',
        'a tenant that does not exist': '{ customers(tenant: "nope") { nodes { key } } }',
        'no tenant named': '{ customers { nodes { key } } }',
        'a production tenant, by id': `{ customers(tenant: "${ids.initech}") { nodes { key } } }`,
        "globex's customer, by id": `{ customer(customerId: "${ids['globex customer']}") { key } }`,
      };
      for (const kind of ['operator session', 'tenant session', 'client-token session'] as const) {
        for (const [name, q] of Object.entries(query)) {
          const r = await authed(h, sessionKeys[kind], q);
          const expected = EXPECTED[name][kind];
          const code = GQL_CODES[expected];
          if (code) {
            const e = await refusal(action(actors[kind])[name]);
            assert.deepEqual(
              [r.body.errors?.[0]?.extensions?.code, r.body.errors?.[0]?.message],
              [code, e.message],
              `${kind}, ${name}: ${JSON.stringify(r.body)}`,
            );
          } else {
            assert.equal(r.body.errors, undefined, `${kind}, ${name}: ${JSON.stringify(r.body)}`);
            const keys = JSON.stringify(r.body.data);
            if (expected !== 'allowed') assert.ok(keys.includes(`c-${expected}`), `${kind}, ${name}: ${keys}`);
          }
        }
      }
    });
  });
}
