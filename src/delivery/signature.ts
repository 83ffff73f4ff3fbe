import { createHmac } from 'node:crypto';

// Standard Webhooks: the secret is `whsec_` + base64 key bytes; the signature is
// base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")), prefixed "v1,". While an
// endpoint's secret rotates, every valid secret signs and the header lists them space-separated.

export function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function sign(secret: string, msgId: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${msgId}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

export function signatureHeader(secrets: string[], msgId: string, timestamp: number, body: string | Buffer): string {
  return secrets.map((s) => sign(s, msgId, timestamp, body)).join(' ');
}
