// Express: verify Herald's webhooks on POST /webhooks/herald.
//   WEBHOOK_SECRET=whsec_… node express.js
// WEBHOOK_TOKEN (the tenant token) and WEBHOOK_TOKEN_HEADER (Herald's HERALD_TOKEN_HEADER, for
// instance x-pfy-webhook-token) are optional: with WEBHOOK_TOKEN set, the token is checked too.
import express from 'express';
import { Webhook, WebhookVerificationError } from '@herald/webhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET, {
  token: process.env.WEBHOOK_TOKEN,
  tokenHeader: process.env.WEBHOOK_TOKEN_HEADER,
});

const app = express();

// express.raw, not express.json: the signature covers the body's exact bytes.
app.post('/webhooks/herald', express.raw({ type: '*/*' }), async (req, res, next) => {
  let event;
  try {
    event = await webhook.verify(req.body, req.headers);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return res.status(400).send(err.message);
    return next(err);
  }
  // The same event can arrive twice (delivery is at least once): skip ids already processed.
  console.log(`verified ${event.id}: ${event.type ?? event.triggerType}`);
  res.status(204).end();
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
