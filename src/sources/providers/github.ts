import { eventType, formBody, hmac, isForm, jsonBody, MalformedBody, type Provider, sameSignature } from './provider.js';

// GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, raw body). The body is JSON, or
// a form whose `payload` field holds the JSON (content type application/x-www-form-urlencoded).
// X-GitHub-Delivery is a GUID per delivery, kept on redelivery; X-GitHub-Event names the event.
export const github: Provider = {
  choosesSecret: true,
  knownEvents: ['ping', 'push', 'pull_request', 'issues', 'issue_comment', 'release', 'workflow_run'],
  verify(req, secret) {
    const given = req.headers['x-hub-signature-256'];
    if (!given) return 'missing X-Hub-Signature-256 header';
    if (!given.startsWith('sha256=')) return 'X-Hub-Signature-256 must start with "sha256="';
    return sameSignature(given.slice(7).toLowerCase(), hmac(secret, [req.body], 'hex'))
      ? null
      : 'X-Hub-Signature-256 does not match the body signed with this source’s secret';
  },
  parse(req) {
    let payload: string;
    if (isForm(req)) {
      const form = formBody(req);
      if (typeof form.payload !== 'string') throw new MalformedBody('a GitHub form body must have one "payload" field holding JSON');
      try {
        JSON.parse(form.payload);
      } catch (err) {
        throw new MalformedBody(`the "payload" field is not valid JSON (${(err as Error).message})`);
      }
      payload = form.payload;
    } else {
      payload = jsonBody(req).text;
    }
    return { type: eventType('github', req.headers['x-github-event']), payload, dedupeKey: req.headers['x-github-delivery'] ?? null };
  },
};
