/**
 * Thrown when a request is not a valid webhook: a header missing, a timestamp outside the
 * tolerance, no signature that matches, or (when a token is expected) a wrong tenant token. The
 * same name and messages as the Standard Webhooks libraries, so code written for them keeps working.
 * Answer such a request with a 4xx and do not process it.
 */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}
