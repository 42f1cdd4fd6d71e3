// Shared by the browser tests: a real `baton serve` on a free loopback port
// with its own data folder, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = path.join(ROOT, 'artifacts', 'screenshots');

/** Chromium's flags: no sandbox (we run as root in a container), and no
 *  calls to anything but the test's own loopback server. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const START_TIMEOUT_MS = 120000;

/** Start `baton serve`; resolves with its URL, the demo login and `stop()`. */
export async function startBaton() {
  const bin = process.env.BATON_BIN;
  if (!bin) throw new Error('set BATON_BIN to the built `baton` binary');
  const data = await mkdtemp(path.join(tmpdir(), 'baton-e2e-'));
  const child = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1:0'], {
    cwd: ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton did not start in time:\n${errors}`)), START_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton exited with ${code}:\n${errors}`));
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const url = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const login = output.match(/demo agent login: (\S+) \/ (\S+)/);
      if (url && login) {
        clearTimeout(timer);
        resolve({ url: url[1], email: login[1], password: login[2] });
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    ...ready,
    /** The demo store's URL, printed after the login line. */
    storeUrl() {
      const store = output.match(/demo store: (http:\/\/127\.0\.0\.1:\d+)/);
      return store ? store[1] : null;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await rm(data, { recursive: true, force: true });
    },
  };
}

export async function launchChromium() {
  // playwright-core gives each launch a fresh, empty --user-data-dir.
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60000,
  });
}

/** A page that records every dialog, so a test can assert none opened. */
export async function watchedPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { context, page, dialogs, errors };
}

/** Call the API as a client would, from the test itself. */
export async function api(baton, method, apiPath, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${baton.url}${apiPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

export async function agentLogin(page, baton) {
  await page.goto(`${baton.url}/console`);
  await page.getByLabel('E-mail').fill(baton.email);
  await page.getByLabel('Password').fill(baton.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#me').filter({ hasText: /\S/ }).waitFor();
}
