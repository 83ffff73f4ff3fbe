import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderWebhookReference } from '../scripts/gen-webhook-docs.js';
import { CATALOGS, schemaOf } from '../src/event-types/catalogs/index.js';
import { Ajv2020 } from 'ajv/dist/2020.js';

describe('docs', () => {
  it('docs/webhooks.md is generated from the current catalogs (run npm run docs:webhooks)', () => {
    const file = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/webhooks.md'), 'utf8');
    assert.equal(file, renderWebhookReference());
  });

  it('every catalog example is valid against its own schema', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const c of Object.values(CATALOGS)) {
      for (const t of c.types) {
        const ok = ajv.validate(schemaOf(t), t.example);
        assert.ok(ok, `${c.name}/${t.name}: ${ajv.errorsText()}`);
      }
    }
  });

  it('the README opens with the two commands that work on a fresh machine', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const firstCode = readme.slice(readme.indexOf('```'), readme.indexOf('```', readme.indexOf('```') + 3));
    assert.match(firstCode, /npm install && npm start/);
    assert.match(firstCode, /npm test/);
  });
});
