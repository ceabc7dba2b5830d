import AxeBuilder from '@axe-core/playwright';
import { expect, type Browser, type BrowserContextOptions, type FrameLocator, type Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../playwright.config';

/** The composer's text box (exact name: the message log is "Messages"). */
export const composer = (page: Page | FrameLocator) => page.getByRole('textbox', { name: 'Message', exact: true });

/** The conversation's message log. */
export const messageLog = (page: Page | FrameLocator) => page.getByRole('log', { name: 'Messages' });

/** A new browser context signed in to the inbox, live (`options` for the
 * context: a phone's viewport, say). */
export async function signIn(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  await page.goto('/inbox');
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  return page;
}

/** A new browser context signing in as someone else (no wait: the caller
 * checks what the sign-in led to). */
export async function signInAs(browser: Browser, email: string, password: string) {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/inbox');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

/** Waits until the page is hydrated (before that the bubble is a plain link
 * to the full-page messenger). */
export async function hydrated(page: Page) {
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

/** From now on, watches for the team page as a whole being swapped for its
 * "Loading…" placeholder (to the user, the page blinks and loses focus and
 * what was being typed). Returns a reader of how many DOM changes happened
 * while the placeholder was up: 0 when the page never blinked. */
export async function countPageBlinks(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const w = window as unknown as { pageBlinks: number };
    w.pageBlinks = 0;
    new MutationObserver(() => {
      if (document.querySelector('p.loading')) w.pageBlinks += 1;
    }).observe(document.body, { subtree: true, childList: true });
  });
  return () => page.evaluate(() => (window as unknown as { pageBlinks: number }).pageBlinks);
}

/** A new visitor on the demo site with the messenger panel open, live. */
export async function openMessenger(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Open chat' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  return page;
}

/** Writes and sends a message, and waits until the server acknowledged it. */
export async function say(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await expect(messageLog(page).getByText(text)).toBeVisible();
  await expect(messageLog(page).getByText('Sending…')).toHaveCount(0);
}

/** Closes every browser context a test opened, so no page of one test (say,
 * an agent still online) changes what the next one sees. */
export async function closeContexts({ browser }: { browser: Browser }) {
  await Promise.all(browser.contexts().map((context) => context.close()));
}

/** Moderate findings that still fail the check: every page has one h1 and
 * one main landmark. */
const ALSO_FAIL = ['page-has-heading-one', 'landmark-one-main'];

/** No horizontal scroll, and no serious or critical axe finding. */
export async function checkPage(page: Page, what: string) {
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  expect(widths.scroll, `${what}: page wider than the screen`).toBeLessThanOrEqual(widths.inner);
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical' || ALSO_FAIL.includes(v.id))
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(bad, `${what}: accessibility violations`).toEqual([]);
}

/** Sends `count` messages ("<prefix> 1", "<prefix> 2", …) through a real
 * socket of the page's own visitor, and waits until each is acknowledged. */
export async function seedMessages(page: Page, count: number, prefix: string) {
  await page.evaluate(async ([count, prefix]) => {
    const ws = new WebSocket(`ws://${location.host}/ws?role=visitor`);
    let acked = 0;
    const done = new Promise<void>((resolve) => {
      ws.onmessage = (event) => {
        if (JSON.parse(event.data).type === 'ack' && ++acked === count) resolve();
      };
    });
    await new Promise((resolve) => (ws.onopen = resolve));
    for (let i = 1; i <= count; i++) {
      ws.send(JSON.stringify({ type: 'send', client_id: crypto.randomUUID(), body: `${prefix} ${i}` }));
    }
    await done;
    ws.close();
  }, [count, prefix] as const);
}
