import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, logInThroughPortal, openPortal, type PortalPage, screenshot, seriousA11yViolations } from './helpers/browser.js';
import { makeUser, PASSWORD } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';

// The operator's tenant picker with more tenants than one page holds, in a real Chromium against a
// real Herald (SQLite: the search's SQL is tested on both dialects in test/tenants/): found by
// typing and taken with the keyboard, more loaded at the end of the list, and a remembered choice
// far down the list kept across a reload instead of being replaced by the first tenant.
describe('portal: choosing among hundreds of tenants', () => {
  const COUNT = 260;
  let h: TestHerald;
  let browser: Browser;
  let p: PortalPage;
  const ids: Record<number, string> = {};
  const field = (page: Page) => page.getByRole('combobox', { name: 'Tenant', exact: true });
  const chosen = (page: Page) => page.evaluate<string | null>("sessionStorage.getItem('herald.tenant')");
  const shows = (page: Page, text: string) =>
    eventually(async () => (await field(page).inputValue()) === text, 10_000, `Tenant shows ${text}`);

  before(async () => {
    [h, browser] = await Promise.all([startHerald('sqlite'), launchChromium()]);
    // Tenant 1 is the oldest: tenants list newest first, so #150 is the 111th, past a page of 100.
    for (let i = 1; i <= COUNT; i++) {
      const r = await h.api('POST', '/v1/tenants', { uid: `t-${i}`, name: `Tenant ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[i] = r.body.id;
    }
    const page = await h.api('GET', '/v1/tenants?limit=100');
    assert.ok(!page.body.data.some((t: { uid: string }) => t.uid === 't-150'), 'tenant #150 is not on the first page of 100');
    await h.api('POST', '/v1/tenants/t-150/endpoints', { url: 'https://hooks.example.com/tenant-150' });
    const u = await makeUser(h, { role: 'operator' });
    p = await openPortal(browser, h.url);
    await logInThroughPortal(p.page, { email: u.email, password: PASSWORD, code: u.code() });
  });
  after(async () => {
    await p?.context.close();
    await browser?.close();
    await h?.close();
  });

  it('finds tenant #150 by typing, takes it with the keyboard, and keeps it across a reload', async () => {
    const page = p.page;
    // The operator starts on the newest tenant.
    await shows(page, `Tenant ${COUNT} (t-${COUNT})`);
    await field(page).click();
    await field(page).pressSequentially('tenant 150');
    const option = page.getByRole('option', { name: 'Tenant 150 (t-150)', exact: true });
    await option.waitFor();
    assert.equal(await page.getByRole('listbox').getByRole('option').count(), 1, 'only the tenant that starts so');
    await field(page).press('ArrowDown');
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    assert.equal(await field(page).getAttribute('aria-activedescendant'), await option.getAttribute('id'));
    await field(page).press('Enter');
    await shows(page, 'Tenant 150 (t-150)');
    assert.equal(await field(page).getAttribute('aria-expanded'), 'false');
    assert.equal(await chosen(page), ids[150]);
    await page.getByRole('heading', { name: 'https://hooks.example.com/tenant-150' }).waitFor();

    await page.reload();
    await shows(page, 'Tenant 150 (t-150)');
    await page.getByRole('heading', { name: 'https://hooks.example.com/tenant-150' }).waitFor();
    assert.equal(await chosen(page), ids[150], 'looked up by id, not replaced by the first tenant');
    assert.deepEqual(p.pageErrors, []);
  });

  it('loads more at the end of the list, by keyboard and by scrolling; Escape puts the choice back', async () => {
    const page = p.page;
    const options = page.getByRole('listbox').getByRole('option');
    await field(page).focus();
    await field(page).press('ArrowDown'); // opens the list of every tenant, newest first
    await eventually(async () => (await options.count()) === 20, 10_000, 'the first 20');
    for (let i = 0; i < 20; i++) await field(page).press('ArrowDown');
    await eventually(async () => (await options.count()) === 40, 10_000, 'the next 20, arrowing down');
    assert.match(
      (await page.getByRole('status').filter({ hasText: 'tenants' }).textContent()) ?? '',
      /40\+ tenants: scroll or press ↓ for more/,
    );
    await screenshot(page, 'tenant-picker');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.evaluate("(() => { const l = document.querySelector('.combo-popup:not([hidden]) ul'); l.scrollTo(0, l.scrollHeight); })()");
    await eventually(async () => (await options.count()) === 60, 10_000, 'the next 20, scrolling');
    await field(page).press('Escape');
    assert.equal(await field(page).getAttribute('aria-expanded'), 'false');
    await field(page).fill('nobody');
    await page.getByText('No tenant has a uid or name that starts with "nobody".').first().waitFor();
    await field(page).press('Escape');
    await field(page).press('Escape');
    assert.equal(await field(page).inputValue(), 'Tenant 150 (t-150)', 'Escape put the choice back');
    assert.equal(await chosen(page), ids[150]);
  });

  it('opens a link naming a tenant by uid on that tenant', async () => {
    const page = p.page;
    await page.goto(`${h.url}/portal/webhooks?tenant=t-7`);
    await shows(page, 'Tenant 7 (t-7)');
    assert.equal(await chosen(page), ids[7]);
    // One that does not exist is replaced by the newest tenant.
    await page.goto(`${h.url}/portal/webhooks?tenant=t-9999`);
    await shows(page, `Tenant ${COUNT} (t-${COUNT})`);
    assert.deepEqual(p.pageErrors, []);
  });
});
