import { test, expect, type Page } from '@playwright/test';
import { checkPage, closeContexts, messageLog, openMessenger, say, signIn, hydrated } from './support';

test.afterEach(closeContexts);

/** Makes a token on the Settings page and reads its secret, shown once. */
async function makeToken(agent: Page, name: string, access: 'Read only' | 'Read and write') {
  await agent.goto('/inbox/settings');
  await hydrated(agent);
  const card = agent.getByRole('region', { name: 'API tokens' });
  await card.getByLabel('Name').fill(name);
  await card.getByLabel('Access').selectOption({ label: access });
  await card.getByRole('button', { name: 'Create token' }).click();
  await expect(card.getByRole('status')).toContainText('Copy this token now');
  const secret = (await card.locator('#token-secret').textContent()) ?? '';
  expect(secret).toMatch(/^mc_[0-9a-f]{64}$/);
  return { card, secret };
}

test('an admin makes a token, a shop posts with it into an open messenger, and the admin revokes it', async ({ browser }) => {
  const question = `Where is order 1001? ${Date.now()}`;
  const visitor = await openMessenger(browser);
  await say(visitor, question);

  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  const name = `Shop backend ${Date.now()}`;
  const { card, secret } = await makeToken(agent, name, 'Read and write');
  await checkPage(agent, 'settings with a new API token, desktop');
  const auth = { Authorization: `Bearer ${secret}` };

  // The shop finds the conversation and posts into it as a bot.
  const list = await agent.request.get('/api/v1/conversations?limit=100', { headers: auth });
  expect(list.status()).toBe(200);
  const row = (await list.json()).data.find((c: { last_message_preview: string }) => c.last_message_preview === question);
  expect(row, 'the visitor\'s conversation is listed').toBeTruthy();
  const shipped = `Your order 1001 has shipped ${Date.now()}`;
  const post = await agent.request.post(`/api/v1/conversations/${row.id}/messages`, {
    headers: { ...auth, 'Idempotency-Key': `shipped-${Date.now()}` },
    data: { body: shipped, bot_name: 'Shop' },
  });
  expect(post.status()).toBe(201);
  // The visitor's open messenger shows it at once, under the bot's name.
  const arrived = messageLog(visitor).locator('.message-group').filter({ hasText: shipped });
  await expect(arrived).toBeVisible();
  await expect(arrived.locator('.message-sender')).toHaveText('Shop');

  // Shown once: after a reload only the name, its access and its use.
  await agent.reload();
  const entry = card.getByRole('listitem').filter({ hasText: name });
  await expect(entry).toContainText('Read and write');
  await expect(entry).toContainText('Last used');
  await expect(card.locator('#token-secret')).toHaveCount(0);
  await expect(agent.getByText(secret)).toHaveCount(0);

  await entry.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(entry).toContainText('Revoked');
  const refused = await agent.request.get('/api/v1/conversations', { headers: auth });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe('invalid_token');
});

for (const scheme of ['light', 'dark'] as const) {
  test(`API tokens at 360 px, ${scheme}`, async ({ browser }) => {
    const agent = await signIn(browser, { viewport: { width: 360, height: 740 }, colorScheme: scheme });
    const name = `CRM ${scheme} ${Date.now()}`;
    const { card } = await makeToken(agent, name, 'Read only');
    await card.scrollIntoViewIfNeeded();
    await checkPage(agent, `a new API token at 360 px, ${scheme}`);
    const entry = card.getByRole('listitem').filter({ hasText: name });
    await expect(entry).toContainText('Never used');
    await entry.getByRole('button', { name: `Revoke ${name}` }).click();
    await expect(entry).toContainText('Revoked');
    await checkPage(agent, `a revoked API token at 360 px, ${scheme}`);
  });
}
