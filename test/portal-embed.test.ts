import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot, seriousA11yViolations } from './helpers/browser.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// The portal embedded in a host page on another origin (HeraldPortal.open from /portal/embed.js),
// in a real Chromium: no login, one tenant, callbacks to the host page; refused to an origin the
// public key does not allow, and to a client token used or expired.

/** The host app's logo, served by the host page's own server (an origin the public key allows). */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32">
<rect width="120" height="32" rx="6" fill="#0a7f5a"/><text x="60" y="21" font-size="14" text-anchor="middle" fill="#fff">Host app</text></svg>`;

/**
 * A host page on its own origin (its own port), opening the portal with the token of its query
 * string; ?dark=1 and ?logo=1 add those to the theme (the logo from this server).
 */
async function hostServer(heraldUrl: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/logo.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end(LOGO);
      return;
    }
    const q = url.searchParams;
    const theme = {
      accent: '#0a7f5a',
      ...(q.get('logo') ? { logo: `http://${req.headers.host}/logo.svg` } : {}),
      ...(q.get('dark') ? { dark: true } : {}),
    };
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Host app</title><h1>Host app</h1><div id="portal" style="height:900px"></div>
<script src="${heraldUrl}/portal/embed.js"></script>
<script>
  window.heraldEvents = [];
  window.portal = HeraldPortal.open({
    publicKey: ${JSON.stringify(q.get('pk'))},
    clientToken: ${JSON.stringify(q.get('ct'))},
    container: document.getElementById('portal'),
    onEvent: (name, metadata) => window.heraldEvents.push({ name, metadata }),
    theme: ${JSON.stringify(theme)},
  });
</script>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('portal: embedded in another site, with callbacks', () => {
  let h: TestHerald;
  let browser: Browser;
  let rx: Receiver;
  let host: Awaited<ReturnType<typeof hostServer>>;
  let stranger: Awaited<ReturnType<typeof hostServer>>;
  let publicKey: string;
  const mint = async () => (await h.api('POST', '/v1/tenants/acme/client-tokens', { ttlSeconds: 600 })).body.token as string;
  const events = (page: Page) => page.evaluate<{ name: string; metadata: Record<string, unknown> }[]>('window.heraldEvents');
  const waitForEvent = (page: Page, name: string) =>
    page.waitForFunction(`window.heraldEvents.some((e) => e.name === ${JSON.stringify(name)})`);

  before(async () => {
    [h, browser, rx] = await Promise.all([
      startHerald('sqlite', { HERALD_SANDBOX_TENANT_PRIVATE: '1' }),
      launchChromium(),
      new Receiver(() => ({ status: 200, body: 'ok' })).start(),
    ]);
    [host, stranger] = await Promise.all([hostServer(h.url), hostServer(h.url)]);
    await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' });
    await h.api('POST', '/v1/tenants', { uid: 'globex', name: 'Globex' });
    await h.api('POST', '/v1/tenants/globex/endpoints', { url: `${rx.url}/globex-only` });
    await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
    const pk = await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [host.origin] });
    assert.equal(pk.status, 201, JSON.stringify(pk.body));
    publicKey = pk.body.key;
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await stranger?.close();
    await rx?.stop();
    await h?.close();
  });

  it("opens the tenant's webhooks in the host page and reports what happens there", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${host.origin}/?pk=${publicKey}&ct=${await mint()}`);
    await waitForEvent(page, 'READY');
    const frame = page.frameLocator('iframe[title="Webhooks"]');
    await frame.getByRole('heading', { name: 'Webhooks' }).waitFor();
    assert.equal(await frame.getByRole('heading', { name: `${rx.url}/globex-only` }).count(), 0, 'only its own tenant');
    await frame.getByRole('button', { name: 'Add endpoint' }).click();
    await frame.getByLabel('Endpoint URL').fill(`${rx.url}/embedded`);
    await frame.getByRole('checkbox', { name: 'PymtCard', exact: true }).check();
    await frame.getByRole('button', { name: 'Save' }).click();
    await waitForEvent(page, 'ENDPOINT_CREATED');
    const created = (await h.api('GET', '/v1/tenants/acme/endpoints')).body.data;
    assert.equal(created.length, 1);
    await frame.getByRole('button', { name: 'Send test event' }).click();
    await waitForEvent(page, 'TEST_EVENT_SENT');
    await frame.getByRole('button', { name: 'Close' }).click();
    await waitForEvent(page, 'EXIT');
    assert.equal(await page.locator('iframe').count(), 0, 'closed');
    const got = await events(page);
    const by = (n: string) => got.find((e) => e.name === n)!.metadata;
    assert.deepEqual(by('SCREEN_VIEW'), { screen: 'webhooks' });
    assert.deepEqual(by('ENDPOINT_CREATED'), { endpointId: created[0].id });
    assert.equal(by('TEST_EVENT_SENT').endpointId, created[0].id);
    assert.equal(by('TEST_EVENT_SENT').statusCode, 200);
    assert.deepEqual(
      got.map((e) => e.name).filter((n) => n !== 'SCREEN_VIEW'),
      ['READY', 'ENDPOINT_CREATED', 'TEST_EVENT_SENT', 'EXIT'],
    );
    assert.equal(rx.received.filter((r) => r.path === '/embedded').length, 1);
    await context.close();
  });

  it("takes the host's theme: its logo, and a dark palette that stays readable", async () => {
    await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/themed` }); // a card to see
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${host.origin}/?pk=${publicKey}&ct=${await mint()}&dark=1&logo=1`);
    await waitForEvent(page, 'READY');
    const frame = page.frameLocator('iframe[title="Webhooks"]');
    await frame.getByRole('heading', { name: 'Webhooks' }).waitFor();
    // The logo, from the host's origin (the frame's Content-Security-Policy allows it), loaded.
    const logo = frame.locator('header img.logo');
    await logo.waitFor();
    assert.equal(await logo.getAttribute('src'), `${host.origin}/logo.svg`);
    const portal = page.frames().find((f) => f.url().startsWith(h.url))!;
    const loaded = "(() => { const img = document.querySelector('header img.logo'); return img.complete && img.naturalWidth > 0; })()";
    assert.equal(await portal.evaluate(loaded), true, 'the logo loaded');
    // The dark palette: the page's background and text, and a card's.
    const colours = await portal.evaluate(`(() => {
      const style = (el) => getComputedStyle(el);
      return {
        background: style(document.documentElement).backgroundColor,
        text: style(document.documentElement).color,
        card: style(document.querySelector('.card')).backgroundColor,
      };
    })()`);
    assert.deepEqual(colours, { background: 'rgb(20, 23, 32)', text: 'rgb(230, 232, 239)', card: 'rgb(28, 32, 48)' });
    // Readable in the dark: axe (contrast above all) on the list of endpoints, the endpoint form and the logs.
    assert.deepEqual(await seriousA11yViolations(portal), [], 'webhooks');
    await screenshot(page, 'embed-dark');
    await frame.getByRole('button', { name: 'Add endpoint' }).click();
    await frame.getByLabel('Endpoint URL').waitFor();
    assert.deepEqual(await seriousA11yViolations(portal), [], 'the endpoint form');
    await frame.getByRole('link', { name: 'Logs' }).click();
    await frame.getByRole('heading', { name: 'Logs' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(portal), [], 'logs');
    await context.close();
  });

  it("is framed only by the public key's allowed origins", async () => {
    const r = await fetch(`${h.url}/portal/embed?key=${publicKey}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy')!, new RegExp(`frame-ancestors ${host.origin}(;|$)`));
    assert.equal((await fetch(`${h.url}/portal/embed?key=pk_test_unknown`)).status, 403);
    assert.match((await fetch(`${h.url}/portal/`)).headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    // A page on another origin: its exchange is refused, and it hears why.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stranger.origin}/?pk=${publicKey}&ct=${await mint()}`);
    await waitForEvent(page, 'ERROR');
    const [error] = await events(page);
    assert.equal(error.metadata.code, 'FORBIDDEN');
    assert.match(String(error.metadata.message), /origin .* is not allowed/);
    assert.match(String(error.metadata.requestId), /^req_/);
    assert.equal(await page.locator('iframe').count(), 0);
    // Framing the embedded portal directly: Chromium refuses to show it (frame-ancestors).
    await page.evaluate(`new Promise((resolve) => {
      const f = document.createElement('iframe');
      f.src = ${JSON.stringify(`${h.url}/portal/embed?key=${publicKey}`)};
      f.onload = resolve;
      document.body.appendChild(f);
    })`);
    assert.deepEqual(
      page
        .frames()
        .map((f) => f.url())
        .filter((u) => u.startsWith(h.url)),
      [],
      'the frame was blocked',
    );
    await context.close();
  });

  it('refuses a client token that was used, or has expired', async () => {
    const token = await mint();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${host.origin}/?pk=${publicKey}&ct=${token}`);
    await waitForEvent(page, 'READY');
    await page.goto(`${host.origin}/?pk=${publicKey}&ct=${token}`);
    await waitForEvent(page, 'ERROR');
    assert.equal((await events(page))[0].metadata.code, 'UNAUTHENTICATED');
    const expired = await mint();
    await h.herald.db.run('UPDATE client_tokens SET expires_at = $1 WHERE used_at IS NULL', [Date.now() - 1000]);
    await page.goto(`${host.origin}/?pk=${publicKey}&ct=${expired}`);
    await waitForEvent(page, 'ERROR');
    assert.equal((await events(page))[0].metadata.code, 'UNAUTHENTICATED');
    await context.close();
  });
});
