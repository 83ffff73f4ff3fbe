import { createUser } from '../../src/accounts/users.js';
import { totpCode } from '../../src/accounts/totp.js';
import { openSecretBox } from '../../src/secrets/openSecretBox.js';
import type { TestHerald } from './herald.js';

export const PASSWORD = 'correct horse battery staple';

export interface GqlAnswer {
  status: number;
  body: any;
}

/** POSTs a GraphQL body (an object, or raw text) to the public or authenticated endpoint. */
export async function gql(h: TestHerald, which: 'public' | 'authenticated', body: unknown): Promise<GqlAnswer> {
  const res = await fetch(`${h.url}/graphql/api/${which}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: res.status, body: parsed };
}

/** A query with a session key, as a client sends it. */
export const authed = (h: TestHerald, sessionKey: string, query: string, variables: Record<string, unknown> = {}) =>
  gql(h, 'authenticated', { query, variables, extensions: { sessionKey } });

let users = 0;

/** A user made with the accounts module, its current TOTP code, and its recovery codes. */
export async function makeUser(h: TestHerald, opts: { role?: 'operator' | 'tenant'; tenantId?: string; email?: string } = {}) {
  const box = await openSecretBox(h.herald.db, h.config);
  const email = opts.email ?? `user${++users}-${Math.random().toString(36).slice(2, 6)}@example.com`;
  const made = await createUser(
    h.herald.db,
    box,
    { email, role: opts.role ?? 'operator', tenantId: opts.tenantId, password: PASSWORD },
    { actor: 'cli' },
  );
  return {
    email,
    id: made.user.id,
    recoveryCodes: made.recoveryCodes,
    code: () => totpCode(made.totpSecret, Math.floor(Date.now() / 1000)),
  };
}

export const LOG_IN = `mutation LogIn($input: LogInInput!) { logIn(input: $input) { login { id username sessions { sessionKey expiresAt environment } } } }`;

/** Logs a fresh user in and answers its session key (the path Productfy's clients read). */
export async function logInAs(
  h: TestHerald,
  opts: { role?: 'operator' | 'tenant'; tenantId?: string; environment?: 'SANDBOX' | 'PRODUCTION' } = {},
): Promise<string> {
  const u = await makeUser(h, opts);
  const r = await gql(h, 'public', {
    query: LOG_IN,
    variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code(), environment: opts.environment ?? 'SANDBOX' } },
  });
  const key = r.body?.data?.logIn?.login?.sessions?.[0]?.sessionKey;
  if (!key) throw new Error(`logIn failed: ${JSON.stringify(r.body)}`);
  return key;
}
