import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildSchema, parse, validate } from 'graphql';
import { portalTypeFiles } from '../scripts/gen-portal-types.js';
import { authenticatedTypeDefs, publicTypeDefs } from '../src/graphql/schema.js';
import { initialLoad } from '../scripts/portal-size.mjs';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'portal', 'dist');

describe('the portal build', () => {
  it("the portal's GraphQL types are those of the schema the server runs (npm run portal:types)", () => {
    for (const [file, text] of Object.entries(portalTypeFiles())) {
      const committed = fs.readFileSync(path.join(root, file), 'utf8');
      assert.ok(committed === text, `${file} is stale: the GraphQL schema changed; run \`npm run portal:types\` and commit the result`);
    }
  });

  it("every query the portal writes is valid against the server's schema", () => {
    // gql.tada infers types from the schema but leaves validation to the editor; this is the check
    // that fails the suite on a field the server does not have.
    const schemas = { graphql: buildSchema(authenticatedTypeDefs), publicGraphql: buildSchema(publicTypeDefs) };
    const files = fs
      .readdirSync(path.join(root, 'portal', 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('-schema.ts'));
    let count = 0;
    for (const f of files) {
      const text = fs.readFileSync(path.join(root, 'portal', 'src', f), 'utf8');
      for (const m of text.matchAll(/\b(graphql|publicGraphql)\(\s*`([^`]*)`/g)) {
        count++;
        const errors = validate(schemas[m[1] as keyof typeof schemas], parse(m[2]));
        assert.deepEqual(
          errors.map((e) => e.message),
          [],
          `${f}: ${m[2].trim().split('\n')[0]}`,
        );
      }
    }
    assert.ok(count >= 10, `found only ${count} documents in portal/src`);
  });

  it('loads at most 300 KB of JavaScript (gzipped) before the first screen; the Builder comes later', () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), 'portal/dist is missing: run `npm run build`');
    const { js } = initialLoad(dist);
    const gz = js.reduce((a, f) => a + f.gzip, 0);
    assert.ok(gz > 10_000, `the initial load measured ${gz} bytes: the measurement missed the entry script`);
    assert.ok(
      gz <= 300 * 1024,
      `initial JavaScript is ${(gz / 1024).toFixed(1)} KB gzipped, over 300 KB: ${js.map((f) => f.file).join(', ')}`,
    );
    assert.ok(
      !js.some((f) => /Builder|monaco|graphiql/i.test(f.file)),
      `the Builder is in the initial load: ${js.map((f) => f.file).join(', ')}`,
    );
    const assets = fs.readdirSync(path.join(dist, 'assets'));
    assert.ok(
      assets.some((f) => /^Builder-.*\.js$/.test(f)),
      'no lazy Builder chunk was built',
    );
  });

  it('index.html loads nothing from another host', () => {
    const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
    const urls = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 2);
    assert.deepEqual(
      urls.filter((u) => !u.startsWith('/portal/') && !u.startsWith('data:')),
      [],
    );
  });
});
