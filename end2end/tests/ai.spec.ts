import { test, expect, type Browser, type Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, AI_URL } from '../playwright.config';
import { composer, messageLog, closeContexts, hydrated } from './support';

// These run against the second server, where the AI assistant answers new
// conversations with the real default model.
test.afterEach(closeContexts);

async function visitorOnAiServer(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${AI_URL}/`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Open chat' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  return page;
}

async function agentOnAiServer(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${AI_URL}/inbox`);
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  return page;
}

test('the assistant answers a visitor, shown typing and labelled, until an agent takes over', async ({ browser }) => {
  const visitor = await visitorOnAiServer(browser);
  // Note every typing line that ever appears (the answer may come quickly).
  await visitor.evaluate(() => {
    (window as any).typingSeen = [];
    new MutationObserver(() => {
      const text = document.body.innerText;
      const match = text.match(/\S+ is typing…/);
      if (match) (window as any).typingSeen.push(match[0]);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  const question = 'Hello! Do you sell decaf beans?';
  await composer(visitor).fill(question);
  await composer(visitor).press('Enter');
  await expect(messageLog(visitor).getByText(question)).toBeVisible();

  // The answer arrives, from the assistant, labelled AI.
  const aiGroup = messageLog(visitor).locator('.message-group.from-ai');
  await expect(aiGroup).toHaveCount(1, { timeout: 30_000 });
  await expect(aiGroup.locator('.badge', { hasText: 'AI' })).toBeVisible();
  await expect(aiGroup.locator('.message-sender')).toHaveText('Assistant');
  expect(await visitor.evaluate(() => (window as any).typingSeen)).toContain('Assistant is typing…');
  await expect(visitor.getByText(/is typing…/)).toHaveCount(0);
  await expect(visitor.getByRole('button', { name: 'Talk to a person' })).toBeVisible();

  // The inbox shows the assistant handling it; the agent takes over by replying.
  const agent = await agentOnAiServer(browser);
  const row = agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').first();
  await expect(row.locator('.assistant-mark')).toHaveText('AI');
  await row.click();
  await expect(agent.getByText('The AI assistant is answering. Your reply takes over.')).toBeVisible();
  await expect(messageLog(agent).locator('.message-group.from-ai .badge')).toHaveText('AI');
  const reply = 'Hi, Ana here from the team. Yes, we do!';
  await composer(agent).fill(reply);
  await composer(agent).press('Enter');
  await expect(agent.getByText('You took over from the assistant.')).toBeVisible();
  await expect(row.locator('.assistant-mark')).toHaveText('Handed over');

  // The visitor gets the person's reply and no longer the assistant's offer.
  await expect(messageLog(visitor).getByText(reply)).toBeVisible();
  await expect(visitor.getByRole('button', { name: 'Talk to a person' })).toHaveCount(0);
});

test('talk to a person hands the conversation to the team', async ({ browser }) => {
  const visitor = await visitorOnAiServer(browser);
  await composer(visitor).fill('I have a problem with my order');
  await composer(visitor).press('Enter');
  await visitor.getByRole('button', { name: 'Talk to a person' }).click();
  await expect(messageLog(visitor).getByText('A teammate will get back to you here soon.')).toBeVisible();
  await expect(visitor.getByRole('button', { name: 'Talk to a person' })).toHaveCount(0);

  const agent = await agentOnAiServer(browser);
  const row = agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').first();
  await expect(row.locator('.assistant-mark')).toHaveText('Waiting');
  await row.click();
  await expect(agent.getByText('The assistant handed over: the visitor is waiting for a person.')).toBeVisible();
});

test('an admin switches the assistant off for new conversations, and on again', async ({ browser }) => {
  const admin = await agentOnAiServer(browser);
  await admin.goto(`${AI_URL}/inbox/team`);
  await hydrated(admin);
  const card = admin.getByRole('region', { name: 'AI assistant' });
  const toggle = card.getByLabel('Answer new conversations with the assistant');
  await expect(toggle).toBeChecked();
  await toggle.uncheck();
  await card.getByLabel('Company name').fill('Northwind Coffee');
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByText('Saved.')).toBeVisible();
  await admin.reload();
  await expect(card.getByLabel('Answer new conversations with the assistant')).not.toBeChecked();
  await expect(card.getByLabel('Company name')).toHaveValue('Northwind Coffee');

  // A new visitor's conversation goes to the team only.
  const visitor = await visitorOnAiServer(browser);
  const question = 'Is anyone there? (assistant off)';
  await composer(visitor).fill(question);
  await composer(visitor).press('Enter');
  await expect(messageLog(visitor).getByText(question)).toBeVisible();
  await admin.goto(`${AI_URL}/inbox`);
  const row = admin.getByRole('link').filter({ hasText: question });
  await expect(row).toBeVisible();
  await expect(row.locator('.assistant-mark')).toHaveCount(0);
  await expect(visitor.getByRole('button', { name: 'Talk to a person' })).toHaveCount(0);

  // On again, for whatever comes next.
  await admin.goto(`${AI_URL}/inbox/team`);
  await hydrated(admin);
  await card.getByLabel('Answer new conversations with the assistant').check();
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByText('Saved.')).toBeVisible();
});
