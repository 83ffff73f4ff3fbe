import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, mock } from 'node:test';
import { lib, Webhook, WebhookVerificationError, verifyToken, WEBHOOKS_PACKAGE } from '../helpers/webhooksLib.js';

// The Standard Webhooks test vectors: the secret, message id, payload, timestamp and signature that
// every reference library tests against (standard-webhooks/standard-webhooks, in
// libraries/javascript/src/webhook.test.ts, libraries/python/tests/test_webhooks.py and
// libraries/go/webhook_test.go: "sign function works", "invalid signature", "partial signature",
// "multi sig payload is valid").
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const VECTOR_WRONG_SIGNATURES = [
  'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=', // the last character changed
  'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
  'v1,dawfeoifkpqwoekfpqoekf',
  'v1,g0hM9SsE', // cut short
  'v1,',
];
const VECTOR_MULTI = [
  'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
  'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
  VECTOR.signature,
  'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
];
const vectorHeaders = (signature = VECTOR.signature): Record<string, string> => ({
  'webhook-id': VECTOR.msgId,
  'webhook-timestamp': String(VECTOR.timestamp),
  'webhook-signature': signature,
});

/** Runs `fn` with the clock at unix second `at` (only Date is faked; Web Crypto runs for real). */
async function at<T>(seconds: number, fn: () => Promise<T>): Promise<T> {
  mock.timers.enable({ apis: ['Date'], now: seconds * 1000 });
  try {
    return await fn();
  } finally {
    mock.timers.reset();
  }
}

/** What Herald sends (its signing, written independently here with node:crypto): headers for `body` signed by `secrets`. */
function signed(secrets: string[], body: string | Buffer, opts: { id?: string; timestamp?: number } = {}) {
  const id = opts.id ?? `evt_${randomBytes(6).toString('hex')}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = secrets
    .map((s) => {
      const mac = createHmac('sha256', Buffer.from(s.replace(/^whsec_/, ''), 'base64'));
      mac.update(`${id}.${timestamp}.`).update(body);
      return `v1,${mac.digest('base64')}`;
    })
    .join(' ');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}
const newSecret = () => 'whsec_' + randomBytes(24).toString('base64');

async function rejects(p: Promise<unknown>, message: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WebhookVerificationError, `a WebhookVerificationError, not ${String(err)}`);
    assert.equal(err.name, 'WebhookVerificationError');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('receiver library: Standard Webhooks test vectors', () => {
  it('signs the vector as every reference library does', async () => {
    const wh = new Webhook(VECTOR.secret);
    assert.equal(await wh.sign(VECTOR.msgId, new Date(VECTOR.timestamp * 1000), VECTOR.payload), VECTOR.signature);
  });

  it('verifies the vector at its own time and returns the parsed body, with and without the whsec_ prefix', async () => {
    for (const secret of [VECTOR.secret, VECTOR.secret.slice('whsec_'.length)]) {
      const body = await at(VECTOR.timestamp, () => new Webhook(secret).verify(VECTOR.payload, vectorHeaders()));
      assert.deepEqual(body, { test: 2432232314 });
    }
  });

  it('refuses every wrong, cut or empty signature of the vector', async () => {
    for (const signature of VECTOR_WRONG_SIGNATURES) {
      await at(VECTOR.timestamp, () =>
        rejects(new Webhook(VECTOR.secret).verify(VECTOR.payload, vectorHeaders(signature)), 'No matching signature found'),
      );
    }
  });

  it('accepts a list where one v1 signature matches and skips other versions', async () => {
    const body = await at(VECTOR.timestamp, () => new Webhook(VECTOR.secret).verify(VECTOR.payload, vectorHeaders(VECTOR_MULTI.join(' '))));
    assert.deepEqual(body, { test: 2432232314 });
    // The right signature under another version is not accepted.
    const v2 = VECTOR.signature.replace('v1,', 'v2,');
    await at(VECTOR.timestamp, () =>
      rejects(new Webhook(VECTOR.secret).verify(VECTOR.payload, vectorHeaders(v2)), 'No matching signature found'),
    );
  });

  it('refuses the vector, correctly signed, once its timestamp is more than 5 minutes away', async () => {
    await at(VECTOR.timestamp + 301, () =>
      rejects(new Webhook(VECTOR.secret).verify(VECTOR.payload, vectorHeaders()), 'Message timestamp too old'),
    );
    await at(VECTOR.timestamp - 301, () =>
      rejects(new Webhook(VECTOR.secret).verify(VECTOR.payload, vectorHeaders()), 'Message timestamp too new'),
    );
  });

  it('refuses an empty or missing secret, as the reference libraries do', () => {
    assert.throws(() => new Webhook(''), /Secret can't be empty/);
    assert.throws(() => new Webhook('whsec_'), /Secret can't be empty/);
    assert.throws(() => new Webhook(undefined as any), Error);
    assert.throws(() => new Webhook(null as any), Error);
    assert.throws(() => new Webhook('whsec_not base64!'), /not base64/);
  });
});

describe('receiver library: verify', () => {
  const secret = newSecret();
  const body = '{"id":"evt_1","type":"order.paid","timestamp":"2024-01-02T03:04:05.000Z","data":{"note":"ünïcode ✓"}}';

  it('accepts the body as a string, a Buffer, a Uint8Array or an ArrayBuffer', async () => {
    const headers = signed([secret], body);
    const bytes = Buffer.from(body);
    const wh = new Webhook(secret);
    for (const payload of [body, bytes, new Uint8Array(bytes), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)]) {
      assert.deepEqual(await wh.verify(payload, headers), JSON.parse(body));
    }
  });

  it('reads headers from a fetch Headers object, Node’s lower-cased object, or any case', async () => {
    const headers = signed([secret], body);
    const wh = new Webhook(secret);
    await wh.verify(body, new Headers(headers));
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    await wh.verify(body, upper);
    await wh.verify(body, { ...headers, 'webhook-signature': [headers['webhook-signature']] });
  });

  it('accepts a timestamp up to 5 minutes away either way and refuses one a second further', async () => {
    const now = Math.floor(Date.now() / 1000);
    await at(now, async () => {
      const wh = new Webhook(secret);
      await wh.verify(body, signed([secret], body, { timestamp: now - 300 }));
      await wh.verify(body, signed([secret], body, { timestamp: now + 300 }));
      await rejects(wh.verify(body, signed([secret], body, { timestamp: now - 301 })), 'Message timestamp too old');
      await rejects(wh.verify(body, signed([secret], body, { timestamp: now + 301 })), 'Message timestamp too new');
    });
    assert.equal(lib.WEBHOOK_TOLERANCE_IN_SECONDS, 300);
  });

  it('refuses another secret, a changed body, a changed id and a changed timestamp', async () => {
    const headers = signed([secret], body);
    await rejects(new Webhook(newSecret()).verify(body, headers), 'No matching signature found');
    const wh = new Webhook(secret);
    await rejects(wh.verify(body.replace('order.paid', 'order.payd'), headers), 'No matching signature found');
    await rejects(wh.verify(body + ' ', headers), 'No matching signature found');
    await rejects(wh.verify(body, { ...headers, 'webhook-id': 'evt_other' }), 'No matching signature found');
    const ts = String(Number(headers['webhook-timestamp']) - 1);
    await rejects(wh.verify(body, { ...headers, 'webhook-timestamp': ts }), 'No matching signature found');
  });

  it('names a missing header or an invalid timestamp', async () => {
    const headers = signed([secret], body);
    const wh = new Webhook(secret);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _gone, ...rest } = headers;
      await rejects(wh.verify(body, rest), 'Missing required headers');
      await rejects(wh.verify(body, { ...headers, [name]: '' }), 'Missing required headers');
    }
    for (const ts of ['hello', '1614265330abc', '-5', '1.5']) {
      await rejects(wh.verify(body, { ...headers, 'webhook-timestamp': ts }), 'Invalid Signature Headers');
    }
  });

  it('during a rotation, any one of the listed secrets verifies, whichever its place', async () => {
    const [newest, previous, oldest] = [newSecret(), newSecret(), newSecret()];
    const headers = signed([newest, previous, oldest], body);
    assert.equal(headers['webhook-signature'].split(' ').length, 3);
    for (const s of [newest, previous, oldest]) assert.deepEqual(await new Webhook(s).verify(body, headers), JSON.parse(body));
    await rejects(new Webhook(newSecret()).verify(body, headers), 'No matching signature found');
  });

  it('verifies bytes that are not UTF-8 exactly as sent (verifySignature: no JSON parsing)', async () => {
    const bytes = Buffer.from([0x61, 0x3d, 0xff, 0xfe, 0x26, 0x62, 0x3d, 0x80]);
    const headers = signed([secret], bytes);
    const wh = new Webhook(secret);
    await wh.verifySignature(bytes, headers);
    await rejects(wh.verifySignature(Buffer.from(bytes.toString('utf8')), headers), 'No matching signature found');
    await assert.rejects(wh.verify(bytes, headers), SyntaxError);
  });

  it('returns undefined for a signed empty body', async () => {
    assert.equal(await new Webhook(secret).verify('', signed([secret], '')), undefined);
  });

  it('takes a raw key with { format: "raw" }', async () => {
    const key = 'a raw key of any characters';
    const asBase64 = Buffer.from(key, 'latin1').toString('base64');
    const headers = signed([asBase64], body);
    await new Webhook(key, { format: 'raw' }).verify(body, headers);
    await new Webhook(new Uint8Array(Buffer.from(key, 'latin1')), { format: 'raw' }).verify(body, headers);
  });
});

describe('receiver library: tenant token', () => {
  const secret = newSecret();
  const token = 'whtok_' + randomBytes(24).toString('base64url');
  const body = '{"id":"evt_1","status":"I","triggerType":"KycUpdate","eventPayload":{}}';

  it('checks the token in Herald’s default header when the token option is set', async () => {
    const headers = signed([secret], body);
    const wh = new Webhook(secret, { token });
    await wh.verify(body, { ...headers, 'x-herald-webhook-token': token });
    await rejects(wh.verify(body, headers), 'Missing tenant token header x-herald-webhook-token');
    // The last character changed (a random token may already end in "x").
    const wrong = token.slice(0, -1) + (token.endsWith('x') ? 'y' : 'x');
    await rejects(wh.verify(body, { ...headers, 'x-herald-webhook-token': wrong }), 'Tenant token does not match');
    await rejects(wh.verify(body, { ...headers, 'x-herald-webhook-token': token + 'x' }), 'Tenant token does not match');
    // Without the option, the token header is not looked at.
    await new Webhook(secret).verify(body, headers);
  });

  it('reads a Productfy-style header named in the options, in any case', async () => {
    const headers = { ...signed([secret], body), 'X-Pfy-Webhook-Token': token };
    await new Webhook(secret, { token, tokenHeader: 'X-PFY-Webhook-Token' }).verify(body, headers);
    await rejects(new Webhook(secret, { token }).verify(body, headers), 'Missing tenant token header x-herald-webhook-token');
  });

  it('a right token does not make up for a wrong signature', async () => {
    const headers = { ...signed([newSecret()], body), 'x-pfy-webhook-token': token };
    await rejects(new Webhook(secret, { token, tokenHeader: 'x-pfy-webhook-token' }).verify(body, headers), 'No matching signature found');
  });

  it('verifyToken checks the header alone', () => {
    verifyToken({ 'x-pfy-webhook-token': token }, token, 'x-pfy-webhook-token');
    verifyToken(new Headers({ 'x-herald-webhook-token': token }), token);
    assert.throws(() => verifyToken({}, token), WebhookVerificationError);
    assert.throws(() => verifyToken({ 'x-herald-webhook-token': 'whtok_other' }, token), /Tenant token does not match/);
    assert.throws(() => verifyToken({ 'x-herald-webhook-token': '' }, ''), /needs the tenant token/);
    assert.throws(() => new Webhook(secret, { token: '' }), /token option is empty/);
  });
});

describe('receiver library: package', () => {
  const read = (p: string) => fs.readFileSync(new URL(p, WEBHOOKS_PACKAGE), 'utf8');

  it('has no runtime dependencies and imports nothing but its own files', () => {
    const pkg = JSON.parse(read('package.json'));
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
    assert.equal(pkg.engines.node, '>=18');
    assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
    for (const f of fs.readdirSync(new URL('dist/', WEBHOOKS_PACKAGE)).filter((f) => f.endsWith('.js'))) {
      for (const m of read(`dist/${f}`).matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        assert.match(m[1], /^\.\//, `dist/${f} imports ${m[1]}`);
      }
    }
  });

  it('works where Web Crypto is not a global (Node.js 18), through node:crypto', (t) => {
    // Node.js 18 has no global `crypto` in modules; this flag gives Node.js 20 the same world. A
    // file, not -e: code run by -e sees node:crypto as a global `crypto`.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-webhooks-')), 'node18.mjs');
    fs.writeFileSync(
      file,
      `import { Webhook } from ${JSON.stringify(new URL('dist/index.js', WEBHOOKS_PACKAGE).href)};
      if (globalThis.crypto) throw new Error('crypto is still global');
      const signature = await new Webhook(${JSON.stringify(VECTOR.secret)}).sign(${JSON.stringify(VECTOR.msgId)}, new Date(${VECTOR.timestamp * 1000}), ${JSON.stringify(VECTOR.payload)});
      process.stdout.write(signature);`,
    );
    const run = spawnSync(process.execPath, ['--no-experimental-global-webcrypto', file], { encoding: 'utf8' });
    fs.rmSync(path.dirname(file), { recursive: true });
    if (/bad option/.test(run.stderr)) return t.skip(`this Node.js has no --no-experimental-global-webcrypto: ${run.stderr.trim()}`);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, VECTOR.signature);
  });

  it('WebhookVerificationError is an Error with its own name', () => {
    const err = new WebhookVerificationError('x');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'WebhookVerificationError');
  });
});
