import { test, expect, type Browser, type Page } from '@playwright/test';
import { checkPage, closeContexts, composer, hydrated, messageLog, openMessenger, say, signIn } from './support';

// What a newcomer meets in the first minute: every page fits a phone, reads
// well in light and dark, and the chat works on a slow or silent network.
test.afterEach(closeContexts);

const WIDTHS = [360, 768, 1280];
const SCHEMES = ['light', 'dark'] as const;

/** The inbox row of the conversation whose preview or name matches. */
const row = (agent: Page, text: string | RegExp) =>
  agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: text });

/** A conversation the agent can open: its inbox URL. */
async function aConversation(browser: Browser, agent: Page): Promise<string> {
  const visitor = await openMessenger(browser);
  const question = `Is the Guji a light roast? ${Date.now()}`;
  await say(visitor, question);
  await row(agent, question).click();
  await expect(agent).toHaveURL(/\/inbox\?c=\d+/);
  return new URL(agent.url()).pathname + new URL(agent.url()).search;
}

test('every page fits 360, 768 and 1280 px and passes axe, in light and dark', async ({ browser }) => {
  // 48 page loads with axe: 1.6 min on an idle machine, over 4 min in a
  // cold CI run on a slower one. A bound against hanging, not a speed test.
  test.setTimeout(600_000);
  const agent = await signIn(browser);
  const thread = await aConversation(browser, agent);
  const signedOut = await (await browser.newContext()).newPage();
  const visitor = await (await browser.newContext()).newPage();
  const pages: [Page, string][] = [
    [visitor, '/'],
    [visitor, '/messenger'],
    [signedOut, '/inbox'],
    [agent, '/inbox'],
    [agent, thread],
    [agent, '/inbox/team'],
    [agent, '/inbox/settings'],
  ];
  for (const scheme of SCHEMES) {
    for (const width of WIDTHS) {
      for (const [page, path] of pages) {
        await page.setViewportSize({ width, height: 740 });
        await page.emulateMedia({ colorScheme: scheme });
        await page.goto(path);
        await hydrated(page);
        await checkPage(page, `${path} at ${width} px, ${scheme}`);
      }
    }
  }
  // The messenger panel open on the demo site, too.
  for (const scheme of SCHEMES) {
    await visitor.emulateMedia({ colorScheme: scheme });
    for (const width of WIDTHS) {
      await visitor.setViewportSize({ width, height: 740 });
      await visitor.goto('/');
      await hydrated(visitor);
      await visitor.getByRole('button', { name: 'Open chat' }).click();
      await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
      await checkPage(visitor, `the open bubble at ${width} px, ${scheme}`);
    }
  }
});

test('an agent answers a whole conversation on a phone', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  const question = `Can I pause my subscription? ${Date.now()}`;
  await say(visitor, question);

  const agent = await signIn(browser);
  await agent.setViewportSize({ width: 360, height: 740 });
  const list = agent.getByRole('navigation', { name: 'Conversations' });
  const thread = agent.getByRole('region', { name: 'Conversation' });
  // The list alone; the top bar's controls folded into a menu.
  await expect(list).toBeVisible();
  await expect(thread).toBeHidden();
  await expect(agent.getByRole('link', { name: 'Team', exact: true })).toBeHidden();
  await agent.getByRole('button', { name: 'Menu' }).click();
  await expect(agent.getByRole('link', { name: 'Team', exact: true })).toBeVisible();
  await expect(agent.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await agent.getByRole('button', { name: 'Menu' }).click();
  await expect(agent.getByRole('link', { name: 'Team', exact: true })).toBeHidden();

  // Open it: the thread alone, full width, and the reply goes out.
  await row(agent, question).click();
  await expect(thread).toBeVisible();
  await expect(list).toBeHidden();
  await expect(messageLog(agent).getByText(question)).toBeVisible();
  const box = await composer(agent).boundingBox();
  expect(box?.width ?? 0).toBeGreaterThan(200);
  await say(agent, 'Yes: open Subscriptions and press Pause.');
  await expect(messageLog(visitor).getByText('Yes: open Subscriptions and press Pause.')).toBeVisible();
  await say(visitor, 'Thanks!');
  await expect(messageLog(agent).getByText('Thanks!')).toBeVisible();

  // Back with the button, forward into the thread, back with the browser.
  await agent.getByRole('link', { name: 'Back to conversations' }).click();
  await expect(list).toBeVisible();
  await expect(thread).toBeHidden();
  await row(agent, 'Thanks!').click();
  await expect(thread).toBeVisible();
  await agent.goBack();
  await expect(list).toBeVisible();
  await expect(thread).toBeHidden();
  const widths = await agent.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(widths[0]).toBeLessThanOrEqual(widths[1]);
});

test('the bubble works before the page is live and keeps what the visitor types', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  // The WASM is held back, as on a slow link, until the visitor has typed.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/pkg/*.wasm', async (route) => {
    await released;
    await route.continue();
  });
  await page.goto('/', { waitUntil: 'domcontentloaded' });
  await page.getByRole('button', { name: 'Open chat' }).click();
  await expect(page).toHaveURL(/\/messenger$/);
  await expect(page.getByRole('status').filter({ hasText: 'Connecting…' })).toBeVisible();
  const text = `Typed before the page was live ${Date.now()}`;
  await composer(page).fill(text);

  release();
  await hydrated(page);
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await expect(composer(page)).toHaveValue(text);
  await composer(page).press('Enter');
  await expect(messageLog(page).getByText(text)).toBeVisible();
  await expect(messageLog(page).getByText('Sending…')).toHaveCount(0);
});

test('a message sent into a silent socket is sent after the reconnect, never stuck', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  // The first socket's frames to the server are swallowed once `silent` is
  // set (as a dead proxy would); later sockets work.
  let silent = false;
  let sockets = 0;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const first = sockets++ === 0;
    const server = ws.connectToServer();
    ws.onMessage((frame) => {
      if (!(first && silent)) server.send(frame);
    });
  });
  await page.goto('/messenger');
  await hydrated(page);
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  const tag = Date.now();
  await say(page, `before ${tag}`);

  silent = true;
  await composer(page).fill(`into the silence ${tag}`);
  await composer(page).press('Enter');
  const log = messageLog(page);
  await expect(log.getByText('Sending…')).toBeVisible();
  // No answer: the page takes the socket for dead, reconnects and resends —
  // the visitor never has to press Retry.
  await expect(log.getByText('Sending…')).toHaveCount(0, { timeout: 30_000 });
  await expect(log.getByText(`into the silence ${tag}`)).toHaveCount(1);
  await expect(log.getByText('Not sent')).toHaveCount(0);
  expect(sockets).toBeGreaterThanOrEqual(2);

  // Stored once: the agent sees it exactly once.
  const agent = await signIn(browser);
  await row(agent, `into the silence ${tag}`).click();
  await expect(messageLog(agent).getByText(`into the silence ${tag}`)).toHaveCount(1);
});
