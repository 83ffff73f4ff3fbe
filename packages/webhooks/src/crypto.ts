// HMAC-SHA256 with Web Crypto, the one cryptography API that Node.js, Bun, Deno, browsers and edge
// runtimes (Cloudflare Workers, Vercel Edge, Netlify Edge) all have. Web Crypto is asynchronous
// only, which is why `verify` returns a promise.

type Subtle = typeof globalThis.crypto.subtle;
export type HmacKey = Awaited<ReturnType<Subtle['importKey']>>;

let subtle: Promise<Subtle> | undefined;

function getSubtle(): Promise<Subtle> {
  subtle ??= (async () => {
    const global = (globalThis as { crypto?: { subtle?: Subtle } }).crypto;
    if (global?.subtle) return global.subtle;
    // Node.js 18 has Web Crypto only as node:crypto's `webcrypto` (it is global from Node.js 19).
    // The name is in a variable so that bundlers for edge runtimes, which have a global
    // `crypto`, do not try to resolve a Node.js module they cannot bundle.
    const nodeCrypto = 'node:crypto';
    const mod = (await import(nodeCrypto)) as { webcrypto?: { subtle?: Subtle } };
    if (!mod.webcrypto?.subtle) throw new Error('Web Crypto (crypto.subtle) is not available in this runtime');
    return mod.webcrypto.subtle;
  })();
  return subtle;
}

export async function importHmacKey(key: Uint8Array): Promise<HmacKey> {
  // A copy: the key is then an ArrayBuffer of its own, which later changes to `key` cannot reach.
  return (await getSubtle()).importKey('raw', new Uint8Array(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** base64(HMAC-SHA256(key, the concatenated parts)). */
export async function hmacBase64(key: HmacKey, ...parts: Uint8Array[]): Promise<string> {
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  const mac = new Uint8Array(await (await getSubtle()).sign('HMAC', key, data));
  return btoa(String.fromCharCode(...mac));
}

/** The bytes of a base64 string (padding optional), or undefined when it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * Whether two strings are equal, in a time that depends only on their lengths (public: a
 * signature is always 44 characters), never on where they first differ.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
