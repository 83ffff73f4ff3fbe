import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPolicy } from '../../src/endpoints/urlPolicy.js';

describe('endpoint addresses', () => {
  it('blocks private, loopback, link-local, CGNAT, unique-local and mapped addresses', () => {
    const p = new AddressPolicy();
    for (const h of [
      '127.0.0.1',
      'localhost',
      'api.localhost',
      '10.1.2.3',
      '172.16.5.5',
      '192.168.0.1',
      '169.254.169.254',
      '[::1]',
      '100.64.0.1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '0.0.0.0',
    ])
      assert.ok(p.isBlocked(h), h);
    for (const h of ['example.com', '8.8.8.8', '[2606:4700::1111]', '::ffff:8.8.8.8']) assert.ok(!p.isBlocked(h), h);
  });
  it('lets an allowlisted range through', () => {
    const p = new AddressPolicy(['10.20.0.0/16']);
    assert.ok(!p.isBlocked('10.20.1.2'));
    assert.ok(p.isBlocked('10.21.1.2'));
  });
  it('refuses at connect time a name that resolves to a private address', async () => {
    const p = new AddressPolicy();
    const err = await new Promise<Error | null>((resolve) => p.guardedLookup('localhost', {}, (e) => resolve(e)));
    assert.match(String(err?.message), /refused: localhost resolves to/);
  });
});
