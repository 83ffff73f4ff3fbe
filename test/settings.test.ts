import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, SETTINGS } from '../src/config.js';

const root = path.resolve(import.meta.dirname, '..');
const declared = new Set(Object.values(SETTINGS).map((s) => s.env));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.[cm]?[jt]s$/.test(d.name) ? [p] : [];
  });
}

describe('settings', () => {
  it('every variable the code reads through process.env is a declared setting', () => {
    const wrong: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src'))) {
      const rel = path.relative(root, file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/process\.env(?:\.([A-Za-z_$][\w$]*)|\[\s*(['"`])([^'"`]+)\2\s*\])?/g)) {
        const name = m[1] ?? m[3];
        const line = text.slice(0, m.index).split('\n').length;
        if (name === undefined) {
          // Only the reader may take the whole environment: it reads the declared names from it.
          if (rel !== path.join('src', 'config.ts')) wrong.push(`${rel}:${line} reads process.env as a whole or by a computed name`);
        } else if (!declared.has(name)) {
          wrong.push(`${rel}:${line} reads ${name}`);
        }
      }
    }
    assert.deepEqual(wrong, [], 'declare each of these in src/config/settings.ts and read it from the Config');
  });

  it('every HERALD_ variable the code names is a declared setting', () => {
    const wrong: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bHERALD_[A-Z0-9_]+\b/g)) {
        if (!declared.has(m[0])) wrong.push(`${path.relative(root, file)}: ${m[0]}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the reader reads exactly the declared variables, each of them, and nothing else', () => {
    const read = new Set<string>();
    const env = new Proxy(
      {},
      {
        get(_t, name) {
          if (typeof name === 'string') read.add(name);
          return undefined;
        },
        has(_t, name) {
          if (typeof name === 'string') read.add(name);
          return false;
        },
      },
    );
    loadConfig(env);
    assert.deepEqual([...read].sort(), [...declared].sort());
  });

  it('declares each variable once, with a type and a one-paragraph description', () => {
    const envs = Object.values(SETTINGS).map((s) => s.env);
    assert.equal(new Set(envs).size, envs.length, 'two settings share a variable');
    for (const [key, s] of Object.entries(SETTINGS)) {
      // Herald's own, plus the standard names others define: DATABASE_URL and OpenTelemetry's.
      assert.match(s.env, /^(HERALD_[A-Z0-9_]+|DATABASE_URL|OTEL_[A-Z0-9_]+)$/, key);
      assert.ok(s.type.trim(), `${s.env} has no type`);
      assert.ok(s.description.trim().length > 20, `${s.env} has no description`);
      assert.doesNotMatch(s.description, /\n/, `${s.env}: the description is one paragraph`);
      assert.ok(s.default !== undefined || s.defaultText, `${s.env} says nothing about its default`);
    }
  });

  it('takes an empty variable as unset, as compose files and systemd write it', () => {
    const blank = Object.fromEntries([...declared].map((name) => [name, '']));
    assert.deepEqual(loadConfig(blank), loadConfig({}));
  });

  it('refuses a log level the logger does not know, naming the levels it does', () => {
    assert.equal(loadConfig({ HERALD_LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
    assert.throws(
      () => loadConfig({ HERALD_LOG_LEVEL: 'verbose' }),
      (e: Error) => e instanceof ConfigError && /^HERALD_LOG_LEVEL must be "fatal", .* or "silent"; got "verbose"$/.test(e.message),
    );
  });
});
