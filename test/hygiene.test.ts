import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import semver from 'semver';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

const root = path.resolve(import.meta.dirname, '..');
const readJson = (f: string) => JSON.parse(fs.readFileSync(path.join(root, f), 'utf8'));

describe('a clean install and a test run leave nothing to clean up', () => {
  it('every locked package runs on the oldest Node Herald declares (npm install prints no EBADENGINE)', () => {
    const floor = semver.minVersion(readJson('package.json').engines.node)!;
    const lock = readJson('package-lock.json') as { packages: Record<string, { engines?: { node?: string } }> };
    const refuse = Object.entries(lock.packages)
      .filter(([name, p]) => name && p.engines?.node && !semver.satisfies(floor, p.engines.node))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} needs node ${p.engines!.node}`);
    assert.deepEqual(refuse, [], `Herald declares node >=${floor}; raise the floor or pin these (package.json "overrides")`);
  });

  it('every dependency install script is approved or denied in allowScripts, so npm does not warn about it', () => {
    const pkg = readJson('package.json');
    const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
    const unapproved = Object.entries(lock.packages)
      .filter(([name, p]) => name && p.hasInstallScript)
      .map(([name]) => name.replace(/^.*node_modules\//, ''))
      .filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
    assert.deepEqual(unapproved, []);
  });

  it('an embedded Postgres removes its data directory when it stops', async () => {
    const pg = await startEmbeddedPostgres();
    assert.ok(fs.existsSync(pg.dir));
    await pg.stop();
    assert.equal(fs.existsSync(pg.dir), false, `${pg.dir} was left behind`);
  });
});
