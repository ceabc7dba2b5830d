import { createServer, type Server } from 'node:http';
import { test, expect } from '@playwright/test';
import { ALLOWED_ORIGIN, MINICOM_URL } from '../playwright.config';
import { checkPage, closeContexts, hydrated, signIn } from './support';

// The messenger speaks the visitor's language: chosen from the browser's,
// or named by the site that embeds it. The inbox stays English.
test.afterEach(closeContexts);

const spanishComposer = (page: import('@playwright/test').Page) =>
  page.getByRole('textbox', { name: 'Mensaje', exact: true });

test('a Spanish browser sees a Spanish messenger, and the team sees that the visitor reads Spanish', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'es-ES' });
  const visitor = await context.newPage();
  await visitor.goto('/messenger');
  await hydrated(visitor);
  await expect(visitor.locator('html')).toHaveAttribute('lang', 'es');
  await expect(visitor.getByRole('status').filter({ hasText: 'En línea' })).toBeVisible();
  await expect(spanishComposer(visitor)).toHaveAttribute('placeholder', 'Escribe un mensaje…');
  await expect(visitor.getByRole('button', { name: 'Enviar' })).toBeVisible();
  await expect(visitor.getByText('¡Hola!')).toBeVisible();

  await spanishComposer(visitor).fill('Hola, ¿hacéis envíos a Chile?');
  await spanishComposer(visitor).press('Enter');
  const log = visitor.getByRole('log', { name: 'Mensajes' });
  await expect(log.getByText('Hola, ¿hacéis envíos a Chile?')).toBeVisible();
  // Times and states in Spanish too.
  await expect(log.locator('.message-time').first()).toHaveText('ahora mismo');
  await expect(log.getByText('Enviando…')).toHaveCount(0);
  await expect(visitor.getByRole('button', { name: 'Tus conversaciones' })).toBeVisible();

  // The team's inbox, in a Spanish browser too, stays English and names
  // the visitor's language.
  const agent = await signIn(browser, { locale: 'es-ES', viewport: { width: 1400, height: 900 } });
  await agent
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('link')
    .filter({ hasText: 'Hola, ¿hacéis envíos a Chile?' })
    .click();
  const panel = agent.getByRole('complementary', { name: 'About the visitor' });
  await expect(panel.getByRole('definition').filter({ hasText: 'Spanish' })).toBeVisible();
  await expect(agent.getByRole('textbox', { name: 'Message', exact: true })).toBeVisible();

  // A reply arrives; the visitor's messenger stays Spanish after a reload.
  await agent.getByRole('textbox', { name: 'Message', exact: true }).fill('¡Claro que sí!');
  await agent.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
  await expect(log.getByText('¡Claro que sí!')).toBeVisible();
  await visitor.reload();
  await hydrated(visitor);
  await expect(visitor.getByRole('log', { name: 'Mensajes' }).getByText('¡Claro que sí!')).toBeVisible();
  await checkPage(visitor, 'the Spanish messenger');
});

test('the messenger in French, German and Portuguese fits a phone in light and dark', async ({ browser }) => {
  for (const [locale, scheme, typed, send] of [
    ['fr-FR', 'dark', 'Écrivez un message…', 'Envoyer'],
    ['de-DE', 'light', 'Schreib eine Nachricht…', 'Senden'],
    ['pt-BR', 'dark', 'Escreva uma mensagem…', 'Enviar'],
  ] as const) {
    const context = await browser.newContext({
      locale,
      colorScheme: scheme,
      viewport: { width: 360, height: 740 },
    });
    const page = await context.newPage();
    await page.goto('/messenger');
    await hydrated(page);
    await expect(page.locator('html')).toHaveAttribute('lang', locale.slice(0, 2));
    await expect(page.locator('textarea.composer-input')).toHaveAttribute('placeholder', typed);
    await expect(page.getByRole('button', { name: send, exact: true })).toBeVisible();
    await checkPage(page, `the messenger in ${locale}, ${scheme}, 360 px`);
  }
});

test('a site that names the language gets it in the launcher and the messenger, whatever the browser says', async ({ browser }) => {
  // A shop on another origin installs the widget and names German.
  const shop: Server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(`<!doctype html><html lang="de"><title>Laden</title><h1>Ein Laden</h1>
      <script>window.minicomSettings = { language: 'de' };</script>
      <script src="${MINICOM_URL.replace('127.0.0.1', 'localhost')}/widget.js" async></script>`);
  });
  await new Promise<void>((resolve) => shop.listen(Number(new URL(ALLOWED_ORIGIN).port), '127.0.0.1', resolve));
  try {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(ALLOWED_ORIGIN);
    const launcher = page.getByRole('button', { name: 'Chat öffnen' });
    await expect(launcher).toBeVisible();
    await launcher.click();
    const frame = page.frameLocator('iframe[title="Chat"]');
    await expect(frame.getByRole('textbox', { name: 'Nachricht', exact: true })).toBeVisible();
    await expect(frame.locator('html')).toHaveAttribute('lang', 'de');
    await expect(page.getByRole('button', { name: 'Chat schließen' })).toBeVisible();
  } finally {
    await new Promise((resolve) => shop.close(resolve));
  }
});
