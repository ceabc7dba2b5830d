import { test, expect, type Browser, type Page } from '@playwright/test';
import { checkPage, closeContexts, countPageBlinks, hydrated, messageLog, say, signIn } from './support';

test.afterEach(closeContexts);

/** A visitor in Tokyo on the demo site, messenger open, who asked `question`
 * and then started a second conversation. */
async function visitorInTokyo(browser: Browser, question: string, second: string): Promise<Page> {
  const page = await (await browser.newContext({ timezoneId: 'Asia/Tokyo' })).newPage();
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Open chat' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await say(page, question);
  // Another conversation of theirs, through their own socket.
  await page.evaluate(async (body) => {
    const ws = new WebSocket(`ws://${location.host}/ws?role=visitor`);
    const acked = new Promise<void>((resolve) => {
      ws.onmessage = (event) => {
        if (JSON.parse(event.data).type === 'ack') resolve();
      };
    });
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(JSON.stringify({ type: 'send', client_id: crypto.randomUUID(), body, new_conversation: true }));
    await acked;
    ws.close();
  }, second);
  return page;
}

async function openConversation(agent: Page, text: string) {
  await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: text }).click();
  await expect(messageLog(agent).getByText(text)).toBeVisible();
}

test('an agent sees who the visitor is and where, follows their other conversation, and corrects their name', async ({ browser }) => {
  const question = `Can I change my grind? ${Date.now()}`;
  const second = `And my delivery day? ${Date.now()}`;
  await visitorInTokyo(browser, question, second);

  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  const blinks = await countPageBlinks(agent);
  await openConversation(agent, question);
  // Wide screens show the panel beside the thread without asking.
  const panel = agent.getByRole('complementary', { name: 'About the visitor' });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('Not verified');
  await expect(panel).toContainText('Online now');
  await expect(panel).toContainText(/Chrome \d+ on Linux/);
  await expect(panel).toContainText('(Asia/Tokyo)');
  // The page they are on: the demo site's, opening in a new tab.
  const page = panel.getByRole('link', { name: /Northwind Coffee/ });
  await expect(page).toHaveAttribute('target', '_blank');
  await expect(page).toHaveAttribute('rel', 'noopener noreferrer nofollow');
  await checkPage(agent, 'contact panel, desktop');

  // The name they never gave, corrected — hostile text stays text, and the
  // thread's header follows.
  const name = 'Ana <img src=x onerror=alert(1)>';
  await panel.getByRole('button', { name: 'Edit name and email' }).click();
  await panel.getByLabel('Email').fill('not an email');
  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(panel.getByRole('alert')).toContainText('does not look right');
  await panel.getByLabel('Name').fill(name);
  await panel.getByLabel('Email').fill('ana@example.com');
  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(panel.locator('.contact-name')).toHaveText(name);
  await expect(agent.getByRole('heading', { level: 2, name })).toBeVisible();
  await expect(panel.locator('img')).toHaveCount(0);

  // Their other conversation, one click away.
  await expect(panel.getByRole('heading', { name: '1 other conversation' })).toBeVisible();
  await panel.getByRole('link', { name: second }).click();
  await expect(messageLog(agent).getByText(second)).toBeVisible();
  await expect(panel.getByRole('link', { name: question })).toBeVisible();
  // Loading each conversation's panel never blanked the inbox.
  expect(await blinks()).toBe(0);
});

for (const scheme of ['light', 'dark'] as const) {
  test(`the contact panel at 360 px, ${scheme}`, async ({ browser }) => {
    const question = `Is the Guji roast light? ${Date.now()}`;
    await visitorInTokyo(browser, question, `Also, decaf? ${Date.now()}`);
    const agent = await signIn(browser, { viewport: { width: 360, height: 740 }, colorScheme: scheme });
    await openConversation(agent, question);
    const panel = agent.getByRole('complementary', { name: 'About the visitor' });
    // A phone keeps the thread; the Visitor button opens the panel over it.
    await expect(panel).toBeHidden();
    const toggle = agent.getByRole('button', { name: 'Visitor', exact: true });
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await expect(panel).toBeVisible();
    await expect(panel).toContainText('(Asia/Tokyo)');
    await checkPage(agent, `contact panel at 360 px, ${scheme}`);
    // Escape from inside it closes it.
    await panel.getByRole('button', { name: 'Edit name and email' }).focus();
    await agent.keyboard.press('Escape');
    await expect(panel).toBeHidden();
  });
}
