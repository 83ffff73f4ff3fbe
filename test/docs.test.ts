import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderWebhookReference } from '../scripts/gen-webhook-docs.js';
import { CONFIG_DOC, fillConfigurationDoc, slug } from '../scripts/gen-config-docs.js';
import { SETTINGS } from '../src/config.js';
import { CATALOGS, schemaOf } from '../src/event-types/catalogs/index.js';
import { Ajv2020 } from 'ajv/dist/2020.js';

describe('docs', () => {
  it('docs/webhooks.md is generated from the current catalogs (run npm run docs:webhooks)', () => {
    const file = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/webhooks.md'), 'utf8');
    assert.equal(file, renderWebhookReference());
  });

  it('docs/configuration.md holds the settings reference of the current declarations (run npm run docs:config)', () => {
    const file = fs.readFileSync(CONFIG_DOC, 'utf8');
    assert.equal(file, fillConfigurationDoc(file));
    for (const s of Object.values(SETTINGS)) assert.ok(file.includes(`| \`${s.env}\` |`), `${s.env} has no row`);
  });

  it('every HERALD_ variable the README and the docs mention is a declared setting', () => {
    const declared = new Set(Object.values(SETTINGS).map((s) => s.env));
    const docs = path.resolve(import.meta.dirname, '../docs');
    const files = [
      'README.md',
      ...fs
        .readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const unknown: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(path.resolve(import.meta.dirname, '..', f), 'utf8');
      for (const m of text.matchAll(/\bHERALD_[A-Z0-9_]+\b/g)) if (!declared.has(m[0])) unknown.push(`${f}: ${m[0]}`);
    }
    assert.deepEqual(unknown, []);
  });

  it('links into docs/configuration.md land on one of its headings', () => {
    const anchors = new Set([...fs.readFileSync(CONFIG_DOC, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])));
    const docs = path.resolve(import.meta.dirname, '../docs');
    const broken: string[] = [];
    const check = (file: string, re: RegExp) => {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(re)) if (!anchors.has(m[1])) broken.push(`${path.basename(file)}: #${m[1]}`);
    };
    check(path.resolve(import.meta.dirname, '../README.md'), /configuration\.md#([\w-]+)/g);
    for (const f of fs.readdirSync(docs).filter((f) => f.endsWith('.md'))) check(path.join(docs, f), /configuration\.md#([\w-]+)/g);
    check(CONFIG_DOC, /\]\(#([\w-]+)\)/g);
    assert.deepEqual(broken, []);
    assert.ok(['running-several-nodes', 'secrets-at-rest', 'clocks'].every((a) => anchors.has(a)));
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
