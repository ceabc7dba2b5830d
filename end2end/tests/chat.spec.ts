import { test, expect } from '@playwright/test';
import { ADMIN_EMAIL } from '../playwright.config';
import { closeContexts, composer, hydrated, openMessenger, signIn } from './support';

test.afterEach(closeContexts);

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/inbox');
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText("don't match an active account");
});

test('visitor and agent talk live, and history survives a reload', async ({ browser }) => {
  const agent = await signIn(browser);
  const visitor = await openMessenger(browser);

  const question = `Where is my order? ${Date.now()}`;
  await composer(visitor).fill(question);
  await composer(visitor).press('Enter');
  const visitorLog = visitor.getByRole('log', { name: 'Messages' });
  await expect(visitorLog.getByText(question)).toBeVisible();
  await expect(visitorLog.getByText('Sending…')).toHaveCount(0);

  // The conversation appears in the inbox with its preview; open it.
  const row = agent.getByRole('link').filter({ hasText: question });
  await expect(row).toBeVisible();
  await row.click();
  const agentLog = agent.getByRole('log', { name: 'Messages' });
  await expect(agentLog.getByText(question)).toBeVisible();
  await expect(agentLog.getByText(/Visitor #\d+/)).toBeVisible();
  await expect(agentLog.locator('time').first()).toHaveText(/just now|min ago|\d\d:\d\d/);

  const answer = 'It left the roastery this morning.';
  await composer(agent).fill(answer);
  await agent.getByRole('button', { name: 'Send' }).click();
  await expect(agentLog.getByText(answer)).toBeVisible();
  await expect(visitorLog.getByText(answer)).toBeVisible();
  await expect(visitorLog.getByText('Admin')).toBeVisible();

  // Reload both sides: the same history is there.
  await visitor.reload();
  await hydrated(visitor);
  await visitor.getByRole('button', { name: 'Open chat' }).click();
  await expect(visitor.getByRole('log', { name: 'Messages' }).getByText(question)).toBeVisible();
  await expect(visitor.getByRole('log', { name: 'Messages' }).getByText(answer)).toBeVisible();
  await agent.reload();
  await expect(agent.getByRole('log', { name: 'Messages' }).getByText(answer)).toBeVisible();
});

test('a message with markup is shown as text, never run', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  let alerted = false;
  visitor.on('dialog', async (dialog) => {
    alerted = true;
    await dialog.dismiss();
  });
  const body = '<img src=x onerror=alert(1)>';
  await composer(visitor).fill(body);
  await composer(visitor).press('Enter');
  const log = visitor.getByRole('log', { name: 'Messages' });
  await expect(log.getByText(body, { exact: true })).toBeVisible();
  await expect(log.locator('img')).toHaveCount(0);

  const agent = await signIn(browser);
  await agent.getByRole('link', { name: /<img src=x onerror=alert\(1\)>/ }).first().click();
  const agentLog = agent.getByRole('log', { name: 'Messages' });
  await expect(agentLog.getByText(body, { exact: true })).toBeVisible();
  await expect(agentLog.locator('img')).toHaveCount(0);
  expect(alerted).toBe(false);
});

test('the messenger works full page at phone size', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await page.goto('/messenger');
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await composer(page).fill('Hello from my phone');
  await composer(page).press('Enter');
  await expect(page.getByRole('log', { name: 'Messages' }).getByText('Hello from my phone')).toBeVisible();
  const box = await page.getByRole('region', { name: /Chat with/ }).boundingBox();
  expect(box?.width).toBe(360);
});
