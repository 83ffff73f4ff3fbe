import fs from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium; .ci/run installs it when it is missing). */
export const CHROMIUM = process.env.TEST_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the portal's tests run Chromium with: headless, and quiet (no call to any other host). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One Chromium for a test file: launch it in `before`, close it in `after`. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set TEST_CHROMIUM to a Chromium or Chrome binary)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface PortalPage {
  context: BrowserContext;
  page: Page;
  /** Every request the page made to a host other than Herald's (should stay empty). */
  foreign: string[];
  /** Errors the page's scripts threw or logged. */
  pageErrors: string[];
}

/**
 * A fresh browser context (its own storage: a person of their own) with one page, recording
 * requests to other hosts and script errors. Downloads are accepted, so a test can read them.
 */
export async function openPortal(
  browser: Browser,
  heraldUrl: string,
  opts: { viewport?: { width: number; height: number }; fakeClock?: boolean } = {},
): Promise<PortalPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: opts.viewport ?? { width: 1280, height: 800 } });
  // A clock the test moves (page.clock.fastForward), for what happens after minutes.
  if (opts.fakeClock) await context.clock.install();
  const page = await context.newPage();
  const origin = new URL(heraldUrl).origin;
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.setDefaultTimeout(15_000);
  await page.goto(`${heraldUrl}/portal/`);
  return { context, page, foreign, pageErrors };
}

/** Logs in on the login screen by its accessible names, as a person would. */
export async function logInThroughPortal(
  page: Page,
  u: { email: string; password: string; code: string },
  environment?: 'Sandbox' | 'Production',
): Promise<void> {
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Password').fill(u.password);
  await page.getByLabel('Authentication code').fill(u.code);
  if (environment) await page.getByLabel('Environment').selectOption({ label: environment });
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/**
 * Picks a tenant in a tenant picker (portal/src/ui/TenantPicker.tsx) as a person does: types the
 * start of its name (or `type`) into the field, then clicks the option, named "Name (uid)".
 */
export async function pickTenant(page: Page, option: string, opts: { label?: string; type?: string } = {}): Promise<void> {
  await page.getByRole('combobox', { name: opts.label ?? 'Tenant', exact: true }).fill(opts.type ?? option.replace(/ \([^)]*\)$/, ''));
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** Screenshots for docs/portal.md, when TEST_SCREENSHOTS names a folder (they are not needed otherwise). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.TEST_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: false });
}

/** The session key the portal keeps for its tab (sessionStorage), as a test reads it. */
export const sessionKeyOf = (page: Page): Promise<string> => page.evaluate("JSON.parse(sessionStorage.getItem('herald.session')).key");

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical violations on the page, or in one frame such as the embedded
 * portal's, as it is now (WCAG 2.1 A and AA rules and best practices). axe is evaluated through the
 * DevTools protocol, which the page's Content-Security-Policy (scripts from Herald only) does not govern.
 */
export async function seriousA11yViolations(page: Page | Frame): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  const violations = await page.evaluate<AxeViolation[]>('axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)');
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} (${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(', ')})`,
    );
}

/** How far the page is wider than its viewport (0: nothing to scroll sideways). */
export const horizontalOverflow = (page: Page): Promise<number> =>
  page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
