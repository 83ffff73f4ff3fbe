// Fastify: verify Herald's webhooks on POST /webhooks/herald.
//   WEBHOOK_SECRET=whsec_… node fastify.js
// WEBHOOK_TOKEN (the tenant token) and WEBHOOK_TOKEN_HEADER (Herald's HERALD_TOKEN_HEADER, for
// instance x-pfy-webhook-token) are optional: with WEBHOOK_TOKEN set, the token is checked too.
import Fastify from 'fastify';
import { Webhook, WebhookVerificationError } from '@herald/webhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET, {
  token: process.env.WEBHOOK_TOKEN,
  tokenHeader: process.env.WEBHOOK_TOKEN_HEADER,
});

const app = Fastify();

await app.register(async (scope) => {
  // In this scope only, JSON bodies stay the raw bytes that the signature covers.
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  scope.post('/webhooks/herald', async (request, reply) => {
    let event;
    try {
      event = await webhook.verify(request.body, request.headers);
    } catch (err) {
      if (err instanceof WebhookVerificationError) return reply.code(400).send(err.message);
      throw err;
    }
    // The same event can arrive twice (delivery is at least once): skip ids already processed.
    console.log(`verified ${event.id}: ${event.type ?? event.triggerType}`);
    return reply.code(204).send();
  });
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });
console.log(`listening on ${address}`);
