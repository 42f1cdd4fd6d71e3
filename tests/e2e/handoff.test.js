// A whole support conversation across two browsers: the customer in the
// chat, the agent in the console, and Baton between them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBaton, launchChromium, watchedPage, api, screenshot, agentLogin,
} from './helpers.js';

const XSS = '<img src=x onerror=alert(1)>';

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

/** Open the chat and wait for the greeting. */
async function openChat(options = {}) {
  const customer = await watchedPage(browser, options);
  await customer.page.goto(`${baton.url}/chat`);
  await customer.page.locator('#chat-status.live').waitFor();
  await customer.page.locator('.msg.bot').first().waitFor();
  return customer;
}

async function say(page, text) {
  const before = await page.locator('.msg.customer:not(.pending)').count();
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
  await page.locator('.msg.customer:not(.pending)').nth(before).waitFor();
}

test('the pages are served with their content types and a strict security policy', async () => {
  for (const [pathname, type] of [
    ['/chat', 'text/html; charset=utf-8'],
    ['/console', 'text/html; charset=utf-8'],
    ['/dashboard', 'text/html; charset=utf-8'],
    ['/widget.js', 'text/javascript; charset=utf-8'],
    ['/assets/console.css', 'text/css; charset=utf-8'],
  ]) {
    const response = await fetch(`${baton.url}${pathname}`);
    assert.equal(response.status, 200, pathname);
    assert.equal(response.headers.get('content-type'), type, pathname);
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self';/, pathname);
    assert.match(csp, /default-src 'none';/, pathname);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  }
  const chat = await fetch(`${baton.url}/chat`);
  assert.match(chat.headers.get('content-security-policy'), /frame-ancestors \*$/);
  const consolePage = await fetch(`${baton.url}/console`);
  assert.match(consolePage.headers.get('content-security-policy'), /frame-ancestors 'none'$/);
});

test('typing notices and queue positions answer only to the conversation\'s own tokens', async () => {
  const mine = await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } });
  const other = await api(baton, 'POST', '/api/v1/conversations', { body: { channel: 'web' } });
  const typing = `/api/v1/conversations/${mine.body.id}/typing`;
  assert.equal((await api(baton, 'POST', typing, { token: mine.body.customer_token })).status, 204);
  assert.equal((await api(baton, 'POST', typing, { token: other.body.customer_token })).status, 403);
  assert.equal((await api(baton, 'POST', typing)).status, 401);
  const unknown = await api(baton, 'POST', '/api/v1/conversations/not-an-id/typing', {
    token: mine.body.customer_token,
  });
  assert.equal(unknown.status, 404);

  const position = `/api/v1/conversations/${mine.body.id}/position`;
  const inBot = await api(baton, 'GET', position, { token: mine.body.customer_token });
  assert.deepEqual(inBot.body, { stage: 'bot', position: null });
  await api(baton, 'POST', `/api/v1/conversations/${mine.body.id}/messages`, {
    token: mine.body.customer_token,
    body: { text: 'I want a human' },
  });
  const queued = await api(baton, 'GET', position, { token: mine.body.customer_token });
  assert.equal(queued.body.stage, 'queued');
  assert.equal(queued.body.position, queued.body.queue_length);
  assert.equal((await api(baton, 'GET', position, { token: other.body.customer_token })).status, 403);

  // Leave the queue as it was for the tests that count it.
  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const taken = await api(baton, 'POST', `/api/v1/conversations/${mine.body.id}/assign`, {
    token: login.body.token,
  });
  assert.equal(taken.status, 200);
  const done = await api(baton, 'POST', `/api/v1/conversations/${mine.body.id}/resolve`, {
    token: login.body.token,
  });
  assert.equal(done.status, 200);
});

test('a customer asks for a person, an agent takes over with the suggested reply, resolves, and the customer rates it', async () => {
  const customer = await openChat();
  const chat = customer.page;
  await say(chat, 'Where is my order 1042? It still has not arrived.');
  await chat.locator('.msg.bot').nth(1).waitFor();
  await say(chat, 'I want to talk to a real person please');
  await chat.locator('#banner.queued').waitFor();
  assert.equal(await chat.locator('#banner').textContent(),
    'You are number 1 in the queue. A person will join shortly; you can keep writing.');
  assert.equal(await chat.locator('#chat-status').textContent(), 'Waiting for a person');

  // The agent signs in elsewhere and finds it at the head of the queue.
  const agent = await watchedPage(browser, { viewport: { width: 1440, height: 900 } });
  const desk = agent.page;
  await agentLogin(desk, baton);
  await desk.locator('#queue li').first().waitFor();
  assert.equal(await desk.locator('#queue-count').textContent(), '1');
  assert.equal(await desk.locator('#queue .reason').first().textContent(), 'Human requested');
  await desk.locator('#queue li button').first().click();

  // The handoff packet is on top, with the facts the customer already gave.
  await desk.locator('#packet h3').waitFor();
  const id = await chat.evaluate(() => window.__batonWidget.conversationId);
  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const server = await api(baton, 'GET', `/api/v1/conversations/${id}`, { token: login.body.token });
  const packet = server.body.handoff;
  assert.equal(await desk.locator('#packet .summary').textContent(), packet.summary);
  assert.equal(await desk.locator('#packet .suggested-text').textContent(), packet.suggested_reply);
  assert.equal(await desk.locator('#packet .spark circle').count(), packet.sentiment.length);
  const chips = await desk.locator('#packet .chip').allTextContents();
  assert.equal(chips.length, packet.entities.length);
  assert.equal(await desk.locator('.line.customer').count(), 2);

  // The copilot panel shows the server's suggestions, each with its why.
  const assist = await api(baton, 'GET', `/api/v1/conversations/${id}/assist`, { token: login.body.token });
  assert.equal(assist.status, 200);
  const first = assist.body.replies.find((s) => s.kind === 'first_reply');
  assert.equal(first.text, packet.suggested_reply);
  await desk.locator('#copilot .suggestion.first_reply').waitFor();
  assert.equal(await desk.locator('#copilot .suggestion.first_reply .why').textContent(), `Why: ${first.why}`);

  // The weekly copilot question, answered once.
  await desk.locator('#pulse').waitFor();
  await desk.locator('#pulse').getByRole('button', { name: '4 out of 5' }).click();
  await desk.locator('#pulse').filter({ hasText: 'Thanks, noted for this week.' }).waitFor();
  const pulse = await api(baton, 'GET', '/api/v1/agents/me/pulse', { token: login.body.token });
  assert.deepEqual([pulse.body.answered, pulse.body.score], [true, 4]);

  // Take it; the customer is told who joined.
  await desk.getByRole('button', { name: 'Take', exact: true }).click();
  await desk.locator('#conv-title .badge.human').waitFor();
  await chat.locator('#banner.joined').waitFor();
  const agentName = login.body.agent.name;
  assert.equal(await chat.locator('#chat-title').textContent(), agentName);
  assert.equal(await chat.locator('#banner').textContent(), `${agentName} from our team has joined the chat.`);
  const joined = await chat.locator('.msg.system.joined .bubble').last().textContent();
  assert.ok(joined.includes(agentName), `the join notice names the agent: ${joined}`);
  await desk.locator('#queue-count').filter({ hasText: /^0$/ }).waitFor();

  // The customer types; the agent sees it.
  await chat.getByLabel('Your message').fill('Thank you');
  await desk.locator('#typing').filter({ hasText: 'Customer is typing…' }).waitFor();
  await chat.getByLabel('Your message').fill('');

  // The agent types; the customer sees who.
  await desk.locator('#reply').fill('One moment');
  await chat.locator('#typing').filter({ hasText: `${agentName} is typing` }).waitFor();
  await desk.locator('#reply').fill('');

  // The copilot's first reply goes into the composer and out to the
  // customer, and is recorded as used as suggested.
  const useButton = desk.locator('#copilot .suggestion.first_reply button.use:enabled');
  await useButton.waitFor();
  await useButton.click();
  assert.equal(await desk.locator('#reply').inputValue(), packet.suggested_reply);
  await desk.locator('#reply').press('Control+Enter');
  await chat.locator('.msg.agent .bubble').first().waitFor();
  assert.equal(await chat.locator('.msg.agent .bubble').first().textContent(), packet.suggested_reply);
  await desk.locator('.line.agent').first().waitFor();
  const log = await api(baton, 'GET', `/api/v1/conversations/${id}/events`, { token: login.body.token });
  const used = log.body.events.filter((e) => e.type === 'decided' && e.action === 'suggestion_used');
  assert.equal(used.length, 1);
  assert.equal(used[0].detail.kind, 'first_reply');
  assert.equal(used[0].detail.suggestion_id, first.id);

  // A customer message refreshes the panel over the socket; an empathy
  // prompt is rated helpful and then dismissed.
  await say(chat, 'This is the third time I am asking about this order!');
  await desk.locator('#copilot .suggestion.empathy[data-id^="empathy:repeated_contact:"]').waitFor();
  const prompt = desk.locator('#copilot .suggestion.empathy').first();
  const promptId = await prompt.getAttribute('data-id');
  await prompt.getByRole('button', { name: 'Helpful', exact: true }).click();
  await prompt.locator('.rate.chosen').waitFor();
  await prompt.getByRole('button', { name: 'Dismiss' }).click();
  await desk.locator(`#copilot .suggestion[data-id="${promptId}"]`).waitFor({ state: 'detached' });
  const after = await api(baton, 'GET', `/api/v1/conversations/${id}/events`, { token: login.body.token });
  const feedback = after.body.events
    .filter((e) => e.type === 'decided' && e.detail && e.detail.suggestion_id === promptId)
    .map((e) => [e.action, e.detail.helpful ?? null]);
  assert.deepEqual(feedback, [['suggestion_rated', true], ['suggestion_dismissed', null]]);

  // An internal note stays with the team.
  await desk.getByLabel('Internal note').check();
  await desk.locator('#reply').fill('Checked the carrier: parcel is in the depot.');
  await desk.getByRole('button', { name: 'Add note' }).click();
  await desk.locator('.line.note .text').filter({ hasText: 'Checked the carrier' }).waitFor();

  await screenshot(desk, 'console');

  // Resolve; the customer gets the rating question and answers it.
  await desk.getByRole('button', { name: 'Resolve' }).click();
  await desk.locator('#conv-title .badge.resolved').waitFor();
  await chat.getByRole('button', { name: '4 out of 5' }).waitFor();
  await screenshot(chat, 'chat-rating');
  await chat.getByRole('button', { name: '4 out of 5' }).click();
  await desk.locator('.line.trace .text').filter({ hasText: 'Customer rated 4/5' }).waitFor();
  await chat.locator('.quick.rating button[disabled]').first().waitFor();

  const final = await api(baton, 'GET', `/api/v1/conversations/${id}`, { token: login.body.token });
  assert.equal(final.body.stage, 'resolved');
  assert.deepEqual(final.body.csat, { score: 4, comment: null });
  assert.equal(await chat.locator('.msg').filter({ hasText: 'Checked the carrier' }).count(), 0);
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(agent.errors, []);
  await customer.context.close();
  await agent.context.close();
});

test('markup in messages shows as text in both windows and runs nothing', async () => {
  const customer = await openChat();
  const chat = customer.page;
  await say(chat, `Hello ${XSS} I need a human`);
  await chat.locator('#banner.queued').waitFor();

  const agent = await watchedPage(browser);
  const desk = agent.page;
  await agentLogin(desk, baton);
  const id = await chat.evaluate(() => window.__batonWidget.conversationId);
  await desk.goto(`${baton.url}/console#c=${id}`);
  await desk.locator('.line.customer .text').first().waitFor();
  await desk.getByRole('button', { name: 'Take', exact: true }).click();
  await desk.locator('#conv-title .badge.human').waitFor();
  await desk.locator('#reply').fill(`Sure. ${XSS}<script>alert(2)</script>`);
  await desk.getByRole('button', { name: 'Send reply' }).click();
  await chat.locator('.msg.agent .bubble').first().waitFor();

  assert.equal(await chat.locator('.msg.customer .bubble').first().textContent(), `Hello ${XSS} I need a human`);
  assert.equal(await chat.locator('.msg.agent .bubble').first().textContent(),
    `Sure. ${XSS}<script>alert(2)</script>`);
  assert.equal(await desk.locator('.line.customer .text').first().textContent(), `Hello ${XSS} I need a human`);
  for (const page of [chat, desk]) {
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('body script:not([src])').count(), 0);
  }
  // Give any injected handler the chance it would have had.
  await chat.waitForTimeout(300);
  assert.deepEqual(customer.dialogs, []);
  assert.deepEqual(agent.dialogs, []);
  await customer.context.close();
  await agent.context.close();
});

test('the chat reconnects after its socket drops and shows what it missed, once', async () => {
  const customer = await openChat();
  const chat = customer.page;
  await say(chat, 'Can I speak to an agent?');
  await chat.locator('#banner.queued').waitFor();
  const id = await chat.evaluate(() => window.__batonWidget.conversationId);
  const login = await api(baton, 'POST', '/api/v1/auth/login', {
    body: { email: baton.email, password: baton.password },
  });
  const token = login.body.token;
  assert.equal((await api(baton, 'POST', `/api/v1/conversations/${id}/assign`, { token })).status, 200);
  await chat.locator('#banner.joined').waitFor();

  // A plain drop: the socket comes back by itself.
  await chat.evaluate(() => window.__batonWidget.dropSocket());
  await chat.locator('#chat-status:not(.live)').waitFor();
  await chat.locator('#chat-status.live').waitFor();
  await api(baton, 'POST', `/api/v1/conversations/${id}/messages`, { token, body: { text: 'First, while you were back.' } });
  await chat.locator('.msg.agent .bubble', { hasText: 'First, while you were back.' }).waitFor();

  // A longer outage: two messages land while the chat is offline.
  await chat.evaluate(() => window.__batonWidget.holdSocket());
  await chat.locator('#chat-status:not(.live)').waitFor();
  for (const text of ['Second, sent while you were offline.', 'Third, also while offline.']) {
    const sent = await api(baton, 'POST', `/api/v1/conversations/${id}/messages`, { token, body: { text } });
    assert.equal(sent.status, 201);
  }
  assert.equal(await chat.locator('.msg.agent').count(), 1);
  await chat.evaluate(() => window.__batonWidget.releaseSocket());
  await chat.locator('#chat-status.live').waitFor();
  await chat.locator('.msg.agent').nth(2).waitFor();
  assert.deepEqual(await chat.locator('.msg.agent .bubble').allTextContents(), [
    'First, while you were back.',
    'Second, sent while you were offline.',
    'Third, also while offline.',
  ]);

  // A reload keeps the conversation (the token lives in the tab's session).
  await chat.reload();
  await chat.locator('#chat-status.live').waitFor();
  assert.equal(await chat.evaluate(() => window.__batonWidget.conversationId), id);
  assert.equal(await chat.locator('.msg.agent').count(), 3);
  // A typed "5" answers the rating question exactly as the button would.
  assert.equal((await api(baton, 'POST', `/api/v1/conversations/${id}/resolve`, { token })).status, 200);
  await chat.getByRole('button', { name: '5 out of 5' }).waitFor();
  await say(chat, '5');
  await chat.locator('.quick.rating button[disabled]').first().waitFor();
  const rated = await api(baton, 'GET', `/api/v1/conversations/${id}`, { token });
  assert.deepEqual(rated.body.csat, { score: 5, comment: null });

  const seqs = await chat.locator('.msg[data-seq]').evaluateAll((nodes) => nodes.map((n) => Number(n.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length);
  await customer.context.close();
});

test('two agents see the same queue change live when one of them takes a conversation', async () => {
  const first = await watchedPage(browser, { viewport: { width: 1440, height: 900 } });
  const second = await watchedPage(browser);
  await agentLogin(first.page, baton);
  await agentLogin(second.page, baton);
  const before = Number(await first.page.locator('#queue-count').textContent());

  const customer = await openChat();
  await say(customer.page, 'Please put me through to a human');
  await customer.page.locator('#banner.queued').waitFor();
  const id = await customer.page.evaluate(() => window.__batonWidget.conversationId);
  const grown = new RegExp(`^${before + 1}$`);
  for (const { page } of [first, second]) {
    await page.locator('#queue-count').filter({ hasText: grown }).waitFor();
    await page.locator(`#queue button[data-id="${id}"]`).waitFor();
  }

  await first.page.locator(`#queue button[data-id="${id}"]`).click();
  await first.page.locator('#packet h3').waitFor();
  await screenshot(first.page, 'console-queue');
  await first.page.getByRole('button', { name: 'Take', exact: true }).click();
  await second.page.locator(`#queue button[data-id="${id}"]`).waitFor({ state: 'detached' });
  assert.equal(await second.page.locator('#queue-count').textContent(), String(before));
  for (const ctx of [first, second, customer]) await ctx.context.close();
});
