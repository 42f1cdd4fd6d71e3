// The embeddable widget on another site, the phone-sized chat, and the
// supervisor dashboard against the figures the API gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
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

/** The value at a dotted path of a JSON object (`csat.average`). */
function at(object, dotted) {
  return dotted.split('.').reduce((value, key) => (value == null ? undefined : value[key]), object);
}

/** `baton report --json` against the running server, for the same period. */
function reportCli(token, query) {
  // `--name=value`, since a token may begin with a dash.
  const args = ['report', `--url=${baton.url}`, `--token=${token}`, '--json'];
  for (const [key, value] of new URLSearchParams(query)) args.push(`--${key}=${value}`);
  return JSON.parse(execFileSync(process.env.BATON_BIN, args, { encoding: 'utf8' }));
}

test('the dashboard shows the live queue and every report figure exactly as the API and baton report give it', async () => {
  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const token = login.body.token;
  const waitingBefore = (await api(baton, 'GET', '/api/v1/queue', { token })).body.conversations.length;

  // The seeded period: one question the AI answers and closes, rated 5; one
  // customer who asks for a person, is helped and rated 2; two customers
  // still waiting for a person.
  const start = async () => (await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } })).body;
  const send = (c, text, token) => api(baton, 'POST', `/api/v1/conversations/${c.id}/messages`, {
    token: token || c.customer_token, body: { text },
  });
  const answered = await start();
  await send(answered, 'What are your opening hours?');
  const goodbye = await send(answered, "thanks, that's all");
  assert.equal(goodbye.body.stage, 'resolved');
  await api(baton, 'POST', `/api/v1/conversations/${answered.id}/csat`, {
    token: answered.customer_token, body: { score: 5 },
  });
  const helped = await start();
  assert.equal((await send(helped, 'I want to talk to a human')).body.stage, 'queued');
  await api(baton, 'POST', `/api/v1/conversations/${helped.id}/assign`, { token, body: {} });
  assert.equal((await send(helped, 'Hello, I can help with that.', token)).status, 201);
  await api(baton, 'POST', `/api/v1/conversations/${helped.id}/resolve`, { token });
  await api(baton, 'POST', `/api/v1/conversations/${helped.id}/csat`, {
    token: helped.customer_token, body: { score: 2 },
  });
  for (const text of ['I need a human', 'Let me talk to a real person']) {
    assert.equal((await send(await start(), text)).body.stage, 'queued');
  }
  const queue = await api(baton, 'GET', '/api/v1/queue', { token });

  const supervisor = await watchedPage(browser, { viewport: { width: 1280, height: 1500 } });
  const page = supervisor.page;
  await agentLogin(page, baton);
  await page.goto(`${baton.url}/dashboard`);
  await page.locator('#live-queue').waitFor();
  assert.equal(await page.locator('#live-queue .value').textContent(), String(queue.body.conversations.length));
  assert.equal(queue.body.conversations.length, waitingBefore + 2);
  assert.equal(await page.locator('#live-agents .value').textContent(), '1');

  // Every figure on the page is the API's number, and baton report's.
  await page.locator('#report-tiles').waitFor();
  const query = await page.locator('#report').getAttribute('data-query');
  assert.match(query, /^from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}$/);
  const summary = (await api(baton, 'GET', `/api/v1/reports/summary?${query}`, { token })).body;
  const cli = reportCli(token, query);
  const figures = await page.locator('[data-figure]').evaluateAll((nodes) => nodes.map((n) => [n.dataset.figure, n.dataset.value, n.textContent]));
  const names = figures.map(([name]) => name);
  for (const wanted of [
    'conversations', 'containment_rate', 'escalation_rate', 'first_response_bot.median_seconds',
    'first_response_bot.p90_seconds', 'time_to_human.median_seconds', 'time_to_human.p90_seconds',
    'resolution_time.median_seconds', 'resolution_time.p90_seconds', 'csat.average',
    'csat.response_rate', 'tools_total.success_rate', 'suggestions_total.acceptance_rate',
  ]) assert.ok(names.includes(wanted), `the dashboard shows ${wanted}`);
  for (const [name, value] of figures) {
    assert.equal(value, String(at(summary, name)), `${name} as the API gives it`);
    assert.equal(value, String(at(cli, name)), `${name} as baton report gives it`);
  }
  assert.ok(summary.conversations >= 4);
  assert.equal(summary.csat.received, 2);
  const text = (name) => figures.find(([n]) => n === name)[2];
  assert.equal(text('conversations'), String(summary.conversations));
  assert.equal(text('csat.average'), summary.csat.average.toFixed(2));
  assert.equal(text('containment_rate'), `${(summary.containment_rate * 100).toFixed(1)}%`);

  // The charts are drawn from the same figures.
  const reasons = await page.locator('#reasons-chart .row').evaluateAll((rows) => rows.map((r) => [r.dataset.label, Number(r.dataset.count)]));
  assert.deepEqual(reasons, Object.entries(summary.escalations_by_reason).filter(([, n]) => n > 0));
  const ratings = await page.locator('#csat-chart .row').evaluateAll((rows) => rows.map((r) => [r.dataset.label, Number(r.dataset.count)]));
  assert.deepEqual(ratings, Object.entries(summary.csat.distribution));
  const series = (await api(baton, 'GET', `/api/v1/reports/timeseries?${query}&bucket=hour`, { token })).body;
  const bars = await page.locator('#volume-chart .bucket').evaluateAll((groups) => groups.map((g) => Number(g.dataset.ai) + Number(g.dataset.human)));
  assert.deepEqual(bars, series.points.map((p) => p.conversations));

  // The intents with the most escalations, and the journey audit with the
  // recommendation for the customers who asked for a person.
  const intents = (await api(baton, 'GET', `/api/v1/reports/intents?${query}`, { token })).body.intents;
  const mostEscalated = intents.filter((r) => r.escalated > 0).sort((a, b) => b.escalated - a.escalated || a.intent.localeCompare(b.intent));
  const shownEscalated = await page.locator('#most-escalated tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.intent));
  assert.deepEqual(shownEscalated, mostEscalated.slice(0, 5).map((r) => r.intent));
  const audit = (await api(baton, 'GET', `/api/v1/reports/audit?${query}`, { token })).body.intents;
  const human = audit.find((r) => r.top_reason === 'human_requested');
  assert.equal(human.recommendation, 'keep_human');
  const row = page.locator(`#audit-table tr[data-intent="${human.intent}"]`);
  assert.equal(await row.getAttribute('data-recommendation'), 'keep_human');
  assert.equal(await row.locator('.advice').textContent(), 'Keep human');
  assert.equal(await row.locator('.why').textContent(), human.why);
  assert.equal(await page.locator('#audit-table tbody tr').count(), audit.length);

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
