import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { badRequest, notFound } from '../errors.js';
import { newId, randomToken } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { PROVIDERS, type ProviderName, type SourceOptions } from './providers/index.js';

export interface Source {
  id: string;
  tenantId: string;
  provider: ProviderName;
  name: string;
  /** Where the provider posts: <HERALD_PUBLIC_URL>/in/<id>. */
  url: string;
  options: SourceOptions;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SourceInput {
  provider: ProviderName;
  name: string;
  secret?: string;
  options?: SourceOptions;
  enabled?: boolean;
}

interface SourceRow {
  id: string;
  tenant_id: string;
  provider: ProviderName;
  name: string;
  options: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, tenant_id, provider, name, options, enabled, created_at, updated_at';

const toSource = (r: SourceRow, publicUrl: string): Source => ({
  id: r.id,
  tenantId: r.tenant_id,
  provider: r.provider,
  name: r.name,
  url: `${publicUrl}/in/${r.id}`,
  options: JSON.parse(r.options) as Record<string, unknown>,
  enabled: r.enabled === 1,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** A secret for providers that let you choose one; the others must be given theirs. */
function chooseSecret(provider: ProviderName, given: string | undefined): string {
  if (given !== undefined) {
    checkSecret(provider, given);
    return given;
  }
  if (!PROVIDERS[provider].choosesSecret) {
    throw badRequest(`a ${provider} source needs the secret ${provider} signs with; pass it as "secret" (${SECRET_HINT[provider]})`);
  }
  if (provider === 'standard') return 'whsec_' + randomBytes(24).toString('base64');
  if (provider === 'basic') return `herald:${randomToken(18)}`;
  return randomToken(24);
}

const SECRET_HINT: Record<ProviderName, string> = {
  chargify: "the site's shared key, under Config → Settings in Chargify",
  stripe: 'the endpoint signing secret, whsec_…, shown on the webhook endpoint in the Stripe dashboard',
  github: 'the webhook secret you set in GitHub',
  shopify: "the app's client secret",
  standard: 'whsec_ followed by base64',
  token: 'the token the sender puts in its header',
  basic: '"user:password"',
};

function checkSecret(provider: ProviderName, secret: string): void {
  if (provider === 'basic' && !secret.includes(':')) throw badRequest('a basic source\'s secret is "user:password"; it has no ":"');
  if (provider === 'standard' && !/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    throw badRequest(`a standard source's secret is ${SECRET_HINT.standard}`);
  }
}

export async function createSource(
  q: Queryable,
  box: SecretBox,
  publicUrl: string,
  tenantId: string,
  input: SourceInput,
): Promise<Source & { secret: string }> {
  const secret = chooseSecret(input.provider, input.secret);
  const now = Date.now();
  const row = await q.one<SourceRow>(
    `INSERT INTO sources (id, tenant_id, provider, name, secret, options, enabled, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
    [
      newId('src'),
      tenantId,
      input.provider,
      input.name,
      box.seal(secret),
      JSON.stringify(input.options ?? {}),
      input.enabled === false ? 0 : 1,
      now,
    ],
  );
  return { ...toSource(row!, publicUrl), secret };
}

export async function getSource(q: Queryable, publicUrl: string, tenantId: string, id: string): Promise<Source> {
  const row = await q.one<SourceRow>(`SELECT ${COLUMNS} FROM sources WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`, [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('source', id);
  return toSource(row, publicUrl);
}

export async function getSourceSecret(q: Queryable, box: SecretBox, tenantId: string, id: string): Promise<string> {
  const row = await q.one<{ secret: string }>('SELECT secret FROM sources WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL', [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('source', id);
  return box.open(row.secret);
}

export async function listSources(
  q: Queryable,
  publicUrl: string,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<Source>> {
  const rows = await q.all<SourceRow>(
    `SELECT ${COLUMNS} FROM sources WHERE tenant_id = $1 AND deleted_at IS NULL AND (CAST($2 AS text) IS NULL OR id < $2)
     ORDER BY id DESC LIMIT $3`,
    [tenantId, cursor ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => toSource(r, publicUrl)),
    limit,
  );
}

export async function updateSource(
  q: Queryable,
  box: SecretBox,
  publicUrl: string,
  current: Source,
  patch: { name?: string; secret?: string; options?: SourceOptions; enabled?: boolean },
): Promise<Source> {
  if (patch.secret !== undefined) checkSecret(current.provider, patch.secret);
  const row = await q.one<SourceRow>(
    `UPDATE sources SET name = $2, options = $3, enabled = $4, secret = COALESCE($5, secret), updated_at = $6
      WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [
      current.id,
      patch.name ?? current.name,
      JSON.stringify(patch.options ?? current.options),
      (patch.enabled ?? current.enabled) ? 1 : 0,
      patch.secret === undefined ? null : box.seal(patch.secret),
      Date.now(),
    ],
  );
  if (!row) throw notFound('source', current.id);
  return toSource(row, publicUrl);
}

/** Deleting keeps the row, so what it received stays readable; its URL answers 404 from now on. */
export async function deleteSource(q: Queryable, tenantId: string, id: string): Promise<void> {
  const n = await q.run('UPDATE sources SET deleted_at = $3, enabled = 0 WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL', [
    id,
    tenantId,
    Date.now(),
  ]);
  if (n === 0) throw notFound('source', id);
}

/** What the receiving route needs to check a request: read by source id alone (the URL is all it has). */
export interface ReceivingSource {
  id: string;
  tenantId: string;
  provider: ProviderName;
  secret: string;
  options: SourceOptions;
  enabled: boolean;
}

export async function findReceivingSource(q: Queryable, box: SecretBox, id: string): Promise<ReceivingSource | undefined> {
  const r = await q.one<{ id: string; tenant_id: string; provider: ProviderName; secret: string; options: string; enabled: number }>(
    'SELECT id, tenant_id, provider, secret, options, enabled FROM sources WHERE id = $1 AND deleted_at IS NULL',
    [id],
  );
  return (
    r && {
      id: r.id,
      tenantId: r.tenant_id,
      provider: r.provider,
      secret: box.open(r.secret),
      options: JSON.parse(r.options) as Record<string, unknown>,
      enabled: r.enabled === 1,
    }
  );
}
