import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger. Library code never logs on its own: it takes a child of this. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    // Secrets never reach a log line, even if a caller passes an object that holds one.
    redact: { paths: ['*.secret', '*.token', '*.key', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
