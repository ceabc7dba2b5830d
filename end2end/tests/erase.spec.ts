import { test, expect } from '@playwright/test';
import { checkPage, closeContexts, messageLog, openMessenger, say, signIn } from './support';

test.afterEach(closeContexts);

test('an admin erases a visitor who asked to be forgotten, after saying what goes', async ({ browser }) => {
  const question = `Please delete everything about me ${Date.now()}`;
  const visitor = await openMessenger(browser);
  await say(visitor, question);

  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  const list = agent.getByRole('navigation', { name: 'Conversations' });
  await list.getByRole('link').filter({ hasText: question }).click();
  await expect(messageLog(agent).getByText(question)).toBeVisible();
  const panel = agent.getByRole('complementary', { name: 'About the visitor' });
  await panel.getByRole('button', { name: 'Erase all their data…' }).click();
  const confirm = panel.getByRole('group');
  await expect(confirm).toContainText('This conversation, every message in them');
  await expect(confirm).toContainText('go for good');
  await expect(panel.getByRole('button', { name: 'Erase for good' })).toBeFocused();
  await checkPage(agent, 'erase confirmation, desktop');
  // Cancel keeps everything.
  await panel.getByRole('button', { name: 'Cancel' }).click();
  await expect(panel.getByRole('button', { name: 'Erase all their data…' })).toBeFocused();
  await panel.getByRole('button', { name: 'Erase all their data…' }).click();
  await panel.getByRole('button', { name: 'Erase for good' }).click();

  await expect(agent).toHaveURL(/\/inbox$/);
  await expect(list.getByRole('link').filter({ hasText: question })).toHaveCount(0);
  // The visitor's open messenger starts over, empty, at once.
  await expect(visitor.getByText(question)).toHaveCount(0);
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  // And so after a reload.
  await visitor.reload();
  await visitor.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  await visitor.getByRole('button', { name: 'Open chat' }).click();
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await expect(visitor.getByText(question)).toHaveCount(0);
});

for (const scheme of ['light', 'dark'] as const) {
  test(`the erase confirmation at 360 px, ${scheme}`, async ({ browser }) => {
    const question = `Forget me please ${Date.now()}`;
    const visitor = await openMessenger(browser);
    await say(visitor, question);
    const agent = await signIn(browser, { viewport: { width: 360, height: 740 }, colorScheme: scheme });
    await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: question }).click();
    await agent.getByRole('button', { name: 'Visitor', exact: true }).click();
    const panel = agent.getByRole('complementary', { name: 'About the visitor' });
    await panel.getByRole('button', { name: 'Erase all their data…' }).click();
    await expect(panel.getByRole('button', { name: 'Erase for good' })).toBeVisible();
    await checkPage(agent, `erase confirmation at 360 px, ${scheme}`);
  });
}
