import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  launchChromium,
  logInThroughPortal,
  openPortal,
  pickTenant,
  screenshot,
  seriousA11yViolations,
  sessionKeyOf,
} from './helpers/browser.js';
import { totpCode } from '../src/accounts/totp.js';
import { PASSWORD, makeUser } from './helpers/graphql.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';

// The portal's login, in a real Chromium against a real Herald (SQLite: login stores nothing the
// dialects treat differently; the GraphQL tests cover both).
describe('portal: logging in', () => {
  let h: TestHerald;
  let browser: Browser;
  before(async () => {
    [h, browser] = await Promise.all([startHerald('sqlite'), launchChromium()]);
    const t = await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' });
    assert.equal(t.status, 201);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('logs in with email, password and a TOTP code, and shows the screens', async () => {
    const u = await makeUser(h, { role: 'operator' });
    const p = await openPortal(browser, h.url);
    await screenshot(p.page, 'login');
    await logInThroughPortal(p.page, { email: u.email, password: PASSWORD, code: u.code() });
    for (const name of ['Webhooks', 'Users', 'Reports']) assert.ok(await p.page.getByRole('link', { name, exact: true }).isVisible(), name);
    // An operator starts on its first tenant, and picks another with Tenant.
    await p.page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    const acme = (await h.api('GET', '/v1/tenants/acme')).body.id;
    const tenant = p.page.getByRole('combobox', { name: 'Tenant', exact: true });
    await eventually(async () => (await tenant.inputValue()) === 'Acme (acme)', 10_000, 'Acme chosen');
    assert.equal(await p.page.evaluate("sessionStorage.getItem('herald.tenant')"), acme);
    await pickTenant(p.page, 'Operator (operational events) (_operator)', { type: '_op' });
    await p.page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await pickTenant(p.page, 'Acme (acme)');
    assert.deepEqual(p.foreign, []);
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  });

  it('enrols a person added "to enrol at first login": QR code and secret, first code, recovery codes once, then in', async () => {
    // An operator adds the person on the Team screen; no secret is shown to the operator.
    const op = await makeUser(h, { role: 'operator' });
    const p = await openPortal(browser, h.url);
    await logInThroughPortal(p.page, { email: op.email, password: PASSWORD, code: op.code() });
    await p.page.getByRole('link', { name: 'Team' }).click();
    const email = `first.login-${Math.random().toString(36).slice(2, 6)}@example.com`;
    await p.page.getByLabel("New person's email").fill(email);
    await p.page.getByLabel('Role').selectOption('OPERATOR');
    await p.page.getByLabel('Their first password').fill(PASSWORD);
    await p.page.getByLabel('To enrol at first login').check();
    await p.page.getByRole('button', { name: 'Add person' }).click();
    const card = p.page.getByRole('status').filter({ hasText: `${email} is added` });
    await card.waitFor();
    assert.equal(await card.locator('code.secret').count(), 0, 'no secret for the operator to see');
    await p.page.getByRole('row', { name: new RegExp(`${email.replace(/\./g, '\\.')}.*sets up the authenticator`) }).waitFor();
    await p.context.close();

    // The person logs in with email and password only, and is asked to set up an authenticator.
    const q = await openPortal(browser, h.url);
    await q.page.getByLabel('Email').fill(email);
    await q.page.getByLabel('Password').fill(PASSWORD);
    await q.page.getByRole('button', { name: 'Log in' }).click();
    await q.page.getByRole('heading', { name: 'Set up your authenticator' }).waitFor();
    const qr = q.page.getByRole('img', { name: 'QR code to scan with your authenticator app' });
    assert.ok(await qr.isVisible());
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/svg\+xml;base64,/);
    // decode() fails for an image the page could not load (a Content-Security-Policy refusing data:, say).
    const width = await qr.evaluate((img) => {
      const i = img as unknown as { decode(): Promise<void>; naturalWidth: number };
      return i.decode().then(() => i.naturalWidth);
    });
    assert.ok(width > 0, 'the QR code is drawn');
    const secret = await q.page.locator('code.secret').innerText();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await screenshot(q.page, 'enrol');
    assert.deepEqual(await seriousA11yViolations(q.page), []);
    // A wrong code is shown with its request id; the right one enrols.
    const right = totpCode(secret, Math.floor(Date.now() / 1000));
    await q.page.getByLabel('Authentication code').fill(right === '000000' ? '111111' : '000000');
    await q.page.getByRole('button', { name: 'Confirm' }).click();
    assert.match(await q.page.getByRole('alert').innerText(), /Request id: req_/);
    await q.page.getByLabel('Authentication code').fill(totpCode(secret, Math.floor(Date.now() / 1000)));
    await q.page.getByRole('button', { name: 'Confirm' }).click();
    const codes = q.page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    const firstCode = await codes.first().innerText();
    await screenshot(q.page, 'recovery-codes');
    assert.deepEqual(await seriousA11yViolations(q.page), []);
    await q.page.getByRole('button', { name: 'I have kept them: continue' }).click();
    await q.page.getByRole('navigation', { name: 'Main' }).waitFor();
    const viewer = await fetch(`${h.url}/graphql/api/authenticated`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { username } }', extensions: { sessionKey: await sessionKeyOf(q.page) } }),
    }).then((r) => r.json() as Promise<any>);
    assert.equal(viewer.data.viewer.username, email);
    assert.deepEqual(q.foreign, []);
    await q.context.close();

    // Enrolled: the next login needs the second factor (a recovery code shown on that screen works).
    const again = await openPortal(browser, h.url);
    await again.page.getByLabel('Email').fill(email);
    await again.page.getByLabel('Password').fill(PASSWORD);
    await again.page.getByRole('button', { name: 'Log in' }).click();
    await again.page.getByRole('alert').waitFor();
    await again.page.getByRole('button', { name: 'Lost your authenticator? Use a recovery code' }).click();
    await again.page.getByLabel('Recovery code').fill(firstCode);
    await again.page.getByRole('button', { name: 'Log in' }).click();
    await again.page.getByRole('navigation', { name: 'Main' }).waitFor();
    await again.context.close();
  });

  it('shows a wrong code with its request id, and keeps what was typed', async () => {
    const u = await makeUser(h, { role: 'operator' });
    const p = await openPortal(browser, h.url);
    await p.page.getByLabel('Email').fill(u.email);
    await p.page.getByLabel('Password').fill(PASSWORD);
    await p.page.getByLabel('Authentication code').fill('000000');
    await p.page.getByRole('button', { name: 'Log in' }).click();
    const alert = p.page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Request id: req_/);
    assert.equal(await p.page.getByLabel('Email').inputValue(), u.email);
    // Then the right code works.
    await p.page.getByLabel('Authentication code').fill(u.code());
    await p.page.getByRole('button', { name: 'Log in' }).click();
    await p.page.getByRole('navigation', { name: 'Main' }).waitFor();
    await p.context.close();
  });

  it('when the session ends, asks to log in again over the screen and loses nothing typed', async () => {
    const u = await makeUser(h, { role: 'operator' });
    const p = await openPortal(browser, h.url);
    await logInThroughPortal(p.page, { email: u.email, password: PASSWORD, code: u.code() });
    await p.page.getByRole('button', { name: 'Add endpoint' }).click();
    const receiverUrl = 'http://127.0.0.1:9/kept-while-logged-out';
    await p.page.getByLabel('Endpoint URL').fill(receiverUrl);
    // The session ends behind the page's back (as after 20 minutes).
    const key = await sessionKeyOf(p.page);
    const out = await fetch(`${h.url}/graphql/api/authenticated`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { logOut }', extensions: { sessionKey: key } }),
    });
    assert.equal(out.status, 200);
    await p.page.getByRole('button', { name: 'Save' }).click();
    const dialog = p.page.getByRole('dialog', { name: 'Your session has ended' });
    await dialog.waitFor();
    await screenshot(p.page, 'session-expired');
    // The same person, with a recovery code (the TOTP code of this step was used).
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Lost your authenticator? Use a recovery code' }).click();
    await dialog.getByLabel('Recovery code').fill(u.recoveryCodes[0]);
    await dialog.getByRole('button', { name: 'Log in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // The Save that was waiting went through with the new session.
    await p.page.getByRole('heading', { name: receiverUrl }).waitFor();
    const list = await h.api('GET', '/v1/tenants/acme/endpoints');
    assert.ok(list.body.data.some((e: { url: string }) => e.url === receiverUrl));
    await p.context.close();
  });

  it('refreshes the session before its 20 minutes run out', async () => {
    const u = await makeUser(h, { role: 'operator' });
    const p = await openPortal(browser, h.url, { fakeClock: true });
    await logInThroughPortal(p.page, { email: u.email, password: PASSWORD, code: u.code() });
    const first = await sessionKeyOf(p.page);
    await p.page.clock.fastForward('16:00');
    // Polled from here: waitForFunction's string predicate is an eval, which the portal's CSP refuses.
    let second = first;
    for (const end = Date.now() + 15_000; second === first && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      second = await sessionKeyOf(p.page);
    }
    assert.notEqual(second, first, 'the portal refreshed its session key before the 20 minutes ran out');
    // The old key ended with the refresh; the new one works.
    const ask = (key: string) =>
      fetch(`${h.url}/graphql/api/authenticated`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ viewer { username } }', extensions: { sessionKey: key } }),
      }).then((r) => r.json() as Promise<any>);
    assert.equal((await ask(first)).errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.equal((await ask(second)).data.viewer.username, u.email);
    await p.context.close();
  });
});
