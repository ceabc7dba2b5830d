import { test, expect, type Page } from '@playwright/test';
import { checkPage, closeContexts, composer, hydrated, messageLog, signIn } from './support';

test.afterEach(closeContexts);

/** Pastes a freshly drawn PNG "screenshot" into the page's message box. */
async function pasteScreenshot(page: Page, name: string) {
  await composer(page).focus();
  await page.evaluate(async (name) => {
    const canvas = document.createElement('canvas');
    canvas.width = 600;
    canvas.height = 300;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#2f5fd0';
    ctx.fillRect(0, 0, 600, 300);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(40, 40, 200, 100);
    const blob: Blob = await new Promise((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], name, { type: 'image/png' }));
    const box = document.querySelector('textarea.composer-input')!;
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, name);
}

async function openRow(agent: Page, text: string) {
  await agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: text }).click();
}

test('a pasted screenshot reaches the agent as a thumbnail that opens full size; a PDF goes back and downloads', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const visitor = await context.newPage();
  await visitor.goto('/messenger');
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  const tag = `Checkout button broken ${Date.now()}`;
  await pasteScreenshot(visitor, 'screenshot.png');
  const tray = visitor.getByRole('list', { name: 'Attached files' });
  await expect(tray.getByText('screenshot.png')).toBeVisible();
  await expect(tray.getByText('Ready')).toBeVisible();
  await checkPage(visitor, 'messenger with a file attached, phone');
  await composer(visitor).fill(tag);
  await composer(visitor).press('Enter');
  const log = messageLog(visitor);
  const picture = log.getByRole('button', { name: 'Open picture screenshot.png full size' });
  await expect(picture).toBeVisible();
  await expect(log.getByText('Sending…')).toHaveCount(0);
  await expect(tray).toHaveCount(0);
  // The thumbnail loaded, with the picture's shape.
  await expect.poll(() => picture.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  const box = await picture.boundingBox();
  expect(Math.round(box!.width / box!.height)).toBe(2);
  await checkPage(visitor, 'messenger with a picture, phone');

  const agent = await signIn(browser, { viewport: { width: 1400, height: 900 } });
  await openRow(agent, tag);
  const agentLog = messageLog(agent);
  const thumb = agentLog.getByRole('button', { name: 'Open picture screenshot.png full size' });
  await expect(thumb).toBeVisible();
  await thumb.click();
  const lightbox = agent.getByRole('dialog', { name: 'screenshot.png' });
  await expect(lightbox).toBeVisible();
  await expect.poll(() => lightbox.locator('img').first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(600);
  await checkPage(agent, 'inbox lightbox, desktop');
  await agent.keyboard.press('Escape');
  await expect(lightbox).toHaveCount(0);

  // The agent sends a PDF with the paperclip, no text needed.
  await agent.getByRole('button', { name: 'Attach files' }).click();
  await agent.locator('input.file-chooser').setInputFiles({
    name: 'invoice-1042.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n'),
  });
  await expect(agent.getByRole('list', { name: 'Attached files' }).getByText('Ready')).toBeVisible();
  await agent.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(agentLog.getByRole('link', { name: /invoice-1042\.pdf/ })).toBeVisible();
  await checkPage(agent, 'inbox with a file card, desktop');

  // The visitor downloads it.
  const card = log.getByRole('link', { name: /invoice-1042\.pdf/ });
  await expect(card).toContainText('PDF');
  const [download] = await Promise.all([visitor.waitForEvent('download'), card.click()]);
  expect(download.suggestedFilename()).toBe('invoice-1042.pdf');
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(path!).toString()).toContain('%PDF-1.4');
});

test('a file attached offline goes with its message when the network returns', async ({ browser }) => {
  const context = await browser.newContext();
  const visitor = await context.newPage();
  await visitor.goto('/messenger');
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  const tag = `Offline receipt ${Date.now()}`;
  await context.setOffline(true);
  await expect(visitor.getByText("You're offline")).toBeVisible();
  await pasteScreenshot(visitor, 'receipt.png');
  await composer(visitor).fill(tag);
  await composer(visitor).press('Enter');
  const log = messageLog(visitor);
  await expect(log.getByText('Waiting for the network…')).toBeVisible();
  await expect(log.getByText('Sending…')).toHaveCount(1);

  await context.setOffline(false);
  await expect(log.getByRole('button', { name: 'Open picture receipt.png full size' })).toBeVisible();
  await expect(log.getByText('Sending…')).toHaveCount(0);

  const agent = await signIn(browser);
  await openRow(agent, tag);
  await expect(messageLog(agent).getByRole('button', { name: 'Open picture receipt.png full size' })).toHaveCount(1);
  await expect(messageLog(agent).getByText(tag)).toHaveCount(1);
});

test('a refused file says why, and the message waits until it is removed or retried', async ({ page }) => {
  await page.goto('/messenger');
  await hydrated(page);
  await expect(page.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await page.locator('input.file-chooser').setInputFiles({
    name: 'page.png',
    mimeType: 'image/png',
    buffer: Buffer.from('<html><script>alert(1)</script></html>'),
  });
  const tray = page.getByRole('list', { name: 'Attached files' });
  await expect(tray.getByRole('alert')).toContainText('This type of file is not accepted');
  await expect(tray.getByRole('button', { name: 'Retry' })).toBeVisible();
  // Sending now would drop the file unseen: the composer says so instead.
  await composer(page).fill('Here is the page');
  await composer(page).press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'A file was not accepted' })).toBeVisible();
  await expect(messageLog(page).getByText('Here is the page')).toHaveCount(0);
  await tray.getByRole('button', { name: 'Remove page.png' }).click();
  await expect(tray).toHaveCount(0);
  await composer(page).press('Enter');
  await expect(messageLog(page).getByText('Here is the page')).toBeVisible();
});

test('links and simple formatting render; markup in a message stays literal', async ({ browser }) => {
  const context = await browser.newContext();
  const visitor = await context.newPage();
  await visitor.goto('/messenger');
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  let alerted = false;
  visitor.on('dialog', async (dialog) => {
    alerted = true;
    await dialog.dismiss();
  });
  const tag = Date.now();
  await composer(visitor).fill(`Order ${tag} is *urgent* — see https://example.com/help?q=1. Use \`SAVE10\` or _maybe_ <b>not</b> javascript:alert(1)`);
  await composer(visitor).press('Shift+Enter');
  await composer(visitor).pressSequentially('second line');
  await visitor.getByRole('button', { name: 'Insert emoji' }).click();
  await visitor.getByRole('button', { name: 'Insert 👍' }).click();
  await composer(visitor).press('Enter');
  const log = messageLog(visitor);
  const bubble = log.locator('.bubble').filter({ hasText: String(tag) });
  await expect(bubble).toBeVisible();
  const link = bubble.getByRole('link', { name: 'https://example.com/help?q=1' });
  await expect(link).toHaveAttribute('href', 'https://example.com/help?q=1');
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(bubble.locator('strong')).toHaveText('urgent');
  await expect(bubble.locator('em')).toHaveText('maybe');
  await expect(bubble.locator('code')).toHaveText('SAVE10');
  await expect(bubble).toContainText('<b>not</b> javascript:alert(1)');
  await expect(bubble.locator('b')).toHaveCount(0);
  await expect(bubble.getByRole('link')).toHaveCount(1);
  await expect(bubble).toContainText('second line👍');
  // The line break is kept.
  const lines = await bubble.locator('.bubble-text').evaluate((el) => (el as HTMLElement).innerText.split('\n').length);
  expect(lines).toBe(2);
  expect(alerted).toBe(false);
});
