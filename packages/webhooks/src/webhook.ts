import { fromBase64, hmacBase64, importHmacKey, timingSafeEqual, type HmacKey } from './crypto.js';
import { WebhookVerificationError } from './errors.js';
import { headerOf, type HeadersInput } from './headers.js';
import { DEFAULT_TOKEN_HEADER, verifyToken } from './token.js';

/** How far the `webhook-timestamp` may be from this machine's clock, either way, as the Standard Webhooks libraries allow. */
export const WEBHOOK_TOLERANCE_IN_SECONDS = 5 * 60;

const PREFIX = 'whsec_';
const encoder = new TextEncoder();

/** The request body exactly as received: a string, or its bytes (a Node.js Buffer is a Uint8Array). */
export type WebhookPayload = string | Uint8Array | ArrayBuffer;

export interface WebhookOptions {
  /** `"raw"`: the secret is the key itself (its characters' codes, or the bytes given), not base64. */
  format?: 'raw';
  /** The tenant's token. When set, `verify` also requires it in the token header. */
  token?: string;
  /**
   * The header carrying the tenant token: Herald's HERALD_TOKEN_HEADER setting, `x-herald-webhook-token`
   * unless the operator changed it (`x-pfy-webhook-token` for Productfy-style deployments).
   */
  tokenHeader?: string;
}

/**
 * Verifies webhooks from Herald, or from any Standard Webhooks sender: `new Webhook(secret)` with
 * the endpoint's `whsec_…` secret, then `await webhook.verify(rawBody, headers)` per request.
 */
export class Webhook {
  readonly #key: Uint8Array;
  #hmacKey: Promise<HmacKey> | undefined;
  readonly #token: string | undefined;
  readonly #tokenHeader: string;

  constructor(secret: string | Uint8Array, options: WebhookOptions = {}) {
    if (options.format === 'raw') {
      this.#key = typeof secret === 'string' ? Uint8Array.from(secret, (c) => c.charCodeAt(0)) : secret;
    } else {
      if (typeof secret !== 'string') throw new Error('Expected secret to be of type string');
      const key = fromBase64(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret);
      if (!key) throw new Error('Secret is not base64: give the whsec_… secret as Herald showed it, or pass { format: "raw" }');
      this.#key = key;
    }
    if (this.#key.length === 0) throw new Error("Secret can't be empty.");
    if (options.token !== undefined && !options.token) throw new Error('The token option is empty: give the tenant token, or leave it out');
    this.#token = options.token;
    this.#tokenHeader = (options.tokenHeader ?? DEFAULT_TOKEN_HEADER).toLowerCase();
  }

  /**
   * Checks the request's signature (any one of the space-separated `v1,` signatures must match; a
   * rotating endpoint sends one per secret still valid), its timestamp (within 5 minutes either
   * way), and the tenant token when the `token` option is set; then returns the body parsed as
   * JSON (`undefined` for an empty body). Throws a WebhookVerificationError when the request does
   * not verify. Pass the raw body, before any JSON parsing: the signature covers its exact bytes.
   *
   * Asynchronous, unlike the Standard Webhooks JavaScript library: Web Crypto, which every runtime
   * has, computes HMACs only asynchronously. `T` is what you expect the body to be, for instance
   * `StandardEvent` or `ProductfyEvent`; it is not checked.
   */
  async verify<T = unknown>(payload: WebhookPayload, headers: HeadersInput): Promise<T> {
    await this.verifySignature(payload, headers);
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * The checks of `verify` without parsing the body: for bodies that are not JSON (an event Herald
   * forwards from a source in its provider's own form encoding, for instance).
   */
  async verifySignature(payload: WebhookPayload, headers: HeadersInput): Promise<void> {
    const msgId = headerOf(headers, 'webhook-id');
    const msgTimestamp = headerOf(headers, 'webhook-timestamp');
    const msgSignature = headerOf(headers, 'webhook-signature');
    if (!msgId || !msgTimestamp || !msgSignature) throw new WebhookVerificationError('Missing required headers');
    const timestamp = verifyTimestamp(msgTimestamp);
    if (this.#token !== undefined) verifyToken(headers, this.#token, this.#tokenHeader);

    const expected = (await this.sign(msgId, timestamp, payload)).slice('v1,'.length);
    let found = false;
    for (const versioned of msgSignature.split(' ')) {
      const comma = versioned.indexOf(',');
      if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue; // another scheme (v1a…): not ours to check
      // No early exit: every listed signature is compared, so the time taken says nothing about which matched.
      if (timingSafeEqual(versioned.slice(comma + 1), expected)) found = true;
    }
    if (!found) throw new WebhookVerificationError('No matching signature found');
  }

  /** The `v1,<base64>` signature of a message, as Herald computes it (useful in tests of your receiver). */
  async sign(msgId: string, timestamp: Date, payload: WebhookPayload): Promise<string> {
    this.#hmacKey ??= importHmacKey(this.#key);
    const seconds = Math.floor(timestamp.getTime() / 1000);
    const body = typeof payload === 'string' ? encoder.encode(payload) : payload instanceof Uint8Array ? payload : new Uint8Array(payload);
    return `v1,${await hmacBase64(await this.#hmacKey, encoder.encode(`${msgId}.${seconds}.`), body)}`;
  }
}

function verifyTimestamp(header: string): Date {
  if (!/^\d{1,12}$/.test(header)) throw new WebhookVerificationError('Invalid Signature Headers');
  const timestamp = Number(header);
  const now = Math.floor(Date.now() / 1000);
  if (now - timestamp > WEBHOOK_TOLERANCE_IN_SECONDS) throw new WebhookVerificationError('Message timestamp too old');
  if (timestamp > now + WEBHOOK_TOLERANCE_IN_SECONDS) throw new WebhookVerificationError('Message timestamp too new');
  return new Date(timestamp * 1000);
}
