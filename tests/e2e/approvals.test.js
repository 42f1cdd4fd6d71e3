// A refund above the approval limit, across two browsers: the customer asks
// in the chat, the AI holds the call, the agent sees the exact call and the
// policy in the console, approves it in one click, the store refunds, and
// the customer reads the result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBaton, launchChromium, watchedPage, screenshot, agentLogin,
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

async function say(page, text) {
  const before = await page.locator('.msg.customer:not(.pending)').count();
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
  await page.locator('.msg.customer:not(.pending)').nth(before).waitFor();
}

/** The refunds the demo store has made on an order. */
async function refunds(orderId) {
  const response = await fetch(`${baton.storeUrl()}/state`);
  const state = await response.json();
  return state.orders[orderId].payment_history.filter((p) => p.transaction_type === 'refund');
}

test('a refund above the approval limit waits in the console and approving it refunds and tells the customer', async () => {
  assert.ok(baton.storeUrl(), 'baton serve started the demo store');
  assert.equal((await refunds('#W0420662')).length, 0);

  // The customer asks for $349.96 back, over the $250 the AI may refund.
  const customer = await watchedPage(browser, { viewport: { width: 420, height: 760 } });
  await customer.page.goto(`${baton.url}/chat`);
  await customer.page.locator('#chat-status.live').waitFor();
  await say(customer.page, 'refund my order #W0420662, the full $349.96 please');
  await say(customer.page, 'ivo.pemberley90@example.com');
  await say(customer.page, 'yes');

  // The agent sees the held call with its exact parameters and policy.
  const agent = await watchedPage(browser, { viewport: { width: 1280, height: 860 } });
  await agentLogin(agent.page, baton);
  const card = agent.page.locator('.approval:not(.decided)').first();
  await card.waitFor();
  assert.equal(await card.locator('.approval-tool').textContent(), 'refund_order');
  assert.equal(await card.locator('.approval-call').textContent(),
    'refund_order({"amount":349.96,"order_id":"W0420662"})');
  assert.equal(await card.locator('[data-param="order_id"]').textContent(), 'W0420662');
  assert.equal(await card.locator('[data-param="amount"]').textContent(), '349.96');
  assert.equal(await card.locator('.approval-policy').textContent(),
    'Held by policy: amount 349.96 is above the 250.00 the assistant may approve');
  assert.equal(await agent.page.locator('#approvals-count').textContent(), '1');
  assert.equal((await refunds('#W0420662')).length, 0, 'nothing runs before the approval');
  await screenshot(agent.page, 'console-approval');

  // One click: the call runs and the agent sees what came of it.
  await card.getByRole('button', { name: 'Approve' }).click();
  const result = agent.page.locator('.approval.decided .approval-result.ok');
  await result.waitFor();
  const told = 'The refund of 349.96 USD for order #W0420662 is on its way to your original payment '
    + 'method. It takes 5 to 7 business days to show.';
  assert.equal(await result.textContent(),
    `Approved: refund_order ran and succeeded. The customer was told: “${told}”`);
  assert.equal(await agent.page.locator('#approvals-count').textContent(), '0');

  const made = await refunds('#W0420662');
  assert.equal(made.length, 1);
  assert.equal(made[0].amount, 349.96);

  // The customer reads the result in the chat, without a reload: from the
  // assistant, or as a system line when the billing queue has already
  // handed the conversation to the agent who logged in.
  await customer.page.locator('.msg .bubble', { hasText: told }).waitFor();
  assert.deepEqual(agent.errors, []);
  assert.deepEqual(customer.errors, []);
  await agent.context.close();
  await customer.context.close();
});
