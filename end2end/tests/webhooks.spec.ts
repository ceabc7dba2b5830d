import { test, expect } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkPage, closeContexts, openMessenger, say, signIn, hydrated } from './support';

test.afterEach(closeContexts);

/** A company's endpoint on this machine: every request it gets, answered 200. */
async function receiver() {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/minicom`, got, close: () => server.close() };
}

test('an admin adds a webhook and sees the signed delivery of a visitor\'s message in its log', async ({ browser }) => {
  const endpoint = await receiver();
  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  await agent.goto('/inbox/settings');
  await hydrated(agent);
  const card = agent.getByRole('region', { name: 'Webhooks' });
  await card.getByLabel('Endpoint URL').fill(endpoint.url);
  // Only messages.
  for (const other of ['A conversation starts', 'A conversation is resolved, snoozed or reopened', 'A visitor rates a conversation']) {
    await card.getByLabel(other).uncheck();
  }
  await card.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(card.getByRole('status')).toContainText('Copy the signing secret now');
  const secret = (await card.locator('#webhook-secret').textContent()) ?? '';
  expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
  await checkPage(agent, 'settings with a new webhook, desktop');

  const hello = `Hello webhooks ${Date.now()}`;
  const visitor = await openMessenger(browser);
  await say(visitor, hello);
  await expect.poll(() => endpoint.got.find((r) => r.body.includes(hello))).toBeTruthy();
  const delivery = endpoint.got.find((r) => r.body.includes(hello))!;
  expect(delivery.headers['x-minicom-event']).toBe('message.created');
  const stamp = String(delivery.headers['x-minicom-timestamp']);
  const mac = createHmac('sha256', secret).update(`${stamp}.${delivery.body}`).digest('hex');
  expect(delivery.headers['x-minicom-signature']).toBe(`sha256=${mac}`);
  expect(endpoint.got.every((r) => r.headers['x-minicom-event'] === 'message.created')).toBe(true);

  // The log says it was delivered; the secret is not shown again.
  await agent.reload();
  const entry = card.getByRole('listitem').filter({ hasText: endpoint.url });
  await entry.getByText('Latest deliveries').click();
  await expect(entry).toContainText('Delivered (HTTP 200)');
  await expect(agent.getByText(secret)).toHaveCount(0);
  await checkPage(agent, 'a webhook with its log, desktop');
  await entry.getByRole('button', { name: `Delete the endpoint ${endpoint.url}` }).click();
  await expect(card.getByRole('listitem').filter({ hasText: endpoint.url })).toHaveCount(0);
  endpoint.close();
});

for (const scheme of ['light', 'dark'] as const) {
  test(`webhooks at 360 px, ${scheme}`, async ({ browser }) => {
    const agent = await signIn(browser, { viewport: { width: 360, height: 740 }, colorScheme: scheme });
    await agent.goto('/inbox/settings');
    await hydrated(agent);
    const card = agent.getByRole('region', { name: 'Webhooks' });
    // Refused, with the reason where the admin looks.
    await card.getByLabel('Endpoint URL').fill('ftp://files.example.com/');
    await card.getByRole('button', { name: 'Add endpoint' }).click();
    await expect(card.getByRole('alert')).toContainText("Give the endpoint's address");
    await card.getByLabel('Endpoint URL').fill(`http://127.0.0.1:9/minicom/a-rather-long-path/${scheme}/${Date.now()}`);
    await card.getByRole('button', { name: 'Add endpoint' }).click();
    await expect(card.getByRole('status')).toContainText('Copy the signing secret now');
    await card.scrollIntoViewIfNeeded();
    await checkPage(agent, `a new webhook at 360 px, ${scheme}`);
    await card.getByRole('button', { name: /^Delete the endpoint http:\/\/127\.0\.0\.1:9\/minicom\/a-rather-long-path/ }).click();
    await expect(card.getByRole('listitem')).toHaveCount(0);
  });
}
