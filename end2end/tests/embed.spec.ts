import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { test, expect, type Browser, type Page } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ALLOWED_ORIGIN,
  IDENTITY_SECRET,
  MINICOM_URL,
  OTHER_ORIGIN,
} from '../playwright.config';
import { closeContexts, composer, hydrated, messageLog, signIn } from './support';

// Another website installs the messenger with the two lines the Settings
// page shows. The shop is served from its own origin (http://localhost:9911).
// Minicom is named either by `localhost` (the shop's own site, as a company
// serving both from one domain) or by 127.0.0.1 — another site, where
// Chromium blocks third-party cookies (its default here): the messenger keeps
// its visitor in a partitioned cookie all the same.
test.afterEach(closeContexts);

const SAME_SITE = MINICOM_URL.replace('127.0.0.1', 'localhost');
const CROSS_SITE = MINICOM_URL;

/** The Settings page, signed in as the admin of `server`. */
async function settingsPage(browser: Browser, server = SAME_SITE): Promise<Page> {
  const admin = await (await browser.newContext()).newPage();
  await admin.goto(`${server}/inbox`);
  await admin.getByLabel('Email').fill(ADMIN_EMAIL);
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.goto(`${server}/inbox/settings`);
  await hydrated(admin);
  return admin;
}

/** The snippet exactly as the Settings page shows it to an admin. */
async function pastedSnippet(browser: Browser, server = SAME_SITE): Promise<string> {
  const admin = await settingsPage(browser, server);
  const snippet = admin.locator('pre.snippet');
  await expect(snippet).toContainText(`${server}/widget.js`);
  return (await snippet.textContent()) ?? '';
}

/** A shop's page on `origin` with the snippet, then `script`. */
async function shop(origin: string, snippet: string, script = ''): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(`<!doctype html><html lang="en"><title>Shop</title><h1>A shop</h1>
      <script>${script}</script>${snippet}`);
  });
  await new Promise<void>((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
  return server;
}

const launcher = (page: Page, name: string | RegExp) => page.getByRole('button', { name });
const chat = (page: Page) => page.frameLocator('iframe[title="Chat"]');

for (const [where, server] of [
  ['on its own site', SAME_SITE],
  ['on another site, third-party cookies blocked', CROSS_SITE],
] as const) {
  test(`a shop gets a working messenger from the two pasted lines (${where})`, async ({ browser }) => {
    const snippet = await pastedSnippet(browser, server);
    const site = await shop(
      ALLOWED_ORIGIN,
      snippet,
      `window.unreadSeen = [];
       window.Minicom = window.Minicom || function () { (Minicom.q = Minicom.q || []).push(arguments); };
       Minicom('onUnreadCountChange', (n) => window.unreadSeen.push(n));`,
    );
    try {
      const visitor = await (await browser.newContext()).newPage();
      const script = visitor.waitForResponse((r) => r.url().endsWith('/widget.js'));
      await visitor.goto(`${ALLOWED_ORIGIN}/`);
      // The script is small on the wire (a budget, not a timing).
      const sizes = await (await script).request().sizes();
      expect(sizes.responseBodySize).toBeLessThanOrEqual(6 * 1024);

      await launcher(visitor, 'Open chat').click();
      const frame = chat(visitor);
      await expect(frame.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
      const question = `Do you sell gift cards? ${Date.now()}`;
      await composer(frame).fill(question);
      await composer(frame).press('Enter');
      await expect(messageLog(frame).getByText(question)).toBeVisible();
      await expect(messageLog(frame).getByText('Sending…')).toHaveCount(0);

      // The team answers; the visitor reads it in the panel.
      const agent = await signIn(browser);
      await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: question }).click();
      await composer(agent).fill('Yes, from 10 to 100 euros.');
      await composer(agent).press('Enter');
      await expect(messageLog(frame).getByText('Yes, from 10 to 100 euros.')).toBeVisible();

      // Closed from inside the frame: replies count on the launcher's badge.
      await frame.getByRole('button', { name: 'Close chat' }).click();
      await expect(launcher(visitor, 'Open chat')).toBeVisible();
      await composer(agent).fill('They never expire.');
      await composer(agent).press('Enter');
      await expect(launcher(visitor, 'Open chat (1 unread)')).toBeVisible();
      await expect.poll(() => visitor.evaluate(() => (window as any).unreadSeen)).toContain(1);
      await launcher(visitor, /Open chat/).click();
      await expect(messageLog(frame).getByText('They never expire.')).toBeVisible();
      await expect(launcher(visitor, 'Close chat')).toBeVisible();

      // showNewMessage puts text in the composer; a reload keeps the visitor.
      await visitor.evaluate(() => (window as any).Minicom('showNewMessage', 'And shipping?'));
      await expect(composer(frame)).toHaveValue('And shipping?');
      await visitor.reload();
      await launcher(visitor, /Open chat/).click();
      await expect(messageLog(frame).getByText(question)).toBeVisible();

      // shutdown: the shop's user signed out; the next one starts anonymous.
      const forgotten = visitor.waitForResponse((r) => r.url().endsWith('/messenger/forget'));
      await visitor.evaluate(() => (window as any).Minicom('shutdown'));
      expect((await forgotten).ok()).toBe(true);
      await launcher(visitor, 'Open chat').click();
      await expect(frame.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
      await expect(messageLog(frame).getByText(question)).toHaveCount(0);
    } finally {
      site.close();
    }
  });
}

test('boot links a signed-in user only with a valid signature', async ({ browser }) => {
  const snippet = await pastedSnippet(browser);
  const agent = await signIn(browser);
  const good = createHmac('sha256', IDENTITY_SECRET).update('shop-user-9').digest('hex');
  for (const [hash, status, name] of [
    [good, 200, 'Signed Shopper'],
    ['0'.repeat(64), 403, 'Forged Shopper'],
  ] as const) {
    const booted = snippet.replace(
      'window.minicomSettings = {}',
      `window.minicomSettings = { user_id: 'shop-user-9', user_hash: '${hash}', name: '${name}' }`,
    );
    expect(booted).not.toEqual(snippet);
    const site = await shop(ALLOWED_ORIGIN, booted);
    try {
      const page = await (await browser.newContext()).newPage();
      let loads = 0;
      page.on('framenavigated', (f) => {
        if (f.url().includes('/messenger')) loads += 1;
      });
      const answered = page.waitForResponse((r) => r.url().endsWith('/messenger/identify'));
      await page.goto(`${ALLOWED_ORIGIN}/`);
      // A user to link: the frame is fetched at once and told who it is;
      // linked, it reloads as them.
      expect((await answered).status()).toBe(status);
      if (status === 200) await expect.poll(() => loads).toBe(2);
      // What the team sees: the signed user by the name the site gave, a
      // forged one as an anonymous visitor.
      await launcher(page, 'Open chat').click();
      const question = `Where is my order? ${name} ${Date.now()}`;
      await composer(chat(page)).fill(question);
      await composer(chat(page)).press('Enter');
      await expect(messageLog(chat(page)).getByText('Sending…')).toHaveCount(0);
      const row = agent
        .getByRole('navigation', { name: 'Conversations' })
        .getByRole('link')
        .filter({ hasText: question });
      if (status === 200) await expect(row).toContainText(name);
      else await expect(row).toContainText(/Visitor #\d+/);
    } finally {
      site.close();
    }
  }
});

test('a site not on the list gets no messenger', async ({ browser }) => {
  const snippet = await pastedSnippet(browser);
  const site = await shop(OTHER_ORIGIN, snippet);
  try {
    const page = await (await browser.newContext()).newPage();
    const refused = page.waitForEvent('console', (m) => m.text().includes('frame-ancestors'));
    await page.goto(`${OTHER_ORIGIN}/`);
    await launcher(page, 'Open chat').click();
    expect((await refused).text()).toContain('has been blocked');
  } finally {
    site.close();
  }
});

test('on a phone the panel fills the screen and closes from inside', async ({ browser }) => {
  const snippet = await pastedSnippet(browser);
  const site = await shop(ALLOWED_ORIGIN, snippet);
  try {
    const page = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
    await page.goto(`${ALLOWED_ORIGIN}/`);
    await launcher(page, 'Open chat').click();
    const frame = chat(page);
    await expect(frame.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
    const box = await page.locator('iframe[title="Chat"]').boundingBox();
    expect(box).toEqual({ x: 0, y: 0, width: 360, height: 740 });
    // The messenger's own close button is the way out; the launcher hides.
    await expect(launcher(page, 'Close chat')).toBeHidden();
    await frame.getByRole('button', { name: 'Close chat' }).click();
    await expect(launcher(page, 'Open chat')).toBeVisible();
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
  } finally {
    site.close();
  }
});

/** Whether a page at its origin can open Minicom's socket. */
async function socketOpens(page: Page): Promise<boolean> {
  return page.evaluate(
    (url) =>
      new Promise<boolean>((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => {
          socket.close();
          resolve(true);
        };
        socket.onerror = () => resolve(false);
      }),
    `${SAME_SITE.replace('http', 'ws')}/ws?role=visitor`,
  );
}

test('an admin lists a site and restyles the messenger; open launchers follow at once', async ({ browser }) => {
  const snippet = await pastedSnippet(browser);
  const site = await shop(OTHER_ORIGIN, snippet);
  const admin = await settingsPage(browser);
  const sites = admin.getByRole('region', { name: 'Sites that may embed the messenger' });
  const messenger = admin.getByRole('region', { name: 'Messenger', exact: true });
  try {
    // Off the list: the page cannot open the socket, though its browser holds
    // a visitor cookie (from a visit to the chat's own page) that would do.
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${SAME_SITE}/messenger`);
    await page.goto(`${OTHER_ORIGIN}/`);
    expect(await socketOpens(page)).toBe(false);
    // The site in the environment is shown, fixed.
    await expect(sites.getByText(ALLOWED_ORIGIN)).toBeVisible();

    await sites.getByLabel('Sites').fill(OTHER_ORIGIN);
    await sites.getByRole('button', { name: 'Save sites' }).click();
    await expect(sites.getByRole('status')).toContainText('Saved');
    expect(await socketOpens(page)).toBe(true);
    await page.reload();
    await launcher(page, 'Open chat').click();
    const frame = chat(page);
    await expect(frame.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
    await expect(frame.getByText('Hi there')).toBeVisible();
    const button = page.locator('[data-minicom]').locator('button');
    const right = (await button.boundingBox())!.x;

    // A new look: the open messenger and the launcher outside it follow.
    await messenger.getByLabel('Team name').fill('Acme Tea');
    await messenger.getByLabel('Brand colour').fill('#ffde00');
    await messenger.getByLabel('Bottom left').check();
    await messenger.getByLabel('Greeting').fill('Welcome, tea lover');
    await messenger.getByRole('button', { name: 'Save' }).click();
    await expect(messenger.getByRole('status')).toContainText('Saved');
    await expect(frame.getByText('Welcome, tea lover')).toBeVisible();
    await expect(frame.getByRole('heading', { name: 'Acme Tea' })).toBeVisible();
    await expect(frame.locator('.messenger-header')).toHaveCSS('background-color', 'rgb(255, 222, 0)');
    await expect(frame.locator('.messenger-header')).toHaveCSS('color', 'rgb(0, 0, 0)');
    await expect(button).toHaveCSS('background-color', 'rgb(255, 222, 0)');
    await expect.poll(async () => (await button.boundingBox())!.x).toBeLessThan(right);

    // A bad value is refused, in words; nothing changes.
    await messenger.getByLabel('Greeting').fill('   ');
    await messenger.getByRole('button', { name: 'Save' }).click();
    await expect(messenger.getByRole('alert')).toContainText('greeting cannot be empty');
    await expect(frame.getByText('Welcome, tea lover')).toBeVisible();
  } finally {
    // Back to the defaults for the tests after this one, waiting for the
    // server to say so (a "Saved" from before would prove nothing).
    await sites.getByLabel('Sites').fill('');
    await sites.getByRole('button', { name: 'Save sites' }).click();
    await expect
      .poll(async () => (await admin.request.get(`${SAME_SITE}/messenger`)).headers()['content-security-policy'])
      .not.toContain(OTHER_ORIGIN);
    await messenger.getByLabel('Team name').fill('Northwind Coffee');
    await messenger.getByLabel('Brand colour').fill('#2f5fd0');
    await messenger.getByLabel('Bottom right').check();
    await messenger.getByLabel('Greeting').fill('Hi there');
    await messenger.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => (await (await admin.request.get(`${SAME_SITE}/widget/look`)).json()).greeting)
      .toBe('Hi there');
    site.close();
  }
});

test('the team sees which page of the shop the visitor is on, until the shop keeps that to itself', async ({ browser }) => {
  const snippet = await pastedSnippet(browser);
  const site = await shop(ALLOWED_ORIGIN, snippet);
  try {
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${ALLOWED_ORIGIN}/pricing?plan=pro`);
    await launcher(visitor, 'Open chat').click();
    const frame = chat(visitor);
    await expect(frame.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
    const question = `Which plan suits five people? ${Date.now()}`;
    await composer(frame).fill(question);
    await composer(frame).press('Enter');
    await expect(messageLog(frame).getByText('Sending…')).toHaveCount(0);

    const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
    await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: question }).click();
    const panel = agent.getByRole('complementary', { name: 'About the visitor' });
    await expect(panel.getByRole('link', { name: /^Shop/ })).toHaveAttribute('href', `${ALLOWED_ORIGIN}/pricing?plan=pro`);

    // The shop moves on by itself (a single-page app) and says so: the open
    // panel follows.
    await visitor.evaluate(() => {
      history.pushState({}, '', '/checkout');
      document.title = 'Checkout';
      (window as any).Minicom('update', {});
    });
    await expect(panel.getByRole('link', { name: /^Checkout/ })).toHaveAttribute('href', `${ALLOWED_ORIGIN}/checkout`);

    // It stops sharing pages: the team no longer sees one.
    await visitor.evaluate(() => (window as any).Minicom('update', { track_pages: false }));
    await expect(panel.getByText('Page', { exact: true })).toHaveCount(0);
    await expect(panel.getByText('Last seen', { exact: true })).toBeVisible();
  } finally {
    site.close();
  }
});
