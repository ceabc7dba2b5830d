import { test, expect, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../playwright.config';
import { closeContexts, composer, hydrated } from './support';

// Two Minicom instances on a throwaway PostgreSQL cluster and a throwaway
// Redis, behind the nginx configuration docs/deploy.md documents
// (docs/nginx/minicom.conf).
// The visitor's messenger goes through nginx to instance A (B is its
// backup); the agent works on B. A is killed with SIGKILL mid-stream.

const dir = mkdtempSync(join(tmpdir(), 'minicom-e2e-cluster-'));
// nginx's workers run as an unprivileged user and buffer large answers (the
// WASM) into temporary files here.
chmodSync(dir, 0o755);
const children: ChildProcess[] = [];

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a program and waits until `ready` says it is up (bounded). */
async function start(command: string, args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>) {
  const child = spawn(command, args, { cwd: '..', env: { ...process.env, ...env }, stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
    if (await ready()) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${command} did not start`);
}

const answers = (url: string) => async () => {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
};

/** Runs one of PostgreSQL's programs (the newest Debian version) as the
 * `postgres` user when we are root: PostgreSQL refuses to run as root. */
function postgres(program: string, args: string[], cwd: string) {
  const version = readdirSync('/usr/lib/postgresql').map(Number).filter((v) => !Number.isNaN(v)).sort((a, b) => b - a)[0];
  const path = `/usr/lib/postgresql/${version}/bin/${program}`;
  const [command, all] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  const run = spawnSync(command, all, { cwd, stdio: 'pipe' });
  if (run.status !== 0) throw new Error(`${program} failed: ${run.stderr?.toString()}`);
}

/** A throwaway PostgreSQL cluster on `port`, in its own folder. */
function startPostgres(port: number): string {
  const pgDir = mkdtempSync(join(tmpdir(), 'minicom-e2e-pg-'));
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres']).stdout.toString().trim());
    chownSync(pgDir, id('-u'), id('-g'));
  }
  postgres('initdb', ['-D', `${pgDir}/data`, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], pgDir);
  postgres('pg_ctl', ['-D', `${pgDir}/data`, 'start', '-w', '-l', `${pgDir}/log`,
    '-o', `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1`], pgDir);
  return pgDir;
}

let pgDir = '';
let front = '';
let second = '';
let first: ChildProcess;

test.beforeAll(async () => {
  test.setTimeout(60_000);
  const [pgPort, redisPort, aPort, bPort, nginxPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  pgDir = startPostgres(pgPort);
  await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {},
    async () => spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).stdout?.toString().trim() === 'PONG');
  const env = (port: number) => ({
    MINICOM_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    MINICOM_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    MINICOM_ADMIN_EMAIL: ADMIN_EMAIL,
    MINICOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    MINICOM_LOG: 'warn',
    MINICOM_ASSISTANT: 'off',
  });
  first = await start('./target/debug/minicom', [], env(aPort), answers(`http://127.0.0.1:${aPort}/readyz`));
  await start('./target/debug/minicom', [], env(bPort), answers(`http://127.0.0.1:${bPort}/readyz`));
  const site = readFileSync('../docs/nginx/minicom.conf', 'utf8')
    .replace('10.0.0.11:3000', `127.0.0.1:${aPort}`)
    .replace('10.0.0.12:3000', `127.0.0.1:${bPort} backup`)
    .replace('listen 80;', `listen 127.0.0.1:${nginxPort};`);
  writeFileSync(join(dir, 'minicom.conf'), site);
  writeFileSync(join(dir, 'nginx.conf'), [
    'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log warn;`,
    'events { worker_connections 1024; }',
    'http {', 'access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`),
    `include ${dir}/minicom.conf;`, '}',
  ].join('\n'));
  front = `http://127.0.0.1:${nginxPort}`;
  second = `http://127.0.0.1:${bPort}`;
  await start('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {}, answers(`${front}/healthz`));
});

test.afterAll(async () => {
  // SIGTERM: nginx's master stops its workers before it exits.
  for (const child of children.reverse()) child.kill('SIGTERM');
  if (pgDir) {
    try {
      postgres('pg_ctl', ['-D', `${pgDir}/data`, 'stop', '-m', 'immediate'], pgDir);
    } finally {
      rmSync(pgDir, { recursive: true, force: true });
    }
  }
});

test.afterEach(closeContexts);

/** The agent, signed in on instance B directly, with the visitor's
 * conversation open. */
async function agentOnB(page: Page, firstMessage: string) {
  await page.goto(`${second}/inbox`);
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link').filter({ hasText: firstMessage }).click();
}

test('killing the instance a visitor is on mid-stream loses and duplicates nothing', async ({ browser }) => {
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${front}/messenger`);
  await hydrated(visitor);
  await expect(visitor.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  const tag = Date.now();
  const log = visitor.getByRole('log', { name: 'Messages' });
  await composer(visitor).fill(`first ${tag}`);
  await composer(visitor).press('Enter');
  await expect(log.getByText('Sending…')).toHaveCount(0);

  const agent = await (await browser.newContext()).newPage();
  await agentOnB(agent, `first ${tag}`);
  const bubbles = agent.getByRole('log', { name: 'Messages' }).locator('.bubble');
  await expect(bubbles).toHaveText([`first ${tag}`]);

  // Five messages in a row; A dies while they are on their way.
  const texts = [1, 2, 3, 4, 5].map((n) => `stream ${n} ${tag}`);
  for (const [i, text] of texts.entries()) {
    await composer(visitor).fill(text);
    await composer(visitor).press('Enter');
    if (i === 2) first.kill('SIGKILL');
  }

  // The messenger reconnects through nginx to B and sends what was not
  // acknowledged; the agent sees each message once, in order.
  await expect(bubbles).toHaveText([`first ${tag}`, ...texts], { timeout: 30_000 });
  await expect(log.getByText('Sending…')).toHaveCount(0);
  await agent.reload();
  await expect(bubbles).toHaveText([`first ${tag}`, ...texts]);
});
