// The learning loop in the console: an agent relabels a customer message
// from the transcript, and a supervisor sees it pending over the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBaton, launchChromium, watchedPage, api, screenshot, agentLogin,
} from './helpers.js';

let baton;
let browser;

before(async () => {
  baton = await startBaton();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await baton?.stop();
});

test('an agent relabels a customer message from the transcript', async () => {
  const started = await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } });
  const { id, customer_token: customerToken } = started.body;
  await api(baton, 'POST', `/api/v1/conversations/${id}/messages`, {
    token: customerToken, body: { text: 'the zip on the jacket broke after a week' },
  });

  const agent = await watchedPage(browser);
  const desk = agent.page;
  await agentLogin(desk, baton);
  await desk.goto(`${baton.url}/console#c=${id}`);
  const line = desk.locator('.line.customer').first();
  await line.waitFor();
  await line.getByRole('button', { name: 'Relabel intent' }).click();
  await line.getByLabel('The intent this message really had').selectOption('complaint');
  await line.getByRole('button', { name: 'Save label' }).click();
  await line.getByRole('status').filter({ hasText: 'Thanks' }).waitFor();
  assert.equal(await line.getByRole('status').textContent(),
    'Thanks: sent to a supervisor for review.');
  assert.equal(await line.locator('.text').textContent(), 'the zip on the jacket broke after a week');
  await desk.locator('.line.trace.feedback').first().waitFor();
  await screenshot(desk, 'console-feedback');

  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const pending = await api(baton, 'GET', '/api/v1/feedback?status=pending', { token: login.body.token });
  assert.equal(pending.status, 200);
  assert.deepEqual(pending.body.feedback.map((f) => [f.kind, f.intent, f.message_text]),
    [['relabel', 'complaint', 'the zip on the jacket broke after a week']]);
  assert.deepEqual(agent.errors, []);
});
