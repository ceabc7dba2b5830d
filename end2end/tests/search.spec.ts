import { test, expect } from '@playwright/test';
import { checkPage, closeContexts, messageLog, openMessenger, say, signIn, seedMessages } from './support';

test.afterEach(closeContexts);

test('an agent searches, filters, and lands on the message found, far back in a long conversation', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  const word = `zircon${Date.now()}`;
  await say(visitor, `Hello, my parcel with the ${word} ring <b>never</b> came`);
  await expect(messageLog(visitor).getByText(word, { exact: false })).toBeVisible();
  // 90 more messages after it, through this visitor's own socket.
  await seedMessages(visitor, 90, 'Later message');

  const agent = await signIn(browser);
  await expect(agent.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  // `/` reaches the search box from anywhere but a field.
  await agent.locator('body').press('/');
  const box = agent.getByRole('searchbox', { name: 'Search conversations' });
  await expect(box).toBeFocused();
  await box.fill(word.slice(0, 10));
  const results = agent.getByRole('list', { name: 'Search results' });
  const hit = results.getByRole('link').filter({ hasText: word });
  await expect(hit).toHaveCount(1);
  // The match is marked; the visitor's markup is text.
  await expect(hit.locator('mark')).toHaveText(word);
  await expect(hit).toContainText('<b>never</b>');
  await expect(hit).toContainText('Visitor · Open');

  // A filter that excludes it, then one that keeps it.
  await agent.getByRole('button', { name: 'Filters' }).click();
  await agent.getByRole('combobox', { name: 'State', exact: true }).selectOption('resolved');
  await expect(agent.getByText('Nothing found')).toBeVisible();
  await agent.getByRole('combobox', { name: 'State', exact: true }).selectOption('open');
  await agent.getByRole('combobox', { name: 'Written by', exact: true }).selectOption('visitor');
  await expect(hit).toHaveCount(1);
  await checkPage(agent, 'search results');

  // Opening it lands on that message, marked, with the newest ones loaded
  // and the messages in between not.
  await hit.click();
  const log = messageLog(agent);
  const found = log.locator('.bubble.found');
  await expect(found).toContainText(word);
  await expect(found).toBeInViewport();
  await expect(log.getByText('Later message 90', { exact: true })).toBeAttached();
  // 20 after it and the newest 50 are loaded; 21–40 lie in the gap.
  await expect(log.getByText('Later message 30', { exact: true })).toHaveCount(0);
  const gap = agent.getByRole('button', { name: 'Show newer messages' });
  await gap.click();
  await expect(log.getByText('Later message 30', { exact: true })).toBeAttached();
  for (let i = 0; i < 5 && (await gap.count()); i++) {
    await gap.click();
  }
  await expect(gap).toHaveCount(0);
  await expect(log.locator('.bubble')).toHaveCount(91);

  // Escape in the box shows the lists again.
  await box.focus();
  await box.press('Escape');
  await expect(agent.getByRole('list', { name: 'Lists' })).toBeVisible();
  // Ctrl+K reaches it even from the reply box.
  await agent.getByRole('textbox', { name: 'Message', exact: true }).focus();
  await agent.keyboard.press('Control+k');
  await expect(box).toBeFocused();
});

for (const scheme of ['light', 'dark'] as const) {
  test(`search at 360 px, ${scheme}`, async ({ browser }) => {
    const visitor = await openMessenger(browser);
    const word = `quartz${Date.now()}`;
    await say(visitor, `Where is my ${word} order? It is a long question that wraps on a phone screen`);
    const agent = await signIn(browser);
    await agent.emulateMedia({ colorScheme: scheme });
    await agent.setViewportSize({ width: 360, height: 740 });
    await expect(agent.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
    const box = agent.getByRole('searchbox', { name: 'Search conversations' });
    await box.fill(word);
    await agent.getByRole('button', { name: 'Filters' }).click();
    await expect(agent.getByRole('list', { name: 'Search results' }).getByRole('link')).toHaveCount(1);
    await checkPage(agent, `search at 360 px, ${scheme}`);
    await agent.getByRole('list', { name: 'Search results' }).getByRole('link').click();
    await expect(messageLog(agent).locator('.bubble.found')).toContainText(word);
    await checkPage(agent, `found message at 360 px, ${scheme}`);
  });
}
