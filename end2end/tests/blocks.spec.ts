import { test, expect } from '@playwright/test';
import { checkPage, closeContexts, composer, messageLog, openMessenger, say, signIn, hydrated } from './support';

test.afterEach(closeContexts);

// Only the visitor is blocked, never the address: every browser here comes
// from 127.0.0.1, so an address block would shut out the other tests' visitors.
test('an agent blocks an abusive visitor, who can no longer write, until an admin lifts it', async ({ browser }) => {
  const abuse = `Buy cheap followers at spam.example ${Date.now()}`;
  const reason = `Spam links ${Date.now()}`;
  const visitor = await openMessenger(browser);
  await say(visitor, abuse);

  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: abuse }).click();
  await expect(messageLog(agent).getByText(abuse)).toBeVisible();
  const panel = agent.getByRole('complementary', { name: 'About the visitor' });
  await panel.getByRole('button', { name: 'Block visitor…' }).click();
  const why = panel.getByLabel('Reason (the team sees it)');
  await expect(why).toBeFocused();
  await expect(panel.getByLabel('Also block their network address')).toBeVisible();
  // Without a reason nothing happens but a sentence saying so.
  await panel.getByRole('button', { name: 'Block', exact: true }).click();
  await expect(panel.getByRole('alert')).toContainText('Say why');
  await why.fill(reason);
  await panel.getByRole('button', { name: 'Block', exact: true }).click();
  await expect(panel).toContainText('Blocked by Admin');
  await expect(panel).toContainText(reason);
  await expect(panel.getByRole('button', { name: 'Block visitor…' })).toHaveCount(0);

  // The visitor is told only that they can no longer send, and cannot.
  const cutOff = 'You can no longer send messages in this chat.';
  await expect(visitor.getByText(cutOff)).toBeVisible();
  await expect(composer(visitor)).toBeHidden();
  await expect(visitor.getByRole('status').filter({ hasText: 'Not connected' })).toBeVisible();
  await expect(visitor.getByText(reason)).toHaveCount(0);
  // Coming back does not help.
  await visitor.reload();
  await visitor.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  await visitor.getByRole('button', { name: 'Open chat' }).click();
  await expect(visitor.getByText(cutOff)).toBeVisible();
  await expect(composer(visitor)).toBeHidden();

  // An admin sees it in Settings and lifts it.
  await agent.goto('/inbox/settings');
  await hydrated(agent);
  const card = agent.getByRole('region', { name: 'Blocked visitors' });
  const entry = card.getByRole('listitem').filter({ hasText: reason });
  await expect(entry).toContainText('Blocked by Admin');
  await checkPage(agent, 'settings with a block, desktop');
  await entry.getByRole('button', { name: /^Lift block on / }).click();
  await expect(card.getByRole('listitem').filter({ hasText: reason })).toHaveCount(0);

  await visitor.reload();
  await visitor.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  await visitor.getByRole('button', { name: 'Open chat' }).click();
  await say(visitor, 'Sorry about that.');
});

for (const scheme of ['light', 'dark'] as const) {
  test(`blocking at 360 px, ${scheme}`, async ({ browser }) => {
    const question = `Do you ship to Oslo? ${Date.now()}`;
    const visitor = await openMessenger(browser);
    await say(visitor, question);
    const agent = await signIn(browser, { viewport: { width: 360, height: 740 }, colorScheme: scheme });
    await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: question }).click();
    await agent.getByRole('button', { name: 'Visitor', exact: true }).click();
    const panel = agent.getByRole('complementary', { name: 'About the visitor' });
    await panel.getByRole('button', { name: 'Block visitor…' }).click();
    await panel.getByLabel('Reason (the team sees it)').fill('A test block, lifted below');
    await checkPage(agent, `the block form at 360 px, ${scheme}`);
    await panel.getByRole('button', { name: 'Block', exact: true }).click();
    await expect(panel).toContainText('Blocked by Admin');
    await checkPage(agent, `a blocked visitor's panel at 360 px, ${scheme}`);

    // The blocked visitor's own browser, as a phone.
    await visitor.setViewportSize({ width: 360, height: 740 });
    await visitor.emulateMedia({ colorScheme: scheme });
    await visitor.goto('/messenger');
    await expect(visitor.getByText('You can no longer send messages in this chat.')).toBeVisible();
    await checkPage(visitor, `the blocked messenger at 360 px, ${scheme}`);

    await agent.goto('/inbox/settings');
    await hydrated(agent);
    const entry = agent.getByRole('region', { name: 'Blocked visitors' })
      .getByRole('listitem').filter({ hasText: 'A test block, lifted below' });
    await checkPage(agent, `settings with a block at 360 px, ${scheme}`);
    await entry.getByRole('button', { name: /^Lift block on / }).click();
    await expect(entry).toHaveCount(0);
  });
}
