import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Queryable } from '../db/db.js';
import { findKey, getKeyInfo } from '../keys/keys.js';

// The portal (portal/, React + Vite) is built at install into portal/dist and served here, by the
// same process as the API: /portal/ and every path under it answer the single page (the portal
// routes in the browser), its hashed assets are cached for a year, and nothing it loads comes
// from another host (the Content-Security-Policy below says so to the browser too).

export const PORTAL_PREFIX = '/portal/';

/** portal/dist beside src/ or dist/: this file runs from src/portal (tsx) or dist/portal (built). */
export const PORTAL_ROOT = path.resolve(import.meta.dirname, '..', '..', 'portal', 'dist');

/**
 * Only this origin: scripts, styles (React and the Builder's editor set inline styles), workers
 * (the Builder's editor), fonts, images (the enrolment QR code is a data: URL) and GraphQL calls.
 */
export function portalCsp(opts: { frameAncestors?: string[] } = {}): string {
  const hosts = opts.frameAncestors ?? [];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    // An embedding page's logo (HeraldPortal.open's theme.logo) lives on its own origin.
    `img-src 'self' data: blob:${hosts.map((h) => ` ${h}`).join('')}`,
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    // Only the embedded portal may be framed, and only by its public key's allowed origins.
    `frame-ancestors ${hosts.length ? hosts.join(' ') : "'none'"}`,
  ].join('; ');
}

export const PORTAL_CSP = portalCsp();

const HASHED = /^\/portal\/assets\//;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', PORTAL_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

/**
 * The origins allowed to frame the embedded portal opened with this public key (?key=pk_…), or
 * null when it is not a live public key.
 */
async function embeddingOrigins(db: Queryable, req: FastifyRequest): Promise<string[] | null> {
  const key = (req.query as { key?: unknown }).key;
  if (typeof key !== 'string' || !key.startsWith('pk_') || key.length > 200) return null;
  const scope = await findKey(db, key);
  if (!scope || scope.kind !== 'public') return null;
  return (await getKeyInfo(db, scope.keyId))?.allowedOrigins ?? [];
}

export async function servePortal(app: FastifyInstance, opts: { root?: string; db?: Queryable } = {}): Promise<void> {
  const root = opts.root ?? PORTAL_ROOT;
  const indexFile = path.join(root, 'index.html');
  const route = { schema: { hide: true } as never };

  app.get('/portal', route, async (_req, reply) => reply.redirect(PORTAL_PREFIX, 308));

  if (!fs.existsSync(indexFile)) {
    // A checkout whose build did not run: say what to do instead of a bare 404.
    const notBuilt = async (req: { id: string }, reply: FastifyReply) =>
      reply.status(503).send({
        error: {
          code: 'portal_not_built',
          message: `the portal is not built (no ${indexFile}): run \`npm run build\` (npm install runs it), then restart Herald`,
          requestId: req.id,
        },
      });
    app.get(PORTAL_PREFIX, route, notBuilt);
    app.get(`${PORTAL_PREFIX}*`, route, notBuilt);
    return;
  }

  // Read once: the build does not change under a running server.
  const indexHtml = fs.readFileSync(indexFile);
  const page = async (_req: unknown, reply: FastifyReply) =>
    securityHeaders(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(indexHtml);

  await app.register(async (portal) => {
    await portal.register(fastifyStatic, {
      root,
      prefix: PORTAL_PREFIX,
      // swagger-ui registers @fastify/static too; reply.sendFile is not needed here.
      decorateReply: false,
      // One route per built file, found at start; everything else falls to the page below.
      wildcard: false,
      index: false,
      globIgnore: ['**/*.gz', '**/index.html'],
      // The build writes a .gz beside each large asset: sent to browsers that accept gzip.
      preCompressed: true,
      // Cache-Control is set per file below (send's own would overwrite it).
      cacheControl: false,
      setHeaders(res, filePath) {
        res.setHeader('content-security-policy', PORTAL_CSP);
        res.setHeader('x-content-type-options', 'nosniff');
        const inAssets = path.relative(path.join(root, 'assets'), filePath);
        // Names under assets/ carry a hash of their content: a new build makes new names.
        res.setHeader('cache-control', !inAssets.startsWith('..') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    portal.get(PORTAL_PREFIX, route, page);
    // The embedded portal (public/embed.js opens it in an iframe): the same page, framed only by
    // the public key's allowed origins.
    portal.get(`${PORTAL_PREFIX}embed`, route, async (req, reply) => {
      const origins = opts.db ? await embeddingOrigins(opts.db, req) : null;
      if (!origins) {
        return reply
          .status(403)
          .header('content-security-policy', PORTAL_CSP)
          .send({
            error: {
              code: 'forbidden',
              message: 'the embedded portal opens with a live public key (?key=pk_…): use HeraldPortal.open() from /portal/embed.js',
              requestId: req.id,
            },
          });
      }
      return reply
        .header('content-security-policy', portalCsp({ frameAncestors: origins }))
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(indexHtml);
    });
    portal.get(`${PORTAL_PREFIX}*`, route, async (req, reply) => {
      // A missing asset is a 404, not the page: a stale tab asking for an old chunk must fail
      // visibly rather than parse HTML as JavaScript.
      if (HASHED.test(req.url))
        return reply
          .status(404)
          .send({ error: { code: 'not_found', message: `no such portal file: ${req.url.split('?')[0]}`, requestId: req.id } });
      return page(req, reply);
    });
  });
}
