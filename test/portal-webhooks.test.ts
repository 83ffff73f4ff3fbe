import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, logInThroughPortal, openPortal, pickTenant, type PortalPage, screenshot } from './helpers/browser.js';
import { PASSWORD, makeUser } from './helpers/graphql.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';
import { DIALECTS } from './helpers/db.js';

// Webhooks in the portal, in a real Chromium against a real Herald and a real receiver, on both
// databases (endpoints, deliveries and attempts are stored).
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

for (const dialect of DIALECTS) {
  describe(`portal: webhooks (${dialect})`, () => {
    let h: TestHerald;
    let receiver: Receiver;
    let p: PortalPage;
    before(async () => {
      [h, receiver] = await Promise.all([startHerald(dialect), new Receiver(() => ({ status: 201, body: '{"received":true}' })).start()]);
      await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' });
      await h.api('POST', '/v1/tenants', { uid: 'globex', name: 'Globex' });
      assert.equal((await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' })).status, 200);
      assert.equal((await h.api('POST', '/v1/event-types/import', { catalog: 'billing' })).status, 200);
      const u = await makeUser(h, { role: 'operator' });
      p = await openPortal(browser, h.url);
      await logInThroughPortal(p.page, { email: u.email, password: PASSWORD, code: u.code() });
      await pickTenant(p.page, 'Acme (acme)');
    });
    after(async () => {
      await p?.context.close();
      await receiver?.stop();
      await h?.close();
    });

    it('adds an endpoint by ticking event types, grouped by catalog with descriptions and examples', async () => {
      const page = p.page;
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page.getByLabel('Endpoint URL').fill(`${receiver.url}/hooks`);
      const productfy = page.getByRole('group', { name: 'Productfy events' });
      await productfy.getByRole('checkbox', { name: 'PymtCard', exact: true }).check();
      await productfy.getByRole('checkbox', { name: 'KycUpdate', exact: true }).check();
      // Each type says what it is and shows its example payload.
      const card = productfy.getByRole('listitem').filter({ has: page.getByRole('checkbox', { name: 'PymtCard', exact: true }) });
      assert.match(await card.innerText(), /card transaction/i);
      await card.getByText('Example payload').click();
      assert.match(await card.locator('pre').innerText(), /"\w+":/);
      assert.ok(await page.getByRole('group', { name: 'Billing events' }).getByRole('checkbox').first().isVisible());
      await page.getByRole('heading', { name: 'New endpoint' }).scrollIntoViewIfNeeded();
      await screenshot(page, 'add-endpoint');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: `${receiver.url}/hooks` }).waitFor();
      assert.match(await page.getByRole('status').filter({ hasText: 'signing secret' }).innerText(), /whsec_/);
      const list = await h.api('GET', '/v1/tenants/acme/endpoints');
      assert.equal(list.body.data.length, 1);
      assert.deepEqual(list.body.data[0].eventTypes, ['KycUpdate', 'PymtCard']);
    });

    it('sends a test event and shows the status, duration and body the endpoint answered', async () => {
      const page = p.page;
      const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `${receiver.url}/hooks` }) });
      await card.getByLabel('Test event type').selectOption('PymtCard');
      await card.getByRole('button', { name: 'Send test event' }).click();
      const result = card.getByRole('status').filter({ hasText: 'answered' });
      await result.waitFor();
      assert.match(await result.innerText(), /answered HTTP 201 in \d+ ms/);
      assert.match(await result.innerText(), /"received":true/);
      await screenshot(page, 'test-event');
      // The receiver got it, signed, of the chosen type.
      await receiver.waitForCount(1);
      const got = receiver.received[0];
      assert.equal(got.path, '/hooks');
      assert.ok(got.headers['webhook-signature']);
      assert.equal(JSON.parse(got.body).type, 'PymtCard');
    });

    it('finds the test event in the logs, with its attempts, and resends it', async () => {
      const page = p.page;
      await page.getByRole('link', { name: 'Logs', exact: true }).click();
      await page.getByLabel('Event type').selectOption('PymtCard');
      await page.getByLabel('Status').selectOption({ label: 'Delivered' });
      const rows = page.getByRole('table').getByRole('row').filter({ hasText: 'PymtCard' });
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1);
      await rows.getByRole('button', { name: /^Details/ }).click();
      const attempts = page.getByRole('list', { name: `Attempts to ${receiver.url}/hooks` });
      await attempts.getByText(/Attempt 1 at .*: HTTP 201 in \d+ ms/).waitFor();
      assert.match(await attempts.innerText(), /"received":true/);
      await page.getByRole('button', { name: 'Resend' }).click();
      await receiver.waitForCount(2);
      await attempts.getByText(/Attempt 2 at .*: HTTP 201/).waitFor();
      await screenshot(page, 'logs');
      // A filter that matches nothing says so.
      await page.getByLabel('Event type').selectOption('KycUpdate');
      await page.getByText('No events match these filters.').waitFor();
      await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    });

    it('edits a webhook: untick a type, and Save', async () => {
      const page = p.page;
      const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `${receiver.url}/hooks` }) });
      await card.getByRole('button', { name: 'Edit Webhook' }).click();
      const form = page.getByRole('form', { name: /^Edit webhook/ });
      assert.equal(await form.getByLabel('Endpoint URL').inputValue(), `${receiver.url}/hooks`);
      assert.equal(await form.getByRole('checkbox', { name: 'PymtCard', exact: true }).isChecked(), true);
      await form.getByRole('checkbox', { name: 'KycUpdate', exact: true }).uncheck();
      await form.getByRole('button', { name: 'Save' }).click();
      await form.waitFor({ state: 'detached' });
      const list = await h.api('GET', '/v1/tenants/acme/endpoints');
      assert.deepEqual(list.body.data[0].eventTypes, ['PymtCard']);
    });

    it("shows each endpoint's health: disabled and why, an open circuit", async () => {
      const off = await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${receiver.url}/off` });
      assert.equal((await h.api('PATCH', `/v1/tenants/acme/endpoints/${off.body.id}`, { enabled: false })).status, 200);
      const failing = await h.api('POST', '/v1/tenants/acme/endpoints', { url: `${receiver.url}/failing` });
      // Its circuit as the delivery worker leaves it after five failures in a row.
      const until = Date.now() + 600_000;
      await h.herald.db.run('UPDATE endpoints SET consecutive_failures = 5, failing_since = $2, circuit_open_until = $3 WHERE id = $1', [
        failing.body.id,
        Date.now() - 60_000,
        until,
      ]);
      await p.page.reload();
      const card = (path: string) =>
        p.page.getByRole('listitem').filter({ has: p.page.getByRole('heading', { name: `${receiver.url}${path}` }) });
      await card('/off').waitFor();
      assert.match(await card('/off').innerText(), /Disabled.*disabled/is);
      assert.match(await card('/failing').innerText(), /Circuit open\s+5 failures in a row/);
      assert.match(await card('/hooks').innerText(), /Healthy/);
      assert.equal(await card('/off').getByRole('button', { name: 'Send test event' }).isDisabled(), true);
      await screenshot(p.page, 'webhooks');
      assert.deepEqual(p.foreign, []);
      assert.deepEqual(p.pageErrors, []);
    });
  });
}
