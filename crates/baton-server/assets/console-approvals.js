// The console's approvals panel: every call the AI holds for a person (a
// refund above the limit, say) with the exact tool, its parameters and the
// policy that stopped it; Approve or Reject in one click, then what came of
// it: the call's outcome and what the customer was told.
//
// It reads the queue, the agent's own conversations and the open one from
// the console's `baton:queue`, `baton:mine` and `baton:conversation`
// events, and calls the API itself.
'use strict';

(() => {
  const { el, api, humanise } = Baton;
  const SESSION_KEY = 'baton.agent.v1';
  const $ = (id) => document.getElementById(id);
  const list = $('approvals-list');
  const count = $('approvals-count');
  if (!list) return;

  const state = {
    /** conversation id → its held approvals, as the API gave them. */
    held: new Map(),
    /** approval id → the result of a decision made in this tab. */
    decided: new Map(),
    /** The conversations known to hold (or to have held) an approval. */
    watched: new Set(),
    /** conversation id → a fetch in flight, so a burst of events reads once. */
    inFlight: new Map(),
  };

  function token() {
    try {
      return (JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null') || {}).token || null;
    } catch (err) {
      return null;
    }
  }

  function call(method, path, body) {
    return api(method, path, { token: token(), body });
  }

  /** Re-read the held calls of one conversation. */
  function refresh(id) {
    if (state.inFlight.has(id)) return state.inFlight.get(id);
    const pending = call('GET', `/api/v1/conversations/${id}/approvals`)
      .then((result) => {
        if (result.approvals.length) state.held.set(id, result.approvals);
        else state.held.delete(id);
      })
      .catch(() => {
        // A conversation that cannot be read right now keeps what it showed.
      })
      .finally(() => {
        state.inFlight.delete(id);
        render();
      });
    state.inFlight.set(id, pending);
    return pending;
  }

  // The queue names the conversations waiting for an approval; one that
  // left the queue may still hold one (an agent took it), so it is read
  // again rather than dropped.
  document.addEventListener('baton:queue', (event) => {
    const waiting = (event.detail || []).filter((entry) => entry.reason === 'approval_required');
    for (const entry of waiting) state.watched.add(entry.id);
    for (const id of state.watched) refresh(id);
  });

  // An `auto` queue hands an approval straight to an agent: it never shows
  // in the queue, but it is among the agent's own conversations.
  document.addEventListener('baton:mine', (event) => {
    const held = (event.detail || []).filter((entry) => entry.reason === 'approval_required');
    for (const entry of held) {
      if (!state.watched.has(entry.id)) {
        state.watched.add(entry.id);
        refresh(entry.id);
      }
    }
  });

  document.addEventListener('baton:conversation', (event) => {
    const conversation = event.detail;
    if (!conversation) return;
    const escalation = conversation.escalation || {};
    if (escalation.reason === 'approval_required' || state.watched.has(conversation.id)) {
      state.watched.add(conversation.id);
      refresh(conversation.id);
    }
  });

  /** A parameter value exactly as it will be sent. */
  function shown(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function render() {
    const cards = [];
    for (const [conversationId, approvals] of state.held) {
      for (const approval of approvals) {
        if (!state.decided.has(approval.id)) cards.push(heldCard(conversationId, approval));
      }
    }
    for (const [, result] of state.decided) cards.push(result.card);
    count.textContent = String(cards.length - state.decided.size);
    $('approvals-empty').hidden = cards.length > 0;
    list.replaceChildren(...cards.map((card) => el('li', {}, card)));
  }

  function heldCard(conversationId, approval) {
    const params = Object.entries(approval.parameters || {});
    const result = el('p', { class: 'approval-result', role: 'status', hidden: true });
    const approve = el('button', { type: 'button', class: 'primary', text: 'Approve' });
    const reject = el('button', { type: 'button', text: 'Reject' });
    const card = el('article', {
      class: 'approval', 'data-approval': approval.id, 'data-conversation': conversationId,
      'aria-label': `Approval for ${approval.tool}`,
    },
    el('div', { class: 'approval-head' },
      el('span', { class: 'approval-tool', text: approval.tool }),
      el('a', { href: `#c=${conversationId}`, class: 'approval-open', text: 'Open conversation' })),
    el('code', { class: 'approval-call', text: `${approval.tool}(${JSON.stringify(approval.parameters || {})})` }),
    params.length
      ? el('dl', { class: 'approval-params' }, params.flatMap(([name, value]) => [
        el('dt', { text: humanise(name) }),
        el('dd', { 'data-param': name, text: shown(value) }),
      ]))
      : null,
    el('p', { class: 'approval-policy' }, el('strong', { text: 'Held by policy: ' }),
      approval.policy || 'a policy of the workspace'),
    el('div', { class: 'approval-actions' }, approve, reject),
    result);
    const decide = (decision) => async () => {
      approve.disabled = true;
      reject.disabled = true;
      result.hidden = false;
      result.className = 'approval-result';
      result.textContent = decision === 'approve' ? 'Approving…' : 'Rejecting…';
      try {
        const answer = await call('POST', `/api/v1/conversations/${conversationId}/approvals/${approval.id}`, { decision });
        const outcome = await whatHappened(conversationId, approval.tool, decision, answer);
        result.className = `approval-result ${outcome.ok ? 'ok' : 'bad'}`;
        result.textContent = outcome.text;
        card.classList.add('decided');
        state.decided.set(approval.id, { card });
        state.held.delete(conversationId);
        render();
      } catch (err) {
        result.className = 'approval-result bad';
        result.textContent = `The decision was not recorded: ${err.message}`;
        approve.disabled = false;
        reject.disabled = false;
        refresh(conversationId);
      }
    };
    approve.addEventListener('click', decide('approve'));
    reject.addEventListener('click', decide('reject'));
    return card;
  }

  /** The call's recorded outcome and the last thing the customer was told. */
  async function whatHappened(conversationId, tool, decision, answer) {
    const messages = answer.messages || [];
    const told = [...messages].reverse().find((m) => m.author === 'bot' || m.author === 'system');
    const toldText = told ? ` The customer was told: “${told.text}”` : '';
    if (decision === 'reject') {
      return { ok: true, text: `Rejected: ${tool} was not run.${toldText}` };
    }
    let outcome = null;
    try {
      const { events } = await call('GET', `/api/v1/conversations/${conversationId}/events`);
      const calls = events.filter((e) => e.type === 'tool_called' && e.tool === tool);
      outcome = calls.length ? calls[calls.length - 1].outcome : null;
    } catch (err) {
      outcome = null;
    }
    const result = outcome ? outcome.result : 'unknown';
    if (result === 'done') return { ok: true, text: `Approved: ${tool} ran and succeeded.${toldText}` };
    const why = outcome && outcome.error ? ` (${outcome.error})` : '';
    return { ok: false, text: `Approved, but ${tool} ${result === 'refused' ? 'was refused' : 'failed'}${why}.${toldText}` };
  }
})();
