import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Each run serves the freshly built Minicom on its own port with an empty
// database in a temporary folder.
const port = Number(process.env.MINICOM_E2E_PORT ?? 3107);
const dataDir = mkdtempSync(join(tmpdir(), 'minicom-e2e-'));
export const ADMIN_EMAIL = 'admin@minicom.test';
export const ADMIN_PASSWORD = 'e2e-password-not-secret';
export const MINICOM_URL = `http://127.0.0.1:${port}`;
/** A second server with the AI assistant on (the real default model). */
export const AI_URL = `http://127.0.0.1:${port + 1}`;
const aiDataDir = mkdtempSync(join(tmpdir(), 'minicom-e2e-ai-'));
/** Another site allowed to embed the messenger; the tests fake its pages. (A
 * loopback origin: Chromium blocks public pages from framing loopback ones.) */
export const ALLOWED_ORIGIN = 'http://localhost:9911';
/** What the main server signs verified visitors' ids with. */
export const IDENTITY_SECRET = 'e2e-identity-secret-not-for-production';
/** A site that is not allowed to. */
export const OTHER_ORIGIN = 'http://localhost:9912';
/** A throwaway SMTP server (Python's aiosmtpd, `make setup-mail`) the main
 * server sends its follow-up emails to; it keeps them in this Maildir. */
const smtpPort = port + 2;
// Made once, by the runner: its workers inherit the variable (and load this
// file again).
process.env.MINICOM_E2E_MAIL_DIR ??= join(mkdtempSync(join(tmpdir(), 'minicom-e2e-mail-')), 'mail');
export const MAIL_DIR = process.env.MINICOM_E2E_MAIL_DIR;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        // Third-party cookies blocked, as more and more browsers ship: the
        // embedded messenger must keep its visitor all the same.
        '--test-third-party-cookie-phaseout',
      ],
    },
  },
  webServer: [{
    command: './target/debug/minicom',
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      MINICOM_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${dataDir}/minicom.db`,
      MINICOM_ADMIN_EMAIL: ADMIN_EMAIL,
      MINICOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MINICOM_LOG: 'warn',
      // Conversations here are answered by people only; ai.spec.ts has its own server.
      MINICOM_ASSISTANT: 'off',
      MINICOM_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
      MINICOM_IDENTITY_SECRET: IDENTITY_SECRET,
      // The paging test seeds 120 messages through one socket at once; every
      // other limit stays at its default.
      MINICOM_LIMIT_SEND_BURST: '200',
      MINICOM_LIMIT_SENDS_PER_MINUTE: '1000',
      MINICOM_LIMIT_SENDS_PER_SECOND: '100',
      MINICOM_LIMIT_FRAMES_PER_SECOND: '200',
      // webhooks.spec.ts's receiver listens on this machine.
      MINICOM_WEBHOOKS_ALLOW_PRIVATE: '1',
      // email.spec.ts: replies to visitors who left, a second later.
      MINICOM_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MINICOM_EMAIL_FROM: 'Support <support@minicom.test>',
      MINICOM_PUBLIC_URL: `http://127.0.0.1:${port}`,
      MINICOM_EMAIL_DELAY_SECONDS: '1',
    },
  }, {
    command: `python3 -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox ${MAIL_DIR}`,
    cwd: '..',
    port: smtpPort,
    reuseExistingServer: false,
    timeout: 30_000,
    env: { PYTHONPATH: 'target/aiosmtpd' },
  }, {
    command: './target/debug/minicom',
    cwd: '..',
    url: `${AI_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      MINICOM_ADDR: `127.0.0.1:${port + 1}`,
      DATABASE_URL: `sqlite://${aiDataDir}/minicom.db`,
      MINICOM_ADMIN_EMAIL: ADMIN_EMAIL,
      MINICOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MINICOM_LOG: 'warn',
      MINICOM_ASSISTANT: 'embedded',
    },
  }],
});
