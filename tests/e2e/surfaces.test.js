// The embeddable widget on another site, the phone-sized chat, and the
// supervisor dashboard against the figures the API gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startBaton, launchChromium, watchedPage, api, screenshot, agentLogin,
} from './helpers.js';

let baton;
let browser;
let site;
let siteUrl;

before(async () => {
  baton = await startBaton();
  browser = await launchChromium();
  // A company's own page on another loopback port, embedding the widget.
  site = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><title>Hollowbrook</title></head>
      <body><h1>Hollowbrook outdoor store</h1>
      <script src="${baton.url}/widget.js" data-baton-url="${baton.url}"></script></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
  await baton?.stop();
});

test('the widget snippet opens the chat in a frame on another site and the customer gets an answer', async () => {
  const visitor = await watchedPage(browser, { viewport: { width: 1280, height: 800 } });
  const page = visitor.page;
  await page.goto(siteUrl);
  const launcher = page.getByRole('button', { name: 'Chat with us' });
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#baton-chat-frame').count(), 0);
  await launcher.click();
  assert.equal(await launcher.getAttribute('aria-expanded'), 'true');

  const frame = page.frameLocator('#baton-chat-frame');
  await frame.locator('#chat-status.live').waitFor();
  await frame.getByLabel('Your message').fill('What are your opening hours?');
  await frame.getByLabel('Your message').press('Enter');
  await frame.locator('.msg.bot').nth(1).waitFor();
  assert.equal(await frame.locator('.msg.customer .bubble').first().textContent(), 'What are your opening hours?');
  await screenshot(page, 'widget-embedded');

  // The frame's close button hands focus back to the launcher.
  await frame.getByRole('button', { name: 'Close chat' }).click();
  await page.locator('#baton-chat-frame').waitFor({ state: 'hidden' });
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  assert.deepEqual(visitor.errors, []);
  await visitor.context.close();
});

test('the chat works on a 375 pixel wide phone screen with the keyboard alone', async () => {
  const phone = await watchedPage(browser, { viewport: { width: 375, height: 740 }, hasTouch: true });
  const page = phone.page;
  await page.goto(`${baton.url}/chat`);
  await page.locator('#chat-status.live').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.equal(overflow, 375);
  // The composer is focused on load; typing and Enter send.
  await page.keyboard.type('مرحبا، أين طلبي؟');
  await page.keyboard.press('Enter');
  await page.locator('.msg.customer:not(.pending)').first().waitFor();
  assert.equal(await page.locator('.msg.customer .bubble').first().getAttribute('dir'), 'auto');
  assert.equal(await page.locator('#messages').getAttribute('aria-live'), 'polite');
  await page.locator('.msg.bot').nth(1).waitFor();
  await screenshot(page, 'chat-phone');
  await phone.context.close();
});

test('the dashboard shows the live queue and the report figures, or says reports are unavailable', async () => {
  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const token = login.body.token;
  const waitingBefore = (await api(baton, 'GET', '/api/v1/queue', { token })).body.conversations.length;

  // Two more customers waiting for a person.
  for (const text of ['I need a human', 'Let me talk to a real person']) {
    const started = await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } });
    const posted = await api(baton, 'POST', `/api/v1/conversations/${started.body.id}/messages`, {
      token: started.body.customer_token,
      body: { text },
    });
    assert.equal(posted.body.stage, 'queued');
  }
  const queue = await api(baton, 'GET', '/api/v1/queue', { token });

  const supervisor = await watchedPage(browser, { viewport: { width: 1280, height: 860 } });
  const page = supervisor.page;
  await agentLogin(page, baton);
  await page.goto(`${baton.url}/dashboard`);
  await page.locator('#live-queue').waitFor();
  assert.equal(await page.locator('#live-queue .value').textContent(), String(queue.body.conversations.length));
  assert.equal(queue.body.conversations.length, waitingBefore + 2);
  assert.equal(await page.locator('#live-agents .value').textContent(), '1');

  const summary = await api(baton, 'GET', '/api/v1/reports/summary', { token });
  if (summary.status === 404) {
    await page.locator('#report-unavailable').waitFor();
    assert.match(await page.locator('#report-unavailable').textContent(), /Reports are not available/);
  } else {
    assert.equal(summary.status, 200);
    await page.locator('#report-tiles').waitFor();
    for (const [key, value] of Object.entries(summary.body)) {
      if (typeof value === 'number') {
        assert.equal(await page.locator(`[data-figure="${key}"]`).count(), 1, key);
      }
    }
  }

  // A third escalation moves the live figure without a reload.
  const third = await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } });
  await api(baton, 'POST', `/api/v1/conversations/${third.body.id}/messages`, {
    token: third.body.customer_token,
    body: { text: 'get me an agent now' },
  });
  const three = String(waitingBefore + 3);
  await page.locator('#live-queue .value').filter({ hasText: new RegExp(`^${three}$`) }).waitFor();
  await screenshot(page, 'dashboard');
  assert.deepEqual(supervisor.errors, []);
  await supervisor.context.close();
});
