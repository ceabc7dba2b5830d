import { test, expect, type Page } from '@playwright/test';
import { closeContexts, composer, hydrated, messageLog, openMessenger, say, signIn, seedMessages } from './support';

test.afterEach(closeContexts);

/** The inbox row of the conversation whose preview or name matches. */
const row = (agent: Page, text: string | RegExp) =>
  agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: text });

test('receipts go ✓ → ✓✓ → Seen, and typing is shown and cleared', async ({ browser }) => {
  // The visitor writes while nobody is in the inbox: sent, not delivered.
  const visitor = await openMessenger(browser);
  const question = `Do you ship to Norway? ${Date.now()}`;
  await say(visitor, question);
  const log = messageLog(visitor);
  await expect(log.getByTitle('Sent')).toBeVisible();

  // An agent's inbox receives it: delivered (✓✓), not yet seen.
  const agent = await signIn(browser);
  await expect(log.getByTitle('Delivered')).toBeVisible();
  await expect(log.getByText('Seen', { exact: true })).toHaveCount(0);
  await expect(visitor.getByText('The team is online')).toBeVisible();

  // The agent opens it: seen.
  await row(agent, question).click();
  await expect(messageLog(agent).getByText(question)).toBeVisible();
  await expect(log.getByTitle('Seen')).toBeVisible();
  await expect(log.getByText('Seen', { exact: true })).toBeVisible();
  await expect(agent.locator('.thread-header').getByText('Online')).toBeVisible();

  // The agent types: the visitor sees it; clearing the box clears it.
  await composer(agent).pressSequentially('Yes, we');
  await expect(visitor.getByText('Admin is typing…')).toBeVisible();
  await composer(agent).fill('');
  await expect(visitor.getByText('Admin is typing…')).toHaveCount(0);

  // The visitor types: the thread and the inbox row show it.
  await composer(visitor).pressSequentially('Great, and');
  await expect(agent.getByText(/Visitor #\d+ is typing…/)).toBeVisible();
  await expect(row(agent, 'typing…')).toBeVisible();
  // Sending ends it on the other side.
  await composer(visitor).press('Enter');
  await expect(messageLog(agent).getByText('Great, and')).toBeVisible();
  await expect(agent.getByText(/is typing…/)).toHaveCount(0);

  // The agent's reply shows "Seen" once the visitor (panel open) has it.
  await say(agent, 'Yes, we ship to Norway in 3–5 days.');
  await expect(messageLog(agent).getByText('Seen', { exact: true })).toBeVisible();
});

test('unread counts: inbox rows, the tab title and the messenger bubble', async ({ browser }) => {
  const agent = await signIn(browser);
  const visitor = await openMessenger(browser);
  const first = `First question ${Date.now()}`;
  await say(visitor, first);
  await say(visitor, 'And a second one.');

  // Not opened by the agent yet: two unread, in the row and the title.
  await expect(row(agent, /And a second one/)).toHaveAccessibleName(/2 unread$/);
  await expect(agent).toHaveTitle(/^\(\d+\) Inbox — Minicom$/);
  const before = Number((await agent.title()).match(/^\((\d+)\)/)![1]);
  await row(agent, /And a second one/).click();
  await expect(messageLog(agent).getByText(first)).toBeVisible();
  await expect(row(agent, /And a second one/)).not.toHaveAccessibleName(/unread$/);
  await expect
    .poll(async () => Number(((await agent.title()).match(/^\((\d+)\)/) ?? [0, 0])[1]))
    .toBe(before - 2);

  // The visitor closes the panel; the reply puts a badge on the bubble.
  await visitor.getByRole('button', { name: 'Close chat' }).first().click();
  await say(agent, 'Happy to help — what is your order number?');
  await expect(visitor.getByRole('button', { name: 'Open chat (1 unread)' })).toBeVisible();
  await visitor.getByRole('button', { name: /Open chat/ }).click();
  await expect(messageLog(visitor).getByText('what is your order number?')).toBeVisible();
  await visitor.getByRole('button', { name: 'Close chat' }).first().click();
  await expect(visitor.getByRole('button', { name: 'Open chat', exact: true })).toBeVisible();
});

test('reactions, edits and deletes show on both sides', async ({ browser }) => {
  const agent = await signIn(browser);
  const visitor = await openMessenger(browser);
  const text = `Is the Guji light roast back? ${Date.now()}`;
  await say(visitor, text);
  await row(agent, text).click();
  const agentLog = messageLog(agent);
  const visitorLog = messageLog(visitor);

  // The agent reacts from the message's actions.
  const message = agentLog.locator('.message-item').filter({ hasText: text });
  await message.hover();
  await message.getByRole('button', { name: 'React' }).click();
  await message.getByRole('button', { name: 'React 👍' }).click();
  await expect(visitorLog.getByRole('button', { name: /^👍 1: Admin$/ })).toBeVisible();
  // The visitor adds theirs by clicking the chip; then takes it back.
  await visitorLog.getByRole('button', { name: /^👍 1/ }).click();
  await expect(agentLog.getByRole('button', { name: /^👍 2: Admin, Visitor #\d+$/ })).toBeVisible();
  await visitorLog.getByRole('button', { name: /^👍 2/ }).click();
  await expect(agentLog.getByRole('button', { name: /^👍 1: Admin$/ })).toBeVisible();

  // The visitor fixes a typo in their message.
  const mine = visitorLog.locator('.message-item').filter({ hasText: text });
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit' }).click();
  const fixed = `${text} (the washed one)`;
  await visitor.getByRole('textbox', { name: 'Edit message' }).fill(fixed);
  await visitor.getByRole('textbox', { name: 'Edit message' }).press('Enter');
  await expect(agentLog.getByText(fixed)).toBeVisible();
  await expect(agentLog.getByText('(edited)')).toBeVisible();

  // The agent replies, then deletes the reply.
  await say(agent, 'Back on Monday!');
  await expect(visitorLog.getByText('Back on Monday!')).toBeVisible();
  agent.once('dialog', (dialog) => dialog.accept());
  const reply = agentLog.locator('.message-item').filter({ hasText: 'Back on Monday!' });
  await reply.hover();
  await reply.getByRole('button', { name: 'Delete' }).click();
  await expect(visitorLog.getByText('This message was deleted')).toBeVisible();
  await expect(visitorLog.getByText('Back on Monday!')).toHaveCount(0);
  await expect(agentLog.getByText('This message was deleted')).toBeVisible();

  // A reload shows the same.
  await visitor.reload();
  await hydrated(visitor);
  await visitor.getByRole('button', { name: /Open chat/ }).click();
  await expect(messageLog(visitor).getByText(fixed)).toBeVisible();
  await expect(messageLog(visitor).getByText('This message was deleted')).toBeVisible();
  await expect(messageLog(visitor).getByRole('button', { name: /^👍 1: Admin$/ })).toBeVisible();
});

test('scrolling up loads earlier messages and keeps the place', async ({ browser }) => {
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto('/messenger');
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  // 120 messages through a real socket of this visitor (their cookie).
  await seedMessages(visitor, 120, 'Paged message');
  await visitor.reload();
  const log = messageLog(visitor);
  await expect(log.getByText('Paged message 120', { exact: true })).toBeVisible();
  await expect(log.getByText('Paged message 70', { exact: true })).toHaveCount(0);

  const scroller = visitor.locator('.message-scroller');
  for (const oldest of ['Paged message 21', 'Paged message 1']) {
    await scroller.evaluate((el) => el.scrollTo(0, 0));
    await expect(log.getByText(oldest, { exact: true })).toBeAttached();
    // The reader stays where they were: not thrown to the very top.
    await expect.poll(() => scroller.evaluate((el) => el.scrollTop)).toBeGreaterThan(100);
  }
  await scroller.evaluate((el) => el.scrollTo(0, 0));
  await expect(visitor.getByText('Beginning of conversation')).toBeVisible();
  await expect(log.locator('.bubble')).toHaveCount(120);

  // A message arriving while the reader is up there does not yank them down:
  // a pill offers to jump.
  await visitor.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/ws?role=visitor`);
    await new Promise((resolve) => (ws.onopen = resolve));
    const acked = new Promise((resolve) => (ws.onmessage = (e) => JSON.parse(e.data).type === 'ack' && resolve(null)));
    ws.send(JSON.stringify({ type: 'send', client_id: crypto.randomUUID(), body: 'Sent from my other tab' }));
    await acked;
    ws.close();
  });
  await expect(visitor.getByRole('button', { name: 'New messages ↓' })).toBeVisible();
  expect(await scroller.evaluate((el) => el.scrollTop)).toBeLessThan(100);
  await visitor.getByRole('button', { name: 'New messages ↓' }).click();
  await expect(log.getByText('Sent from my other tab')).toBeInViewport();
  await expect(visitor.getByRole('button', { name: 'New messages ↓' })).toHaveCount(0);
});
