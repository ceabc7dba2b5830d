import { test, expect, type Browser } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIL_DIR, MINICOM_URL } from '../playwright.config';
import { checkPage, closeContexts, composer, messageLog, openMessenger, say, signIn } from './support';

test.afterEach(closeContexts);

/** The emails the SMTP server received for `to`, decoded enough to read. */
function mailsTo(to: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(join(MAIL_DIR, 'new'));
  } catch {
    return [];
  }
  return names
    .map((name) => readFileSync(join(MAIL_DIR, 'new', name), 'utf8'))
    // Quoted-printable: long lines are folded.
    .map((raw) => raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='))
    .filter((mail) => mail.includes(`<${to}>`));
}

/** The link in an email's text that starts with `start`, as a path here. */
function pathOf(email: string, start: string): string {
  const at = email.lastIndexOf(`${MINICOM_URL}${start}`);
  expect(at, `a link to ${start}`).toBeGreaterThanOrEqual(0);
  return email.slice(at + MINICOM_URL.length).split(/\s/)[0];
}

async function phone(browser: Browser, colorScheme: 'light' | 'dark') {
  return (await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme })).newPage();
}

async function desktop(browser: Browser, colorScheme: 'light' | 'dark') {
  return (await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme })).newPage();
}

test('a visitor who left gets the reply by email; its link asks, then opens the conversation; unsubscribing asks too', async ({ browser }) => {
  const address = `ana.${Date.now()}@example.com`;
  const visitor = await openMessenger(browser);
  await visitor.getByRole('button', { name: 'Add your name and email so we can follow up' }).click();
  await visitor.getByLabel('Name').fill('Ana');
  await visitor.getByLabel('Email').fill(address);
  await visitor.getByRole('button', { name: 'Save' }).click();
  await expect(visitor.getByRole('button', { name: /Chatting as Ana/ })).toBeVisible();
  const question = `Do you ship to Oslo? ${Date.now()}`;
  await say(visitor, question);
  // Ana leaves.
  await visitor.context().close();

  const agent = await signIn(browser);
  await agent.getByRole('link').filter({ hasText: question }).click();
  const answer = 'Yes: Oslo takes two days.';
  await composer(agent).fill(answer);
  await agent.getByRole('button', { name: 'Send' }).click();
  await expect(messageLog(agent).getByText(answer)).toBeVisible();

  await expect.poll(() => mailsTo(address).length, { timeout: 30_000 }).toBe(1);
  const email = mailsTo(address)[0];
  expect(email).toContain('Subject: Admin replied to your message');
  expect(email).toContain(answer);
  const back = pathOf(email, '/messenger/continue?');
  const out = pathOf(email, '/messenger/unsubscribe?');

  // The link asks first, naming where the email went; a phone, dark.
  const page = await phone(browser, 'dark');
  await page.goto(back);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByText(`a…@example.com`)).toBeVisible();
  await checkPage(page, 'continue page, 360 px dark');
  await page.getByRole('button', { name: 'Continue the conversation' }).click();
  await expect(messageLog(page).getByText(answer)).toBeVisible();
  await expect(messageLog(page).getByText(question)).toBeVisible();
  await checkPage(page, 'the conversation, opened from the email, 360 px dark');

  // The same page on a desktop, light.
  const wide = await desktop(browser, 'light');
  await wide.goto(back);
  await expect(wide.getByRole('button', { name: 'Continue the conversation' })).toBeVisible();
  await checkPage(wide, 'continue page, desktop light');

  // Unsubscribing asks too (a mail scanner following links stops nothing).
  const leaving = await phone(browser, 'light');
  await leaving.goto(out);
  await checkPage(leaving, 'unsubscribe page, 360 px light');
  await leaving.getByRole('button', { name: 'Stop the emails' }).click();
  await expect(leaving.getByRole('heading', { name: 'You will get no more emails' })).toBeVisible();
  await checkPage(leaving, 'unsubscribed, 360 px light');
  const darkWide = await desktop(browser, 'dark');
  await darkWide.goto(out);
  await checkPage(darkWide, 'unsubscribe page, desktop dark');
});
