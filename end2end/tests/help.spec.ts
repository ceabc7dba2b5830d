import { test, expect } from '@playwright/test';
import { AI_URL } from '../playwright.config';
import { composer, messageLog, closeContexts, countPageBlinks, hydrated, checkPage, signIn } from './support';

// The help center and the assistant answering from it, on the second
// server (the AI assistant on, the real default model). Serial: the
// visitor's test reads the article the admin's test publishes.
test.describe.configure({ mode: 'serial' });
test.afterEach(closeContexts);

const TITLE = 'Shipping to Canada';
const ARTICLE_URL = '/help/shipping/shipping-to-canada';

test('an admin writes an article with a live preview and publishes it; the public help center shows it without JavaScript', async ({ browser }) => {
  const admin = await signIn(browser, { baseURL: AI_URL });
  await admin.goto(`${AI_URL}/inbox/help`);
  await hydrated(admin);
  await expect(admin.getByRole('heading', { name: 'Help center', level: 1 })).toBeVisible();
  const blinks = await countPageBlinks(admin);
  const editor = admin.getByRole('region', { name: 'New article' });
  await editor.getByLabel('Title').fill(TITLE);
  await editor.getByLabel('Collection').fill('Shipping');
  await editor.getByLabel(/Article \(Markdown/).fill(
    'Yes, we ship to every Canadian province.\n\n## Price and time\n\n' +
      'Shipping to Canada costs a flat **$18 USD** and takes 7-12 business days.\n\n' +
      '<script>alert("x")</script>',
  );
  // The preview follows: bold is bold, the script is text.
  const preview = editor.locator('.help-preview');
  await expect(preview.locator('strong', { hasText: '$18 USD' })).toBeVisible();
  await expect(preview.getByText('<script>alert("x")</script>')).toBeVisible();
  // Nothing typed was lost to the page blinking while the preview loaded.
  expect(await blinks()).toBe(0);
  await expect(editor.getByLabel('Collection')).toHaveValue('Shipping');
  await editor.getByRole('button', { name: 'Save draft' }).click();
  await expect(admin.getByRole('status').filter({ hasText: 'Saved as a draft' })).toBeVisible();
  const list = admin.getByRole('region', { name: 'Articles' });
  await expect(list.getByRole('button', { name: new RegExp(`${TITLE}.*Draft`) })).toBeVisible();

  // A draft is not public.
  const draftPage = await admin.context().request.get(`${AI_URL}${ARTICLE_URL}`);
  expect(draftPage.status()).toBe(404);

  await admin.getByRole('region', { name: 'Edit article' }).getByRole('button', { name: 'Publish' }).click();
  await expect(admin.getByRole('status').filter({ hasText: 'Published' })).toBeVisible();
  await expect(list.getByRole('button', { name: new RegExp(`${TITLE}.*Published`) })).toBeVisible();
  // Both saves are in the history.
  await admin.getByText(/History \(2 versions\)/).click();
  await expect(admin.getByRole('button', { name: 'Restore' })).toHaveCount(2);
  await checkPage(admin, 'the help center editor');

  // The public pages, as a phone in dark mode without JavaScript.
  const reader = await (
    await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 }, colorScheme: 'dark' })
  ).newPage();
  await reader.goto(`${AI_URL}/help`);
  await expect(reader).toHaveTitle(/Help Center/);
  await reader.getByRole('link', { name: new RegExp(TITLE) }).click();
  await expect(reader).toHaveURL(new RegExp(`${ARTICLE_URL}$`));
  await expect(reader.getByRole('heading', { name: TITLE, level: 1 })).toBeVisible();
  await expect(reader.locator('strong', { hasText: '$18 USD' })).toBeVisible();
  await expect(reader).toHaveTitle(new RegExp(`^${TITLE} — `));
  await reader.getByLabel('Search for help').fill('canada price');
  await reader.getByLabel('Search for help').press('Enter');
  await expect(reader.getByRole('heading', { name: /Results for/ })).toBeVisible();
  await expect(reader.getByRole('link', { name: new RegExp(TITLE) })).toBeVisible();

  // The same pages checked (axe needs script) on a phone in dark mode.
  const phone = await (
    await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme: 'dark' })
  ).newPage();
  await phone.goto(`${AI_URL}${ARTICLE_URL}`);
  await checkPage(phone, 'an article at 360 px, dark');
  await phone.goto(`${AI_URL}/help?q=canada%20price`);
  await checkPage(phone, 'help search results at 360 px, dark');
  await phone.goto(`${AI_URL}/help`);
  await checkPage(phone, 'the help center at 360 px, dark');
});

test('a visitor searches help in the messenger, asks, watches the answer stream in with its source, says it did not help and gets a person', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const visitor = await context.newPage();
  await visitor.goto(`${AI_URL}/messenger`);
  await hydrated(visitor);
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();

  // Search for help: results as they type; the article opens in the messenger.
  await visitor.getByLabel('Search for help').fill('canada');
  const results = visitor.getByRole('list', { name: 'Help articles' });
  await results.getByRole('button', { name: new RegExp(TITLE) }).click();
  await expect(visitor.getByRole('heading', { name: TITLE })).toBeVisible();
  await expect(visitor.getByText('takes 7-12 business days')).toBeVisible();
  await expect(visitor.getByRole('link', { name: /Open in the help center/ })).toHaveAttribute('href', ARTICLE_URL);
  await checkPage(visitor, 'an article in the messenger at 360 px');
  await visitor.getByRole('button', { name: 'Back to results' }).click();
  await expect(results).toBeVisible();

  // Note every draft bubble that appears (the stream may be short).
  await visitor.evaluate(() => {
    (window as any).drafts = [];
    new MutationObserver(() => {
      const draft = document.querySelector('.message-group.draft .bubble-text');
      if (draft) (window as any).drafts.push(draft.textContent);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  const question = 'Do you ship to Canada? What does it cost?';
  await composer(visitor).fill(question);
  await composer(visitor).press('Enter');
  await expect(messageLog(visitor).getByText(question)).toBeVisible();

  const answer = messageLog(visitor).locator('.message-group.from-ai:not(.draft)');
  await expect(answer).toHaveCount(1, { timeout: 60_000 });
  const drafts: string[] = await visitor.evaluate(() => (window as any).drafts);
  expect(drafts.length, 'the answer streamed in').toBeGreaterThan(0);
  await expect(messageLog(visitor).locator('.message-group.draft')).toHaveCount(0);
  const source = answer.getByRole('link', { name: new RegExp(TITLE) });
  await expect(source).toHaveAttribute('href', ARTICLE_URL);
  await expect(answer.getByRole('group', { name: 'Did that help?' })).toBeVisible();
  await checkPage(visitor, 'an answer with its sources at 360 px');

  await answer.getByRole('button', { name: 'No, talk to a person' }).click();
  await expect(answer.getByText('a teammate will take it from here')).toBeVisible();
  await expect(messageLog(visitor).getByText("I've asked the team to join.")).toBeVisible();
  await expect(visitor.getByRole('button', { name: 'Talk to a person' })).toHaveCount(0);
});
