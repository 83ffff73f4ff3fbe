import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchema, isObjectType } from 'graphql';
import { ALL_CAPABILITIES, capabilitiesOfRequest, CAPABILITIES, grants } from '../src/auth/capabilities.js';
import { FIELD_NEEDS, fieldNeedProblems, guardResolvers } from '../src/graphql/fieldCapabilities.js';
import { authenticatedResolvers } from '../src/graphql/resolvers.js';
import { authenticatedTypeDefs } from '../src/graphql/schema.js';
import { HeraldError } from '../src/errors.js';

// Which GraphQL operation needs which capability is one table (src/graphql/fieldCapabilities.ts),
// checked by one guard. These tests hold the table to the schema, so that a new operation cannot be
// served without saying what it needs. (test/client-tokens.test.ts runs the guard end to end.)

describe('the GraphQL field capability table', () => {
  const schema = buildSchema(authenticatedTypeDefs);

  it('has an entry for every Query and Mutation field of the authenticated schema', () => {
    for (const root of ['Query', 'Mutation']) {
      const type = schema.getType(root);
      assert.ok(isObjectType(type));
      const fields = Object.keys(type.getFields());
      assert.ok(fields.length > 10, `${root} has its fields`);
      const missing = fields.filter((f) => !FIELD_NEEDS[root]?.[f]);
      assert.deepEqual(missing, [], `${root} fields with no entry`);
    }
    assert.deepEqual(fieldNeedProblems(authenticatedTypeDefs), []);
  });

  it('names only fields the schema has, and only known capabilities', () => {
    for (const [typeName, fields] of Object.entries(FIELD_NEEDS)) {
      const type = schema.getType(typeName);
      assert.ok(isObjectType(type), typeName);
      for (const [field, need] of Object.entries(fields)) {
        assert.ok(type.getFields()[field], `${typeName}.${field}`);
        assert.ok(need === 'session' || need === 'operator' || Object.hasOwn(CAPABILITIES, need), `${typeName}.${field}: ${need}`);
      }
    }
  });

  it('every capability is needed by at least one field (none is a name that allows nothing)', () => {
    const used = new Set(Object.values(FIELD_NEEDS).flatMap((f) => Object.values(f)));
    assert.deepEqual(
      ALL_CAPABILITIES.filter((c) => !used.has(c)),
      [],
    );
  });

  it('refuses to guard a schema with a field the table does not know, or an entry the schema does not have', () => {
    const withNewField = authenticatedTypeDefs.replace('type Mutation {', 'type Mutation {\n    deleteEverything: Boolean!');
    assert.throws(() => guardResolvers(withNewField, authenticatedResolvers), /Mutation\.deleteEverything has no entry in FIELD_NEEDS/);
    const stale = { ...FIELD_NEEDS, Query: { ...FIELD_NEEDS.Query, vanished: 'events:read' as const } };
    assert.throws(() => guardResolvers(authenticatedTypeDefs, authenticatedResolvers, stale), /FIELD_NEEDS names Query\.vanished/);
    assert.doesNotThrow(() => guardResolvers(authenticatedTypeDefs, authenticatedResolvers));
  });
});

describe('the capability vocabulary', () => {
  it('reads a mint request: all when left out, the named ones in order, unknown and empty refused', () => {
    assert.deepEqual(capabilitiesOfRequest(undefined), ALL_CAPABILITIES);
    assert.deepEqual(capabilitiesOfRequest(['sources:read', 'events:read', 'sources:read']), ['events:read', 'sources:read']);
    for (const bad of [[], ['events'], ['events:read', 'toString'], ['__proto__']]) {
      assert.throws(
        () => capabilitiesOfRequest(bad),
        (e: unknown) => e instanceof HeraldError && e.code === 'bad_request',
        JSON.stringify(bad),
      );
    }
  });

  it('a write capability grants the read of the same things and nothing more', () => {
    assert.ok(grants(new Set(['customers:write']), 'customers:read'));
    assert.ok(grants(new Set(['endpoints:write']), 'endpoints:read'));
    assert.ok(!grants(new Set(['customers:read']), 'customers:write'));
    assert.ok(!grants(new Set(['customers:write']), 'billing:read'));
    assert.ok(!grants(new Set(['events:read']), 'events:resend'));
    assert.ok(!grants(new Set(['events:resend']), 'events:read'));
  });
});
