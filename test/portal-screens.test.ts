import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  horizontalOverflow,
  launchChromium,
  logInThroughPortal,
  openPortal,
  pickTenant,
  type PortalPage,
  screenshot,
  seriousA11yViolations,
} from './helpers/browser.js';
import { totpCode } from '../src/accounts/totp.js';
import { chargifyBody } from './helpers/chargify.js';
import { authed, logInAs, PASSWORD, makeUser } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// Users, Reports, the GraphQL Builder and what a tenant user sees, in a real Chromium against a
// real Herald (SQLite: the GraphQL tests read the same data on both databases) with a real receiver
// and real Chargify webhooks.
describe('portal: users, reports, the GraphQL Builder, tenant isolation', () => {
  let h: TestHerald;
  let browser: Browser;
  let rx: Receiver;
  let op: PortalPage;
  let ana: { id: string };
  let globexUser: Awaited<ReturnType<typeof makeUser>>;
  let downId: string;
  /** /down answers 503 until the test "fixes" it (for bulk recovery). */
  let fixed = false;

  before(async () => {
    [h, browser, rx] = await Promise.all([
      // No circuit opening: the failing endpoint's deliveries fail for good, to be recovered.
      startHerald('sqlite', { HERALD_RETRY_SCHEDULE: '0', HERALD_CIRCUIT_THRESHOLD: '100' }),
      launchChromium(),
      new Receiver((r) => (r.path === '/down' && !fixed ? { status: 503, body: 'down' } : { status: 200, body: 'ok' })).start(),
    ]);
    await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
    await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' });
    const globex = (await h.api('POST', '/v1/tenants', { uid: 'globex', name: 'Globex' })).body;

    // Acme's customers, the getting-started way (GraphQL), and a subscription and a payment from Chargify.
    const s = await logInAs(h);
    const made = await authed(
      h,
      s,
      `mutation { createPerson(tenant: "acme", input: {key: "ana-lima", name: "Ana Lima", email: "ana@example.com",
      address: {streetNumber: "123", streetName: "Anywhere", streetSuffix: "St", city: "Boston", postalCode: "02120", countryCode: "US", usTerritory: "MA"},
      customData: {tier: "gold", referredBy: "web"}}) { id } }`,
    );
    ana = made.body.data.createPerson;
    await authed(h, s, 'mutation { createOrganization(tenant: "acme", input: {key: "lima-holdings", name: "Lima Holdings"}) { id } }');
    await authed(h, s, 'mutation { createPerson(tenant: "acme", input: {key: "bo", name: "Bo Stone"}) { id } }');
    await authed(h, s, 'mutation { createPerson(tenant: "globex", input: {key: "ana-globex", name: "Ana Globex-Secret"}) { id } }');
    const src = (await h.api('POST', '/v1/tenants/acme/sources', { provider: 'chargify', name: 'Chargify', secret: 'shared' })).body;
    let n = 0;
    const chargify = async (event: string, payload: Record<string, string | number>) => {
      const body = chargifyBody(++n, event, payload);
      const r = await fetch(`${h.url}/in/${src.id}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'shared').update(body).digest('hex'),
        },
        body,
      });
      const id = ((await r.json()) as { id: string }).id;
      await eventually(
        async () => (await h.api('GET', `/v1/tenants/acme/inbound/${id}`)).body.status === 'processed',
        10_000,
        `${event} processed`,
      );
    };
    const sub = {
      'subscription.id': 77,
      'subscription.state': 'active',
      'subscription.currency': 'USD',
      'subscription.customer.reference': 'ana-lima',
      'subscription.product.id': 9,
      'subscription.product.name': 'Gold plan',
      'subscription.product.price_in_cents': 5000,
    };
    await chargify('signup_success', sub);
    await chargify('payment_success', {
      ...sub,
      'transaction.id': 555,
      'transaction.amount_in_cents': 5000,
      'transaction.memo': 'First month',
    });
    // Bo's subscription, cancelled: subscriptions by state reads one active, one canceled.
    const bo = { ...sub, 'subscription.id': 78, 'subscription.customer.reference': 'bo' };
    await chargify('signup_success', bo);
    await chargify('subscription_state_change', { ...bo, 'subscription.state': 'canceled' });

    // Deliveries for the report: three delivered, one failed (two attempts, both 503).
    await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/up`, eventTypes: ['PymtCard'] });
    downId = (await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/down`, eventTypes: ['KycUpdate'] })).body.id;
    await h.api('POST', '/v1/tenants/globex/endpoints', { url: `${rx.url}/globex-secret` });
    const example = (await h.api('GET', '/v1/event-types/PymtCard')).body.example;
    for (let i = 0; i < 3; i++)
      assert.equal((await h.api('POST', '/v1/tenants/acme/events', { type: 'PymtCard', payload: example })).status, 202);
    const down = (await h.api('POST', '/v1/tenants/acme/events', { type: 'KycUpdate', payload: { personId: 'p', kycStatus: 'P' } })).body;
    await eventually(async () => (await h.api('GET', `/v1/tenants/acme/events/${down.id}`)).body.status === 'F', 10_000, 'failed delivery');
    await eventually(async () => rx.received.filter((r) => r.path === '/up').length === 3, 10_000, 'three delivered');

    globexUser = await makeUser(h, { role: 'tenant', tenantId: globex.id });
    const u = await makeUser(h, { role: 'operator' });
    op = await openPortal(browser, h.url);
    await logInThroughPortal(op.page, { email: u.email, password: PASSWORD, code: u.code() });
    await pickTenant(op.page, 'Acme (acme)');
  });
  after(async () => {
    await browser?.close();
    await rx?.stop();
    await h?.close();
  });

  it('searches persons and organizations, and opens one to its address, custom data and billing records', async () => {
    const page = op.page;
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('Search').fill('lima');
    const table = page.getByRole('table');
    await table.getByRole('link', { name: 'Lima Holdings' }).waitFor();
    assert.ok(await table.getByRole('link', { name: 'Ana Lima' }).isVisible());
    await table.getByText('Bo Stone').waitFor({ state: 'detached' });
    assert.doesNotMatch(await table.innerText(), /Globex-Secret/);
    await screenshot(page, 'users');
    await table.getByRole('link', { name: 'Ana Lima' }).click();
    await page.getByRole('heading', { name: 'Ana Lima' }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/portal/users/${ana.id}`);
    const custom = page.getByRole('table', { name: 'Custom data' });
    assert.equal(await custom.getByRole('row', { name: /tier/ }).getByRole('cell').innerText(), 'gold');
    assert.match(await custom.innerText(), /referredBy\s+web/);
    assert.match(await page.locator('address').innerText(), /123 Anywhere St[\s\S]*Boston MA 02120[\s\S]*US/);
    assert.match(await page.getByRole('table', { name: 'Subscriptions' }).innerText(), /Gold plan[\s\S]*active[\s\S]*\$50\.00/);
    assert.match(await page.getByRole('table', { name: 'Transactions' }).innerText(), /\$50\.00\s+First month/);
    await screenshot(page, 'customer');
  });

  it('shows a report with charts and downloads its CSV', async () => {
    const page = op.page;
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.getByRole('img', { name: /^Deliveries: delivered and failed/ }).waitFor();
    assert.match((await page.getByRole('img', { name: /^Deliveries/ }).getAttribute('aria-label')) ?? '', /3 delivered and 1 failed/);
    assert.ok(await page.getByRole('img', { name: /^Latency/ }).isVisible());
    await screenshot(page, 'reports');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^herald-deliveries-.*\.csv$/);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const [header, ...rows] = csv.trimEnd().split('\r\n');
    assert.equal(header, 'start,accepted,delivered,failed,p50_ms,p99_ms');
    assert.equal(rows.length, 24, 'one row per hour of the last 24');
    const sum = (col: number) => rows.reduce((a, r) => a + Number(r.split(',')[col]), 0);
    // Accepted counts every event (the billing and customer events too); deliveries: 3 and 1.
    const totals = (await authed(h, await logInAs(h), '{ report(tenant: "acme") { totals { accepted } } }')).body.data.report.totals;
    assert.ok(totals.accepted >= 4);
    assert.deepEqual([sum(1), sum(2), sum(3)], [totals.accepted, 3, 1]);
    const busy = rows.filter((r) => r.split(',')[2] !== '0');
    assert.ok(
      busy.every((r) => /^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z,\d+,\d+,\d+,\d+,\d+$/.test(r)),
      busy.join('\n'),
    );
  });

  it('shows deliveries by event type, the most failing endpoints and subscriptions by state, each with its CSV', async () => {
    const page = op.page;
    await page.getByRole('link', { name: 'Reports', exact: true }).click();
    const byType = page.getByRole('table', { name: 'Deliveries by event type' });
    await byType.waitFor();
    const cells = async (row: string) =>
      (
        await byType
          .getByRole('row', { name: new RegExp(`^${row}\\b`) })
          .getByRole('cell')
          .allInnerTexts()
      ).slice(0, 4);
    assert.deepEqual(await cells('PymtCard'), ['3', '3', '0', '100.0 %']);
    assert.deepEqual(await cells('KycUpdate'), ['1', '0', '1', '0.0 %']);
    const csvOf = async (button: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
      return {
        name: download.suggestedFilename(),
        rows: fs
          .readFileSync(await download.path(), 'utf8')
          .trimEnd()
          .split('\r\n'),
      };
    };
    const types = await csvOf('Download event types CSV');
    assert.match(types.name, /^herald-event-types-.*\.csv$/);
    assert.equal(types.rows[0], 'event_type,accepted,delivered,failed,p50_ms,p99_ms');
    assert.match(types.rows.find((r) => r.startsWith('PymtCard,')) ?? '', /^PymtCard,3,3,0,\d+,\d+$/);
    assert.equal(
      types.rows.find((r) => r.startsWith('KycUpdate,')),
      'KycUpdate,1,0,1,,',
    );
    // One row per type the table can show (it shows 10 at first).
    assert.equal(
      types.rows.length - 1,
      (await authed(h, await logInAs(h), '{ report(tenant: "acme") { byEventType { eventType } } }')).body.data.report.byEventType.length,
    );

    const failing = page.getByRole('table', { name: 'Most failing endpoints' });
    assert.deepEqual(await failing.getByRole('row').nth(1).getByRole('cell').allInnerTexts(), ['1', '0', '0.0 %']);
    assert.equal(await failing.getByRole('rowheader').innerText(), `${rx.url}/down`);
    const failingCsv = await csvOf('Download failing endpoints CSV');
    assert.match(failingCsv.name, /^herald-failing-endpoints-.*\.csv$/);
    assert.deepEqual(failingCsv.rows, ['endpoint_id,url,deleted,delivered,failed', `${downId},${rx.url}/down,false,0,1`]);

    const states = page.getByRole('table', { name: 'Subscriptions by state' });
    assert.deepEqual(await states.getByRole('row').allInnerTexts(), ['State\tSubscriptions', 'active\t1', 'canceled\t1']);
    const statesCsv = await csvOf('Download subscriptions CSV');
    assert.match(statesCsv.name, /^herald-subscriptions-by-state-\d{4}-\d\d-\d\d\.csv$/);
    assert.deepEqual(statesCsv.rows, ['state,subscriptions', 'active,1', 'canceled,1']);
    // Each table's heading at the top of the screenshot, with a little room above it.
    const scrollTo = async (heading: string) => {
      await page.getByRole('heading', { name: heading }).evaluate((e) => (e as unknown as { scrollIntoView(): void }).scrollIntoView());
      await page.evaluate('window.scrollBy(0, -24)');
    };
    await scrollTo('Deliveries by event type');
    await screenshot(page, 'reports-by-type');
    await scrollTo('Most failing endpoints');
    await screenshot(page, 'reports-failing-billing');

    // The failing endpoint links to its deliveries in the logs.
    await failing.getByRole('link', { name: `${rx.url}/down` }).click();
    await page.getByRole('heading', { name: 'Logs', exact: true }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('endpoint'), downId);
    await page.getByRole('row').filter({ hasText: 'KycUpdate' }).first().waitFor();
    assert.equal(await page.getByLabel('Endpoint', { exact: true }).inputValue(), downId);
  });

  it('filters the logs by endpoint and recovers its failed deliveries, showing the progress to done', async () => {
    const page = op.page;
    // Three more events to the failing endpoint: four failed deliveries to recover.
    for (let i = 0; i < 3; i++)
      await h.api('POST', '/v1/tenants/acme/events', { type: 'KycUpdate', payload: { personId: `p${i}`, kycStatus: 'P' } });
    await eventually(
      async () => (await h.api('GET', '/v1/tenants/acme/events?type=KycUpdate&status=F')).body.data.length === 4,
      10_000,
      'four failed',
    );
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByLabel('Endpoint', { exact: true }).selectOption({ label: `${rx.url}/up` });
    const rows = page.getByRole('table').getByRole('row');
    await rows.filter({ hasText: 'PymtCard' }).first().waitFor();
    assert.equal(await rows.filter({ hasText: 'KycUpdate' }).count(), 0, 'only events to /up');
    await page.getByLabel('Endpoint', { exact: true }).selectOption({ label: `${rx.url}/down` });
    await page.getByLabel('Status').selectOption({ label: 'Failed' });
    await rows.filter({ hasText: 'KycUpdate' }).nth(3).waitFor();
    assert.equal(await rows.filter({ hasText: 'PymtCard' }).count(), 0, 'only events to /down');
    assert.equal(await rows.filter({ hasText: 'KycUpdate' }).count(), 4);
    assert.match(await rows.filter({ hasText: 'KycUpdate' }).first().innerText(), /503 after 2 attempts/);

    // The endpoint works again: recover the day's failures.
    fixed = true;
    await page.getByText('Bulk recovery', { exact: true }).click();
    const form = page.getByRole('form', { name: 'Bulk recovery' });
    assert.equal(await form.getByLabel('Endpoint to recover').inputValue(), downId, 'the filtered endpoint');
    await form.getByRole('button', { name: 'Start recovery' }).click();
    const progress = page.getByRole('status').filter({ hasText: /of 4 deliveries/ });
    await progress.filter({ hasText: /^Done: 4 of 4 deliveries/ }).waitFor();
    assert.match(await progress.innerText(), /to http:\/\/127\.0\.0\.1:\d+\/down sent again \(4 failed, 0 waiting for a retry\)/);
    const bar = page.getByRole('progressbar', { name: 'Recovery progress' });
    assert.equal(await bar.getAttribute('value'), '4');
    assert.equal(await bar.getAttribute('max'), '4');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'logs-recovery');

    // The receiver now answers 200: the four are delivered, as the log shows.
    await rx.waitFor((r) => r.filter((x) => x.path === '/down').length >= 8 + 4, 10_000, 'the recovered deliveries');
    await page.getByLabel('Status').selectOption({ label: 'Delivered' });
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page
          .getByRole('status')
          .filter({ hasText: /^Loading/ })
          .waitFor({ state: 'detached' });
        return (await rows.filter({ hasText: /KycUpdate[\s\S]*200 after 3 attempts/ }).count()) === 4;
      },
      10_000,
      'four delivered in the log',
    );
  });

  it('the GraphQL Builder runs a query with the session, bundled and served by Herald', async () => {
    const page = op.page;
    await page.getByRole('link', { name: 'GraphQL Builder' }).click();
    const run = page.getByRole('button', { name: /Execute query/ });
    await run.waitFor({ timeout: 30_000 });
    // Monaco writes spaces as no-break spaces: \s matches both.
    await page
      .locator('.graphiql-query-editor')
      .filter({ hasText: /query\sMe/ })
      .waitFor();
    // Build the query by ticking a field in the explorer, then run it.
    const explorer = page.locator('.graphiql-plugin');
    assert.ok(await explorer.getByText('Explorer', { exact: true }).isVisible(), 'the explorer plugin is open');
    await explorer.getByText('eventTypes', { exact: true }).click();
    await page.locator('.graphiql-query-editor').filter({ hasText: 'eventTypes' }).waitFor();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/graphql/api/authenticated') && (r.request().postData() ?? '').includes('eventTypes')),
      run.click(),
    ]);
    // Sent with the logged-in session's key; the data is the environment's.
    assert.match(answer.request().postDataJSON().extensions.sessionKey, /^sess_/);
    const data = (await answer.json()).data;
    assert.equal(data.viewer.role, 'OPERATOR');
    // The explorer picked a field of each event type for us; the catalog's types are all there.
    assert.equal(data.eventTypes.length, (await h.api('GET', '/v1/event-types?limit=100')).body.data.length);
    // And the response pane shows it (its first lines: the editor draws only what is in view).
    await page
      .locator('.graphiql-response')
      .filter({ hasText: /"role":\s"OPERATOR"/ })
      .waitFor();
    await screenshot(page, 'builder');
    assert.deepEqual(op.foreign, []);
  });

  it('a tenant user sees its own tenant only, on every screen', async () => {
    const p = await openPortal(browser, h.url);
    const page = p.page;
    await logInThroughPortal(page, { email: globexUser.email, password: PASSWORD, code: globexUser.code() });
    assert.equal(await page.getByLabel('Tenant').count(), 0, 'no tenant picker');
    assert.match(await page.getByRole('banner').innerText(), /Tenant globex/);
    await page.getByRole('heading', { name: `${rx.url}/globex-secret` }).waitFor();
    assert.equal(await page.getByRole('heading', { name: `${rx.url}/up` }).count(), 0);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('Search').fill('Ana');
    await page.getByRole('link', { name: 'Ana Globex-Secret' }).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /Ana Lima/);
    // Acme's customer by its address: not found, with the request id to quote.
    await page.goto(`${h.url}/portal/users/${ana.id}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Request id: req_/);
    assert.doesNotMatch(await page.locator('main').innerText(), /Ana Lima|ana@example\.com|gold/);
    // Even asking for acme by name in the address bar shows its own data.
    await page.goto(`${h.url}/portal/reports?tenant=acme`);
    await page.getByRole('img', { name: /^Deliveries/ }).waitFor();
    assert.match((await page.getByRole('img', { name: /^Deliveries/ }).getAttribute('aria-label')) ?? '', /0 delivered and 0 failed/);
    assert.deepEqual(
      p.pageErrors.filter((e) => !/404|Failed to load resource/.test(e)),
      [],
    );
    await p.context.close();
  });

  it('operators add a person, who logs in with the QR code they were given; sources and the audit log', async () => {
    const page = op.page;
    await page.getByRole('link', { name: 'Team' }).click();
    await page.getByLabel("New person's email").fill('new.person@globex.example');
    await page.getByLabel('Role').selectOption('TENANT');
    await pickTenant(page, 'Globex (globex)', { label: 'Their tenant' });
    await page.getByLabel('Their first password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add person' }).click();
    const card = page.getByRole('status').filter({ hasText: 'Second factor for new.person@globex.example' });
    await card.waitFor();
    assert.ok(await card.getByRole('img', { name: /QR code/ }).isVisible());
    assert.equal(await card.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count(), 10);
    const secret = await card.locator('code.secret').innerText();
    // The person logs in with the secret the screen showed.
    const p2 = await openPortal(browser, h.url);
    await logInThroughPortal(p2.page, {
      email: 'new.person@globex.example',
      password: PASSWORD,
      code: totpCode(secret, Math.floor(Date.now() / 1000)),
    });
    assert.match(await p2.page.getByRole('banner').innerText(), /Tenant globex/);
    await p2.context.close();
    await card.getByRole('button', { name: 'Done: hide it' }).click();
    await page.getByRole('button', { name: 'Disable new.person@globex.example' }).click();
    await page.getByRole('row', { name: /new\.person@globex\.example.*disabled/ }).waitFor();

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'user.created' }).first().waitFor();
    assert.match(await page.getByRole('table').innerText(), /user\.disabled/);

    await page.getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('table', { name: 'Sources' }).getByRole('cell', { name: 'Chargify' }).first().waitFor();
    await page.getByLabel('Message status').selectOption('PROCESSED');
    await page.getByRole('cell', { name: 'processed' }).first().waitFor();
    assert.ok((await page.getByRole('cell', { name: 'processed' }).count()) >= 2);
  });

  it('operators create a public key with its origin, see it listed, edit its origins and revoke it', async () => {
    const page = op.page;
    await op.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
    await page.getByRole('table').getByText('operator (first start)', { exact: true }).waitFor();
    await page.getByLabel('Kind of key').selectOption('PUBLIC');
    await page.getByLabel('Name').fill('shop embed');
    await pickTenant(page, 'Acme (acme)', { label: 'Scope' });
    await page.getByLabel('Allowed origins').fill('https://shop.example.com');
    await page.getByRole('button', { name: 'Create key' }).click();
    const card = page.getByRole('status').filter({ hasText: 'Your new public key' });
    await card.waitFor();
    assert.match(await card.innerText(), /Shown once/);
    const key = await card.getByLabel('New key').innerText();
    assert.match(key, /^pk_test_/);
    await card.getByRole('button', { name: 'Copy key' }).click();
    await card.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), key);
    const prefix = key.slice(0, 12);
    const row = page.getByRole('row').filter({ hasText: prefix });
    await row.waitFor();
    assert.match(await row.innerText(), /shop embed[\s\S]*Public[\s\S]*Tenant acme[\s\S]*https:\/\/shop\.example\.com[\s\S]*Active/);
    await screenshot(page, 'api-keys');
    // The key is what the API made: the frame of the embedded portal names its origin.
    const frame = await fetch(`${h.url}/portal/embed?key=${key}`);
    assert.match(frame.headers.get('content-security-policy') ?? '', /frame-ancestors https:\/\/shop\.example\.com/);
    await card.getByRole('button', { name: 'Done: hide it' }).click();
    await card.waitFor({ state: 'detached' });

    // A wrong origin is refused with what to write instead; then the right ones are saved.
    await row.getByRole('button', { name: `Edit origins of ${prefix}… (shop embed)` }).click();
    const form = page.getByRole('form', { name: `Allowed origins of ${prefix}… (shop embed)` });
    const origins = form.getByLabel('Allowed origins');
    assert.equal(await origins.inputValue(), 'https://shop.example.com');
    await origins.fill('https://app.example.com/portal');
    await form.getByRole('button', { name: 'Save origins' }).click();
    await form.getByRole('alert').filter({ hasText: 'here: "https://app.example.com"' }).waitFor();
    await origins.fill('https://app.example.com\nhttps://shop.example.com');
    await form.getByRole('button', { name: 'Save origins' }).click();
    await form.waitFor({ state: 'detached' });
    assert.match(await row.innerText(), /https:\/\/app\.example\.com\s+https:\/\/shop\.example\.com/);

    // Revoking asks first; a declined question changes nothing.
    page.once('dialog', (d) => void d.dismiss());
    await row.getByRole('button', { name: `Revoke ${prefix}… (shop embed)` }).click();
    assert.match(await row.innerText(), /Active/);
    page.once('dialog', (d) => {
      assert.match(d.message(), /cannot be undone/);
      void d.accept();
    });
    await row.getByRole('button', { name: `Revoke ${prefix}… (shop embed)` }).click();
    await row.getByText('Revoked').waitFor();
    assert.equal(await row.getByRole('button').count(), 0, 'a revoked key has nothing left to do');
    const frameAfter = await fetch(`${h.url}/portal/embed?key=${key}`);
    assert.match(frameAfter.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);

    // Not for tenant users: no link, and the address shows nothing. (A user of its own: a TOTP
    // code works once, and globex's user may have logged in within this 30 s.)
    const acmeUser = await makeUser(h, { role: 'tenant', tenantId: (await h.api('GET', '/v1/tenants/acme')).body.id });
    const p = await openPortal(browser, h.url);
    await logInThroughPortal(p.page, { email: acmeUser.email, password: PASSWORD, code: acmeUser.code() });
    assert.equal(await p.page.getByRole('link', { name: 'API keys' }).count(), 0);
    await p.page.goto(`${h.url}/portal/keys`);
    await p.page.getByRole('heading', { name: 'Not found' }).waitFor();
    await p.context.close();
  });

  it('has no serious or critical accessibility violations (axe-core) and fits a phone', async () => {
    const page = op.page;
    const screens: [string, string][] = [
      ['/webhooks', 'Webhooks'],
      ['/logs', 'Logs'],
      ['/users', 'Users'],
      [`/users/${ana.id}`, 'Ana Lima'],
      ['/reports', 'Reports'],
      ['/sources', 'Sources'],
      ['/team', 'Team'],
      ['/keys', 'API keys'],
      ['/audit', 'Audit log'],
    ];
    const found: string[] = [];
    for (const [path, heading] of screens) {
      await page.goto(`${h.url}/portal${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page
        .getByRole('status')
        .filter({ hasText: /^Loading/ })
        .waitFor({ state: 'detached' })
        .catch(() => undefined);
      found.push(...(await seriousA11yViolations(page)).map((v) => `${path}: ${v}`));
    }
    const login = await openPortal(browser, h.url);
    found.push(...(await seriousA11yViolations(login.page)).map((v) => `login: ${v}`));
    await login.context.close();
    assert.deepEqual(found, []);
    // A 390×844 phone: every screen fits its width (nothing to scroll sideways but tables' own).
    const phone = await openPortal(browser, h.url, { viewport: { width: 390, height: 844 } });
    assert.ok((await horizontalOverflow(phone.page)) <= 0, 'login fits');
    const u = await makeUser(h, { role: 'operator' });
    await logInThroughPortal(phone.page, { email: u.email, password: PASSWORD, code: u.code() });
    await pickTenant(phone.page, 'Acme (acme)');
    for (const [path, heading] of [
      ['/webhooks', 'Webhooks'],
      ['/logs', 'Logs'],
      ['/reports', 'Reports'],
    ]) {
      await phone.page.goto(`${h.url}/portal${path}`);
      await phone.page.getByRole('heading', { name: heading, exact: true }).waitFor();
      assert.ok((await horizontalOverflow(phone.page)) <= 0, `${path} fits a phone (${await horizontalOverflow(phone.page)} px over)`);
    }
    await screenshot(phone.page, 'phone-reports');
    await phone.context.close();
  });
});
