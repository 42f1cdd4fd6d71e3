// The agent console: sign in, watch the queue, open a conversation with its
// handoff packet, take it, reply or note, hand it back or resolve it, with
// the copilot's suggestions beside it.
'use strict';

(() => {
  const { el, svg, api, LiveSocket, duration, clock, humanise, newId } = Baton;
  const SESSION_KEY = 'baton.agent.v1';
  const $ = (id) => document.getElementById(id);

  const ui = {
    login: $('login'), loginForm: $('login-form'), loginError: $('login-error'),
    app: $('app'), me: $('me'), conn: $('conn'), myStatus: $('my-status'), logout: $('logout'),
    queue: $('queue'), queueCount: $('queue-count'), queueEmpty: $('queue-empty'), mine: $('mine'),
    emptyState: $('empty-state'), conv: $('conv'), title: $('conv-title'), sub: $('conv-sub'),
    take: $('take'), transfer: $('transfer'), handback: $('handback'), resolve: $('resolve'),
    error: $('conv-error'), packet: $('packet'), transcript: $('transcript'), typing: $('typing'),
    composer: $('composer'), reply: $('reply'), send: $('send'), hint: $('composer-hint'),
    side: $('side'), customer: $('customer'), copilot: $('copilot'),
  };

  const state = {
    token: null,
    agent: null,
    agents: new Map(),
    queue: [],
    queueFetchedAt: 0,
    /** Conversations this tab opened, with their latest stage. */
    // TODO: a server list of the agent's own conversations would survive a
    // reload; the API has only the queue today, so the tab remembers them.
    mine: new Map(),
    current: null,
    /** The open conversation's highest event seq on screen. */
    lastSeq: 0,
    socket: null,
    queueTimer: null,
    typingTimer: null,
    lastTypingSent: 0,
    /** The copilot panel on screen, the suggestion the composer started
     *  from, and the suggestions dismissed in this tab. */
    assist: null,
    suggestion: null,
    dismissed: new Set(),
  };

  // Signing in and out.
  async function boot() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    } catch (err) {
      saved = null;
    }
    if (saved && saved.token) {
      try {
        const agent = await api('GET', '/api/v1/agents/me', { token: saved.token });
        return start(saved.token, agent);
      } catch (err) {
        sessionStorage.removeItem(SESSION_KEY);
      }
    }
    ui.login.hidden = false;
    $('email').focus();
  }

  ui.loginForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    ui.loginError.hidden = true;
    try {
      const result = await api('POST', '/api/v1/auth/login', {
        body: { email: $('email').value, password: $('password').value },
      });
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: result.token }));
      ui.login.hidden = true;
      start(result.token, result.agent);
    } catch (err) {
      ui.loginError.textContent = err.message;
      ui.loginError.hidden = false;
    }
  });

  ui.logout.addEventListener('click', () => {
    sessionStorage.removeItem(SESSION_KEY);
    if (state.socket) state.socket.stop();
    location.reload();
  });

  async function start(token, agent) {
    state.token = token;
    state.agent = agent;
    ui.app.hidden = false;
    ui.me.textContent = agent.name;
    if (agent.status) ui.myStatus.value = agent.status;
    await loadAgents();
    await loadQueue();
    await loadMine();
    state.socket = new LiveSocket({ query: socketQuery, onFrame, onState: connState });
    state.socket.connect();
    setInterval(tick, 1000);
    askPulse();
    openFromHash();
    window.addEventListener('hashchange', openFromHash);
  }

  /** `#c=ID` opens a conversation, so a link can point at one. */
  function openFromHash() {
    const wanted = new URLSearchParams(location.hash.slice(1)).get('c');
    if (wanted && (!state.current || state.current.id !== wanted)) openConversation(wanted);
  }

  ui.myStatus.addEventListener('change', async () => {
    try {
      await call('PUT', '/api/v1/agents/me/status', { status: ui.myStatus.value });
    } catch (err) {
      showError(err.message);
    }
  });

  function call(method, path, body) {
    return api(method, path, { token: state.token, body });
  }

  async function loadAgents() {
    try {
      const result = await call('GET', '/api/v1/agents');
      state.agents = new Map(result.agents.map((a) => [a.id, a]));
    } catch (err) {
      state.agents = new Map();
    }
    ui.transfer.replaceChildren(el('option', { value: '', text: 'Transfer to…' }));
    for (const agent of state.agents.values()) {
      if (state.agent && agent.id === state.agent.id) continue;
      ui.transfer.append(el('option', { value: agent.id, text: `${agent.name} (${agent.status})` }));
    }
  }

  function agentName(id) {
    const agent = state.agents.get(id);
    return agent ? agent.name : 'An agent';
  }

  // The socket: every event, so the queue and the open conversation stay current.
  function socketQuery() {
    const query = { token: state.token };
    if (state.current) {
      query.conversation = state.current.id;
      query.after = String(state.lastSeq);
    }
    return query;
  }

  function connState(value) {
    const text = { live: 'Live', offline: 'Offline', connecting: 'Connecting…' }[value] || 'Reconnecting…';
    ui.conn.textContent = text;
    ui.conn.className = `conn ${value}`;
  }

  function onFrame(frame) {
    if (frame.type === 'ready') {
      // After a reconnect the queue may have changed while we were away.
      scheduleQueue();
    } else if (frame.type === 'lagged') {
      scheduleQueue();
      if (state.current) openConversation(state.current.id);
    } else if (frame.type === 'event') {
      onEvent(frame.event);
    } else if (frame.type === 'assist') {
      if (state.current && frame.conversation_id === state.current.id) renderCopilot(frame.assist);
    } else if (frame.type === 'typing') {
      const notice = frame.notice;
      if (state.current && notice.conversation_id === state.current.id) {
        showTyping(notice.from === 'customer' ? 'Customer is typing' : `${notice.name} is typing`);
      }
    }
  }

  const QUEUE_CHANGES = new Set([
    'escalated', 'assigned', 'resolved', 'handed_back', 'reopened', 'message_posted', 'handoff_prepared',
  ]);

  function onEvent(event) {
    if (QUEUE_CHANGES.has(event.type)) scheduleQueue();
    if (state.mine.has(event.conversation_id)) trackMine(event);
    if (!state.current || event.conversation_id !== state.current.id) return;
    if (event.seq <= state.lastSeq) return;
    if (event.seq > state.lastSeq + 1) {
      // A gap: read the missing events from the log rather than guess.
      catchUp();
      return;
    }
    applyEvent(event);
  }

  async function catchUp() {
    const id = state.current.id;
    let result;
    try {
      result = await call('GET', `/api/v1/conversations/${id}/events?after=${state.lastSeq}`);
    } catch (err) {
      showError(`Some events could not be loaded: ${err.message}. Reopen the conversation.`);
      return;
    }
    if (!state.current || state.current.id !== id) return;
    for (const event of result.events) if (event.seq > state.lastSeq) applyEvent(event);
  }

  function applyEvent(event) {
    state.lastSeq = event.seq;
    const line = withFeedback(renderEvent(event), event);
    if (line) {
      ui.transcript.append(line);
      ui.transcript.scrollTop = ui.transcript.scrollHeight;
    }
    if (event.type === 'message_posted' && event.author === 'customer') {
      hideTyping();
      // The owner gets the fresh panel pushed on the socket.
      const mine = ownerId(state.current) === state.agent.id;
      if (state.current.stage === 'human' && !mine) loadCopilot();
    }
    const stageChange = {
      escalated: 'queued', assigned: 'human', handed_back: 'bot', resolved: 'resolved',
    }[event.type];
    if (stageChange || event.type === 'reopened' || event.type === 'handoff_prepared') refreshCurrent();
  }

  /** Re-read the open conversation's header, packet and profile. */
  async function refreshCurrent() {
    const id = state.current.id;
    try {
      const conversation = await call('GET', `/api/v1/conversations/${id}`);
      if (!state.current || state.current.id !== id) return;
      const ownerChanged = ownerId(state.current) !== ownerId(conversation);
      state.current = conversation;
      renderHeader();
      renderPacket();
      renderCustomer();
      // Taking or giving up the conversation turns the copilot's buttons on or off.
      if (ownerChanged) loadCopilot();
    } catch (err) {
      showError(err.message);
    }
  }

  function trackMine(event) {
    const stage = { assigned: 'human', handed_back: 'bot', resolved: 'resolved', escalated: 'queued' }[event.type];
    if (!stage) return;
    state.mine.get(event.conversation_id).stage = stage;
    renderMine();
  }

  // The queue.
  function scheduleQueue() {
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(() => { loadQueue(); loadMine(); }, 150);
  }

  /** The conversations this agent holds, however they came to them: an
   * `auto` queue assigns without the agent opening anything. */
  async function loadMine() {
    try {
      const result = await call('GET', '/api/v1/agents/me/conversations');
      for (const entry of result.conversations) {
        const known = state.mine.get(entry.id);
        if (known) known.stage = entry.stage;
        else state.mine.set(entry.id, { id: entry.id, stage: entry.stage, label: customerLabel(entry) });
      }
      renderMine();
      document.dispatchEvent(new CustomEvent('baton:mine', { detail: result.conversations }));
    } catch (err) {
      if (err.status === 401) location.reload();
    }
  }

  async function loadQueue() {
    try {
      const result = await call('GET', '/api/v1/queue');
      state.queue = result.conversations;
      state.queueFetchedAt = Date.now();
      renderQueue();
      document.dispatchEvent(new CustomEvent('baton:queue', { detail: state.queue }));
    } catch (err) {
      if (err.status === 401) location.reload();
    }
  }

  function renderQueue() {
    ui.queueCount.textContent = String(state.queue.length);
    ui.queueEmpty.hidden = state.queue.length > 0;
    ui.queue.replaceChildren(...state.queue.map((entry) => {
      const level = entry.priority >= 50 ? 'high' : entry.priority >= 20 ? 'mid' : '';
      const button = el('button', {
        type: 'button',
        'data-id': entry.id,
        'aria-current': state.current && state.current.id === entry.id ? 'true' : 'false',
        onclick: () => openConversation(entry.id),
      },
      el('span', {
        class: `prio ${level}`,
        text: `P${entry.effective_priority ?? entry.priority}`,
        title: 'Priority, with the points for waiting',
      }),
      el('span', { class: 'reason', text: humanise(entry.reason || entry.intent || 'waiting') }),
      el('span', { class: 'wait', 'data-wait': entry.waiting_seconds, text: duration(entry.waiting_seconds) }),
      el('span', { class: 'preview', dir: 'auto', text: entry.preview || '' }));
      const sla = slaDeadline(entry);
      if (sla) button.append(el('span', { class: 'sla', 'data-sla': sla }));
      // The queue's name, and a message left for a follow-up while nobody was in.
      if (entry.queue) button.append(el('span', { class: 'sla', text: `${entry.queue} queue` }));
      if (entry.follow_up) {
        button.append(el('span', { class: 'sla breached', text: 'Follow-up: message left' }));
      }
      return el('li', {}, button);
    }));
    tick();
  }

  /** The first-response deadline, when the server gives one. */
  function slaDeadline(entry) {
    if (entry.sla_due_at) return new Date(entry.sla_due_at).getTime();
    if (entry.sla_seconds != null && entry.stage_since) {
      return new Date(entry.stage_since).getTime() + entry.sla_seconds * 1000;
    }
    return null;
  }

  /** Waiting times and SLA countdowns move every second between fetches. */
  function tick() {
    const elapsed = (Date.now() - state.queueFetchedAt) / 1000;
    for (const wait of ui.queue.querySelectorAll('[data-wait]')) {
      wait.textContent = `waiting ${duration(Number(wait.dataset.wait) + elapsed)}`;
    }
    for (const sla of ui.queue.querySelectorAll('[data-sla]')) {
      const left = (Number(sla.dataset.sla) - Date.now()) / 1000;
      sla.classList.toggle('breached', left < 0);
      sla.textContent = left < 0 ? `SLA breached ${duration(-left)} ago` : `SLA: first reply within ${duration(left)}`;
    }
  }

  function renderMine() {
    ui.mine.replaceChildren(...[...state.mine.values()].map((item) => el('li', {},
      el('button', {
        type: 'button',
        'aria-current': state.current && state.current.id === item.id ? 'true' : 'false',
        onclick: () => openConversation(item.id),
      },
      el('span', { class: 'stage', text: item.stage }),
      el('span', { class: 'reason', dir: 'auto', text: item.label }),
      el('span', {})))));
  }

  // One conversation.
  async function openConversation(id) {
    hideError();
    let conversation;
    let events;
    try {
      conversation = await call('GET', `/api/v1/conversations/${id}`);
      events = (await call('GET', `/api/v1/conversations/${id}/events`)).events;
    } catch (err) {
      showError(err.message);
      return;
    }
    state.current = conversation;
    state.lastSeq = 0;
    state.suggestion = null;
    history.replaceState(null, '', `#c=${id}`);
    ui.emptyState.hidden = true;
    ui.conv.hidden = false;
    ui.side.hidden = false;
    ui.transcript.replaceChildren();
    for (const event of events) applyEventQuietly(event);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    state.mine.set(id, { id, stage: conversation.stage, label: customerLabel(conversation) });
    renderHeader();
    renderPacket();
    renderCustomer();
    renderQueue();
    renderMine();
    loadCopilot();
    // Resubscribe from this conversation's position, so nothing between
    // reading its log and the socket's backlog is missed.
    if (state.socket) state.socket.restart();
  }

  function applyEventQuietly(event) {
    state.lastSeq = Math.max(state.lastSeq, event.seq);
    const line = withFeedback(renderEvent(event), event);
    if (line) ui.transcript.append(line);
  }

  function customerLabel(conversation) {
    const customer = conversation.customer || {};
    return customer.name || customer.email || `Visitor ${String(conversation.id).slice(0, 8)}`;
  }

  function renderHeader() {
    const c = state.current;
    document.dispatchEvent(new CustomEvent('baton:conversation', { detail: c }));
    ui.title.replaceChildren(customerLabel(c), el('span', { class: `badge ${c.stage}`, text: c.stage }));
    const parts = [`Started ${clock(c.started_at)}`, c.channel];
    if (c.assigned_agent) parts.push(`with ${c.assigned_agent.name}`);
    if (c.escalation) parts.push(`queue ${c.escalation.queue}`);
    ui.sub.textContent = parts.join(' · ');
    const mineNow = c.assigned_agent && c.assigned_agent.id === state.agent.id;
    ui.take.hidden = c.stage === 'human' && mineNow;
    ui.take.textContent = c.stage === 'human' ? 'Take over' : 'Take';
    ui.handback.disabled = c.stage !== 'human';
    // A waiting conversation is taken before it is resolved: the stage
    // machine goes queued → human → resolved.
    ui.resolve.disabled = c.stage === 'resolved' || c.stage === 'queued';
    ui.resolve.title = c.stage === 'queued' ? 'Take the conversation first' : '';
    ui.transfer.disabled = c.stage === 'resolved';
    ui.send.disabled = false;
    const entry = state.mine.get(c.id);
    if (entry) {
      entry.stage = c.stage;
      renderMine();
    }
  }

  /** A transcript line for an event, or nothing for bookkeeping ones. */
  function renderEvent(event) {
    switch (event.type) {
      case 'message_posted': {
        const who = {
          customer: 'Customer',
          bot: 'AI assistant',
          agent: event.actor && event.actor.id ? agentName(event.actor.id) : 'Agent',
          system: '',
        }[event.author];
        const line = el('li', { class: `line ${event.author}`, 'data-seq': event.seq },
          who ? el('span', { class: 'who', text: `${who} · ${clock(event.at)}` }) : null,
          el('div', { class: 'text', dir: 'auto', text: event.text }));
        if (event.quick_replies && event.quick_replies.length) {
          line.append(el('span', { class: 'qr', text: `Offered: ${event.quick_replies.join(' · ')}` }));
        }
        return line;
      }
      case 'note_added':
        return el('li', { class: 'line note', 'data-seq': event.seq },
          el('span', { class: 'who', text: `Internal note · ${agentName(event.actor.id)} · ${clock(event.at)}` }),
          el('div', { class: 'text', dir: 'auto', text: event.text }));
      case 'escalated':
        return trace(event, `Escalated to a person: ${humanise(event.reason)} (priority ${event.priority}, ${event.queue} queue)`);
      case 'assigned':
        return trace(event, event.previous
          ? `Transferred from ${agentName(event.previous)} to ${agentName(event.agent_id)}`
          : `${agentName(event.agent_id)} took the conversation`);
      case 'handed_back':
        return trace(event, event.note ? `Handed back to the AI: ${event.note}` : 'Handed back to the AI');
      case 'resolved':
        return trace(event, 'Resolved');
      case 'reopened':
        return trace(event, 'Reopened by a new customer message');
      case 'csat_received':
        return trace(event, `Customer rated ${event.score}/5${event.comment ? `: “${event.comment}”` : ''}`);
      case 'tool_called':
        return trace(event, `${event.ok ? 'Ran' : 'Failed'}: ${event.tool}`);
      case 'decided':
        if (event.action === 'answer') return null;
        if (event.actor && event.actor.kind === 'agent') {
          return trace(event, `Copilot feedback (${humanise(event.action).toLowerCase()}): ${event.reason}`);
        }
        return trace(event, `AI decision (${humanise(event.action).toLowerCase()}): ${event.reason}`);
      default:
        return null;
    }
  }

  /** The learning loop's hook: console-feedback.js adds its buttons to a
   *  message line and renders the feedback events. */
  function withFeedback(line, event) {
    if (typeof BatonFeedback === 'undefined') return line;
    const conversationId = state.current && state.current.id;
    return BatonFeedback.decorate(line, event, { token: state.token, conversationId, agentName, clock });
  }

  function trace(event, text) {
    return el('li', { class: 'line trace', 'data-seq': event.seq },
      el('div', { class: 'text', dir: 'auto', text: `${text} · ${clock(event.at)}` }));
  }

  // The handoff packet.
  function renderPacket() {
    const packet = state.current.handoff;
    if (!packet) {
      ui.packet.hidden = true;
      return;
    }
    const escalation = state.current.escalation || {};
    const facts = el('dl', {},
      el('dt', { text: 'Reason' }),
      el('dd', {}, el('strong', { text: humanise(packet.reason || escalation.reason) }),
        evidenceText(packet.evidence || escalation.evidence)),
      packet.intents && packet.intents.length ? [
        el('dt', { text: 'Intents' }),
        el('dd', { text: packet.intents.map((i) => `${humanise(i.intent)} (${Math.round(i.confidence * 100)}%)`).join(', ') }),
      ] : null,
      packet.entities && packet.entities.length ? [
        el('dt', { text: 'Given' }),
        el('dd', {}, el('div', { class: 'chips' },
          packet.entities.map((e) => el('span', { class: 'chip', dir: 'auto', text: `${humanise(e.kind)}: ${e.value}` })))),
      ] : null,
      packet.cues && packet.cues.length ? [
        el('dt', { text: 'Cues' }),
        el('dd', { text: [...new Set(packet.cues.map((c) => humanise(c.kind)))].join(', ') }),
      ] : null);
    const left = el('div', {},
      el('p', { class: 'summary', dir: 'auto', text: packet.summary || '' }),
      facts,
      packet.key_sentences && packet.key_sentences.length
        ? el('div', {}, packet.key_sentences.map((s) => el('blockquote', { class: 'quote', dir: 'auto', text: s })))
        : null);
    const right = el('div', {}, el('strong', { text: 'Sentiment' }), sentimentChart(packet.sentiment || []));
    const children = [left, right];
    if (packet.suggested_reply) {
      children.push(el('div', { class: 'suggested' },
        el('p', {}, el('span', { class: 'label', text: 'Suggested first reply' }),
          el('span', { dir: 'auto', class: 'suggested-text', text: packet.suggested_reply })),
        el('button', {
          type: 'button', class: 'primary', id: 'use-suggested',
          onclick: () => insertReply(packet.suggested_reply),
        }, 'Use')));
    }
    ui.packet.replaceChildren(
      el('summary', {}, el('h3', { text: 'Handoff packet' })),
      el('div', { class: 'packet-body' }, children),
    );
    ui.packet.hidden = false;
  }

  function evidenceText(evidence) {
    if (!evidence || typeof evidence !== 'object') return null;
    const parts = Object.entries(evidence).map(([key, value]) => {
      const shown = Array.isArray(value) ? value.join(', ')
        : typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(2)
          : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      return `${humanise(key)}: ${shown}`;
    });
    return parts.length ? el('div', { class: 'evidence', dir: 'auto', text: parts.join(' · ') }) : null;
  }

  /** The customer's sentiment per message, from -1 to 1, as a small line. */
  function sentimentChart(points) {
    const width = 240;
    const height = 64;
    const pad = 6;
    const y = (score) => pad + ((1 - Math.max(-1, Math.min(1, score))) / 2) * (height - 2 * pad);
    const x = (i) => (points.length <= 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
    const scores = points.map((p) => p.score.toFixed(2)).join(', ');
    const chart = svg('svg', {
      class: 'spark', viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': points.length ? `Sentiment per customer message: ${scores}` : 'No sentiment yet',
    });
    chart.append(svg('line', { class: 'zero', x1: 0, x2: width, y1: y(0), y2: y(0) }));
    chart.append(svg('text', { class: 'axis-label', x: 0, y: 10, text: 'positive' }));
    chart.append(svg('text', { class: 'axis-label', x: 0, y: height - 2, text: 'negative' }));
    if (points.length > 1) {
      chart.append(svg('polyline', { class: 'line', points: points.map((p, i) => `${x(i)},${y(p.score)}`).join(' ') }));
    }
    points.forEach((p, i) => {
      chart.append(svg('circle', { class: `dot${p.score < 0 ? ' neg' : ''}`, cx: x(i), cy: y(p.score), r: 3.5 },
        svg('title', { text: `Message ${p.seq}: ${p.score.toFixed(2)}` })));
    });
    return chart;
  }

  // The customer card.
  function renderCustomer() {
    const c = state.current;
    const packet = c.handoff || {};
    const card = packet.customer || c.customer || {};
    const rows = [];
    const add = (label, value) => {
      if (value !== undefined && value !== null && value !== '') {
        rows.push(el('dt', { text: label }), el('dd', { dir: 'auto', text: String(value) }));
      }
    };
    add('Name', card.name);
    add('E-mail', card.email);
    add('Customer id', card.external_id);
    const profile = card.profile || {};
    if (profile && typeof profile === 'object') {
      for (const [key, value] of Object.entries(profile)) {
        add(humanise(key), typeof value === 'object' ? JSON.stringify(value) : value);
      }
    }
    const earlier = packet.earlier_conversations || [];
    ui.customer.replaceChildren(
      rows.length ? el('dl', {}, rows) : el('p', { class: 'unavailable', text: 'An anonymous visitor: no profile yet.' }),
      earlier.length
        ? el('div', {}, el('strong', { text: 'Earlier conversations' }),
          el('ol', { class: 'history' }, earlier.map((e) => el('li', {
            text: `${new Date(e.started_at).toLocaleDateString()} · ${humanise(e.intent || 'unknown')} · ${e.stage}${e.reason ? ` · ${humanise(e.reason)}` : ''}`,
          }))))
        : el('p', { class: 'hint', text: 'No earlier conversations.' }),
    );
  }

  // The copilot.
  async function loadCopilot() {
    const id = state.current.id;
    ui.copilot.replaceChildren(el('p', { class: 'hint', text: 'Loading suggestions…' }));
    let assist;
    try {
      assist = await call('GET', `/api/v1/conversations/${id}/assist`);
    } catch (err) {
      if (!state.current || state.current.id !== id) return;
      const text = `Copilot suggestions could not be loaded: ${err.message}`;
      ui.copilot.replaceChildren(el('p', { class: 'unavailable', id: 'copilot-unavailable', text }));
      return;
    }
    if (!state.current || state.current.id !== id) return;
    renderCopilot(assist || {});
  }

  /** The id of the agent who owns a conversation, if one does. */
  function ownerId(conversation) {
    return conversation && conversation.assigned_agent ? conversation.assigned_agent.id : null;
  }

  const COPILOT_SECTIONS = [
    ['replies', 'Suggested replies'],
    ['actions', 'Next-best actions'],
    ['empathy', 'Empathy prompts'],
    ['knowledge', 'Knowledge'],
  ];

  /** The panel: one section per list, each suggestion with its "why", its
   *  own button (use or run), dismiss, and helpful / not helpful. */
  function renderCopilot(assist) {
    state.assist = assist;
    const sections = [];
    for (const [key, heading] of COPILOT_SECTIONS) {
      const items = (assist[key] || []).filter((s) => !state.dismissed.has(s.id));
      if (items.length === 0) continue;
      sections.push(el('h4', { text: heading }));
      for (const item of items) sections.push(suggestionCard(item));
    }
    ui.copilot.replaceChildren(...(sections.length ? sections
      : [el('p', { class: 'hint', text: 'No suggestions for this conversation right now.' })]));
  }

  function suggestionCard(item) {
    const card = el('div', { class: `suggestion ${item.kind}`, 'data-id': item.id, 'data-kind': item.kind });
    const owner = ownerId(state.current) === state.agent.id;
    const main = [];
    if (item.kind === 'action') {
      main.push(el('p', { class: 'tool' }, el('strong', { text: item.tool }),
        item.title ? ` · ${item.title}` : ''));
      const params = Object.entries(item.parameters || {});
      if (params.length) {
        main.push(el('p', { class: 'params', text: params.map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') }));
      }
      if (item.blocked) main.push(el('p', { class: 'blocked', text: `Cannot run yet: ${item.blocked}` }));
    } else {
      if (item.title) main.push(el('strong', { dir: 'auto', text: item.title }));
      if (item.text) main.push(el('p', { dir: 'auto', class: 'text', text: item.text }));
      if (item.citation && item.kind !== 'article') {
        main.push(el('span', { class: 'cite', text: `Source: ${item.citation.title}${item.citation.section ? ` › ${item.citation.section}` : ''}` }));
      }
    }
    const buttons = [];
    if (item.text && /_reply$/.test(item.kind)) {
      buttons.push(el('button', { type: 'button', class: 'primary use', disabled: !owner,
        title: owner ? 'Put it in the reply box to edit and send' : 'Take the conversation first',
        onclick: () => insertReply(item.text, item) }, 'Use'));
    }
    if (item.kind === 'action') {
      buttons.push(el('button', { type: 'button', class: 'primary run', disabled: !owner || Boolean(item.blocked),
        onclick: () => runAction(card, item) }, 'Run'));
    }
    buttons.push(
      el('button', { type: 'button', class: 'rate', 'aria-label': 'Helpful', title: 'Helpful',
        onclick: (e) => rateSuggestion(e.currentTarget, item, true) }, 'Helpful'),
      el('button', { type: 'button', class: 'rate', 'aria-label': 'Not helpful', title: 'Not helpful',
        onclick: (e) => rateSuggestion(e.currentTarget, item, false) }, 'Not helpful'),
      el('button', { type: 'button', class: 'dismiss', onclick: () => dismissSuggestion(card, item) }, 'Dismiss'));
    card.append(
      el('span', { class: 'kind', text: humanise(item.kind) }),
      ...main,
      el('span', { class: 'why', dir: 'auto', text: `Why: ${item.why}` }),
      el('div', { class: 'suggestion-buttons' }, buttons));
    return card;
  }

  /** A next-best action: a guardrail is shown and confirmed before the
   *  call runs; the agent's click stands in for the yes or the approval. */
  function runAction(card, item) {
    const guard = item.guardrail;
    if (guard && !card.querySelector('.guard')) {
      const lines = [];
      if (guard.confirmation) lines.push(el('p', { dir: 'auto', text: `Needs the customer's yes: ${guard.confirmation}` }));
      if (guard.approval) lines.push(el('p', { dir: 'auto', text: `Needs approval: ${guard.approval}` }));
      card.append(el('div', { class: 'guard', role: 'alert' }, lines,
        el('button', { type: 'button', class: 'primary confirm-run', onclick: () => executeAction(card, item) },
          guard.approval ? 'I approve: run it' : 'The customer agreed: run it')));
      return;
    }
    executeAction(card, item);
  }

  async function executeAction(card, item) {
    hideError();
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    let result;
    try {
      result = await call('POST', `/api/v1/conversations/${state.current.id}/actions/${encodeURIComponent(item.tool)}`,
        { parameters: item.parameters || {}, suggestion_id: item.id });
    } catch (err) {
      showError(err.message);
      for (const b of card.querySelectorAll('button')) b.disabled = false;
      return;
    }
    const outcome = result.outcome || {};
    const text = result.ok ? `Done: ${JSON.stringify(outcome.body ?? outcome).slice(0, 300)}`
      : `Failed: ${outcome.error || outcome.result || 'no answer'}`;
    card.querySelector('.guard')?.remove();
    card.append(el('p', { class: result.ok ? 'result ok' : 'result failed', text }));
  }

  async function dismissSuggestion(card, item) {
    hideError();
    try {
      await call('POST', `/api/v1/conversations/${state.current.id}/assist/${encodeURIComponent(item.id)}/dismiss`);
    } catch (err) {
      showError(err.message);
      return;
    }
    state.dismissed.add(item.id);
    card.remove();
    if (state.assist) renderCopilot(state.assist);
  }

  async function rateSuggestion(button, item, helpful) {
    hideError();
    try {
      await call('POST', `/api/v1/conversations/${state.current.id}/assist/${encodeURIComponent(item.id)}/rating`, { helpful });
    } catch (err) {
      showError(err.message);
      return;
    }
    for (const b of button.parentNode.querySelectorAll('.rate')) b.disabled = true;
    button.classList.add('chosen');
  }

  /** Put a text in the composer. With a suggestion, the reply that goes
   *  out carries its id, and the server records it as used or edited. */
  function insertReply(text, suggestion) {
    setMode('reply');
    ui.reply.value = text;
    ui.reply.focus();
    ui.reply.setSelectionRange(text.length, text.length);
    let chosen = suggestion;
    if (!chosen && state.assist) {
      chosen = (state.assist.replies || []).find((s) => s.kind === 'first_reply' && s.text === text);
    }
    state.suggestion = chosen ? { id: chosen.id } : null;
  }

  // The weekly copilot question, once per ISO week.
  async function askPulse() {
    let pulse;
    try {
      pulse = await call('GET', '/api/v1/agents/me/pulse');
    } catch {
      return;
    }
    if (pulse.answered) return;
    const box = el('div', { class: 'pulse', id: 'pulse', role: 'group', 'aria-label': 'Copilot question' });
    const buttons = [1, 2, 3, 4, 5].map((n) => el('button', {
      type: 'button', 'aria-label': `${n} out of 5`,
      onclick: async () => {
        try {
          await call('POST', '/api/v1/agents/me/pulse', { score: n });
          box.replaceChildren(el('span', { text: 'Thanks, noted for this week.' }));
          setTimeout(() => box.remove(), 3000);
        } catch (err) {
          box.replaceChildren(el('span', { text: `Not saved: ${err.message}` }));
        }
      },
    }, String(n)));
    box.append(el('span', { text: `${pulse.question} (1 = not at all, 5 = a lot)` }), ...buttons,
      el('button', { type: 'button', class: 'later', onclick: () => box.remove() }, 'Later'));
    ui.app.querySelector('.topbar').after(box);
  }

  // Actions.
  async function act(button, path, body) {
    hideError();
    button.disabled = true;
    try {
      const owner = ownerId(state.current);
      state.current = await call('POST', path, body);
      renderHeader();
      renderPacket();
      if (ownerId(state.current) !== owner) loadCopilot();
      scheduleQueue();
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
      if (state.current) renderHeader();
    }
  }

  ui.take.addEventListener('click', () => act(ui.take, `/api/v1/conversations/${state.current.id}/assign`));
  ui.handback.addEventListener('click', () => act(ui.handback, `/api/v1/conversations/${state.current.id}/handback`));
  ui.resolve.addEventListener('click', () => act(ui.resolve, `/api/v1/conversations/${state.current.id}/resolve`));
  ui.transfer.addEventListener('change', () => {
    const target = ui.transfer.value;
    ui.transfer.value = '';
    if (target) act(ui.transfer, `/api/v1/conversations/${state.current.id}/assign`, { agent_id: target });
  });

  function mode() {
    return ui.composer.querySelector('input[name="mode"]:checked').value;
  }

  function setMode(value) {
    ui.composer.querySelector(`input[name="mode"][value="${value}"]`).checked = true;
    modeChanged();
  }

  function modeChanged() {
    const note = mode() === 'note';
    ui.composer.classList.toggle('note', note);
    ui.send.textContent = note ? 'Add note' : 'Send reply';
    ui.reply.placeholder = note ? 'Write a note for the team… (Ctrl+Enter to add)' : 'Write a reply… (Ctrl+Enter to send)';
  }

  for (const radio of ui.composer.querySelectorAll('input[name="mode"]')) radio.addEventListener('change', modeChanged);

  ui.composer.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = ui.reply.value.trim();
    if (!text || !state.current) return;
    hideError();
    ui.send.disabled = true;
    const id = state.current.id;
    try {
      if (mode() === 'note') {
        await call('POST', `/api/v1/conversations/${id}/notes`, { text });
      } else {
        const body = { text, client_id: newId() };
        if (state.suggestion) body.suggestion_id = state.suggestion.id;
        await call('POST', `/api/v1/conversations/${id}/messages`, body);
        state.suggestion = null;
      }
      ui.reply.value = '';
    } catch (err) {
      showError(err.message);
    } finally {
      ui.send.disabled = false;
    }
  });

  ui.reply.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });

  ui.reply.addEventListener('input', () => {
    if (!ui.reply.value.trim()) state.suggestion = null;
    const now = Date.now();
    if (mode() !== 'reply' || !state.current || now - state.lastTypingSent < 3000) return;
    state.lastTypingSent = now;
    call('POST', `/api/v1/conversations/${state.current.id}/typing`).catch(() => {});
  });

  function showTyping(text) {
    ui.typing.textContent = `${text}…`;
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 5000);
  }

  function hideTyping() {
    ui.typing.hidden = true;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function hideError() {
    ui.error.hidden = true;
  }

  boot();
})();
