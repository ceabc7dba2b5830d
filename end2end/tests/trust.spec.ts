import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { test, expect } from '@playwright/test';
import { ALLOWED_ORIGIN, IDENTITY_SECRET, MINICOM_URL, OTHER_ORIGIN } from '../playwright.config';
import { closeContexts, signIn, signInAs, hydrated } from './support';

test.afterEach(closeContexts);

test('signing out in one tab signs out the others', async ({ browser }) => {
  const first = await signIn(browser);
  const second = await first.context().newPage();
  await second.goto('/inbox');
  await expect(second.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();

  await first.getByRole('button', { name: 'Sign out' }).click();
  await expect(first.getByRole('heading', { name: 'Sign in to your inbox' })).toBeVisible();
  await expect(second.getByText('You were signed out.')).toBeVisible();
  await second.getByRole('link', { name: 'Sign in again' }).click();
  await expect(second.getByRole('heading', { name: 'Sign in to your inbox' })).toBeVisible();
});


test('an admin adds a teammate, who signs in, then deactivates them', async ({ browser }) => {
  const admin = await signIn(browser);
  await admin.getByRole('link', { name: 'Team', exact: true }).click();
  await expect(admin.getByRole('heading', { name: 'Team', exact: true })).toBeVisible();
  const email = `ben.${Date.now()}@example.com`;
  await admin.getByLabel('Name').fill('Ben');
  await admin.getByLabel('Email').fill(email);
  await admin.getByRole('button', { name: 'Add teammate' }).click();
  const password = (await admin.locator('code.password').textContent())!.trim();
  expect(password.length).toBeGreaterThanOrEqual(16);
  await expect(admin.getByRole('cell', { name: email })).toBeVisible();

  const ben = await signInAs(browser, email, password);
  await expect(ben.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  // Ben is not an admin: the team page says so.
  const benTeam = await ben.context().newPage();
  await benTeam.goto('/inbox/team');
  await expect(benTeam.getByText('Only admins can manage the team.')).toBeVisible();

  await admin.getByRole('button', { name: 'Deactivate Ben' }).click();
  await expect(admin.getByRole('button', { name: 'Activate Ben' })).toBeVisible();
  await expect(ben.getByText('You were signed out.')).toBeVisible();
  const again = await signInAs(browser, email, password);
  await expect(again.getByRole('alert')).toContainText("don't match an active account");

  // Adding the same email twice is refused with a clear message.
  await admin.getByLabel('Name').fill('Ben again');
  await admin.getByLabel('Email').fill(email);
  await admin.getByRole('button', { name: 'Add teammate' }).click();
  await expect(admin.getByRole('alert')).toContainText('already on the team');
});

/** Serves, on a real local port, another site's page that embeds the
 * messenger in an iframe — and, given a script, runs it on that page. */
async function embeddingSite(origin: string, script = ''): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(`<!doctype html><title>Shop</title><h1>A shop</h1>
      <iframe title="Chat" src="${MINICOM_URL}/messenger" width="400" height="600"></iframe>
      <script>${script}</script>`);
  });
  await new Promise<void>((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
  return server;
}

test('the messenger can be embedded by an allowed site only', async ({ browser }) => {
  const sites = [await embeddingSite(ALLOWED_ORIGIN), await embeddingSite(OTHER_ORIGIN)];
  try {
    const allowed = await (await browser.newContext()).newPage();
    await allowed.goto(`${ALLOWED_ORIGIN}/`);
    await expect(allowed.frameLocator('iframe').getByRole('heading', { name: 'Northwind Coffee' })).toBeVisible();

    const other = await (await browser.newContext()).newPage();
    const refused = other.waitForEvent('console', (m) => m.text().includes('frame-ancestors'));
    await other.goto(`${OTHER_ORIGIN}/`);
    expect((await refused).text()).toContain('has been blocked');
    await expect(other.frameLocator('iframe').getByRole('heading', { name: 'Northwind Coffee' })).toHaveCount(0);
  } finally {
    for (const site of sites) site.close();
  }
});

test('an allowed site tells the framed messenger who its signed-in user is', async ({ browser }) => {
  // What the shop's server computes, and its page hands to the frame when it is ready.
  const userHash = createHmac('sha256', IDENTITY_SECRET).update('shop-user-7').digest('hex');
  const site = await embeddingSite(ALLOWED_ORIGIN, `
    window.addEventListener('message', (event) => {
      if (event.origin !== '${MINICOM_URL}' || event.data?.minicom !== 'ready') return;
      document.querySelector('iframe').contentWindow.postMessage(
        { minicom: 'identify', user_id: 'shop-user-7', user_hash: '${userHash}', name: 'Shop User' },
        '${MINICOM_URL}');
    });`);
  try {
    const page = await (await browser.newContext()).newPage();
    const linked = page.waitForResponse((r) => r.url().endsWith('/messenger/identify'));
    await page.goto(`${ALLOWED_ORIGIN}/`);
    const answer = await linked;
    expect(answer.status()).toBe(200);
    await expect(page.frameLocator('iframe').getByRole('heading', { name: 'Northwind Coffee' })).toBeVisible();
  } finally {
    site.close();
  }
});

test('an admin can require verified visitors, and anonymous ones are told why', async ({ browser }) => {
  const admin = await signIn(browser);
  await admin.goto('/inbox/team');
  await hydrated(admin);
  const onlyVerified = admin.getByRole('checkbox', { name: 'Only verified visitors may chat' });
  await expect(onlyVerified).not.toBeChecked();
  await expect(admin.locator('code.secret')).toHaveText(/\S{20,}/);
  await onlyVerified.check();
  await expect(onlyVerified).toBeChecked();

  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto('/messenger');
  await expect(visitor.getByText('This chat is for signed-in customers.')).toBeVisible();

  await onlyVerified.uncheck();
  await expect(onlyVerified).not.toBeChecked();
  await visitor.reload();
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
});
