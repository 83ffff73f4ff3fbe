// A fetch-style handler, `(request: Request) => Promise<Response>`, for Bun, Deno, Cloudflare
// Workers, Vercel and Netlify edge functions, and any server built on Web requests:
//
//   Bun:                Bun.serve({ fetch: webhookHandler({ secret: process.env.WEBHOOK_SECRET }) });
//   Deno:               Deno.serve(webhookHandler({ secret: Deno.env.get('WEBHOOK_SECRET') }));
//   Cloudflare Workers: export default { fetch: (request, env) => webhookHandler({ secret: env.WEBHOOK_SECRET })(request) };
//
// `token` (the tenant token) and `tokenHeader` (Herald's HERALD_TOKEN_HEADER, for instance
// x-pfy-webhook-token) are optional: with `token` set, the token is checked too.
import { Webhook, WebhookVerificationError } from '@herald/webhooks';

export function webhookHandler({ secret, token, tokenHeader }) {
  const webhook = new Webhook(secret, { token, tokenHeader });
  return async (request) => {
    if (request.method !== 'POST') return new Response('POST only', { status: 405 });
    // The body's exact bytes: the signature covers them.
    const body = new Uint8Array(await request.arrayBuffer());
    let event;
    try {
      event = await webhook.verify(body, request.headers);
    } catch (err) {
      if (err instanceof WebhookVerificationError) return new Response(err.message, { status: 400 });
      throw err;
    }
    // The same event can arrive twice (delivery is at least once): skip ids already processed.
    console.log(`verified ${event.id}: ${event.type ?? event.triggerType}`);
    return new Response(null, { status: 204 });
  };
}
