// The customer's chat: start or resume a conversation, send messages, and
// show what the AI, the agent and Baton say, live over the socket.
'use strict';

(() => {
  const { el, api, LiveSocket, clock, newId } = Baton;
  const STORE_KEY = 'baton.chat.v1';
  const embedded = new URLSearchParams(location.search).has('embed');

  const ui = {
    messages: document.getElementById('messages'),
    form: document.getElementById('composer'),
    text: document.getElementById('text'),
    send: document.getElementById('send'),
    status: document.getElementById('chat-status'),
    title: document.getElementById('chat-title'),
    avatar: document.getElementById('avatar'),
    banner: document.getElementById('banner'),
    typing: document.getElementById('typing'),
    close: document.getElementById('close'),
  };

  const state = {
    id: null,
    token: null,
    stage: 'bot',
    /** The highest sequence number seen; a reconnect asks for what follows. */
    lastSeq: 0,
    /** Message seqs already on screen, so a replay never shows one twice. */
    shown: new Set(),
    /** Bubbles of messages sent but not yet confirmed, by client id. */
    pending: new Map(),
    agentName: null,
    rated: false,
    socket: null,
    typingTimer: null,
    lastTypingSent: 0,
  };

  // Start-up: resume the conversation of this tab, or begin a new one.
  async function boot() {
    if (embedded) {
      document.documentElement.classList.add('embed');
      ui.close.hidden = false;
      ui.close.addEventListener('click', () => parent.postMessage({ baton: 'close' }, '*'));
    }
    try {
      if (!(await resume())) await begin();
    } catch (err) {
      setStatus('offline', 'Chat is unavailable right now');
      showBanner(err.message, 'Try again', () => location.reload());
      return;
    }
    state.socket = new LiveSocket({
      query: () => ({ token: state.token, after: String(state.lastSeq) }),
      onFrame,
      onState: socketState,
    });
    state.socket.connect();
    ui.text.focus();
  }

  async function resume() {
    let saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    } catch (err) {
      saved = null;
    }
    if (!saved || !saved.id || !saved.token) return false;
    try {
      const conversation = await api('GET', `/api/v1/conversations/${saved.id}`, {
        token: saved.token,
      });
      Object.assign(state, { id: saved.id, token: saved.token });
      applyConversation(conversation);
      return true;
    } catch (err) {
      if ([401, 403, 404].includes(err.status)) {
        sessionStorage.removeItem(STORE_KEY);
        return false;
      }
      throw err;
    }
  }

  async function begin() {
    const created = await api('POST', '/api/v1/conversations', { body: { channel: 'web' } });
    state.id = created.id;
    state.token = created.customer_token;
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ id: state.id, token: state.token }));
    applyConversation(created);
  }

  function applyConversation(conversation) {
    for (const message of conversation.messages || []) showMessage(message);
    if (conversation.last_seq) state.lastSeq = Math.max(state.lastSeq, conversation.last_seq);
    if (conversation.assigned_agent) state.agentName = conversation.assigned_agent.name;
    setStage(conversation.stage);
    if (conversation.awaits_csat === false) state.rated = true;
    refreshQuickReplies();
  }

  // The socket.
  function onFrame(frame) {
    if (frame.type === 'ready') {
      state.lastSeq = Math.max(state.lastSeq, frame.last_seq || 0);
    } else if (frame.type === 'event') {
      onEvent(frame.event);
    } else if (frame.type === 'typing') {
      showTyping(`${frame.notice.name || 'Support'} is typing`);
    }
  }

  function onEvent(event) {
    state.lastSeq = Math.max(state.lastSeq, event.seq);
    switch (event.type) {
      case 'message_posted':
        if (event.author !== 'customer') hideTyping();
        showMessage({ ...event, agent_name: event.author === 'agent' ? state.agentName : null });
        refreshQuickReplies();
        if (event.author !== 'customer') parent.postMessage({ baton: 'message' }, '*');
        break;
      case 'assigned':
        setStage('human');
        refreshAgent();
        break;
      case 'handed_back':
        state.agentName = null;
        setStage('bot');
        break;
      case 'resolved':
        setStage('resolved');
        break;
      case 'reopened':
        setStage(event.agent_id ? 'human' : 'bot');
        break;
      case 'csat_requested':
        state.rated = false;
        break;
      case 'csat_received':
        state.rated = true;
        refreshQuickReplies();
        break;
      default:
        break;
    }
  }

  function socketState(value) {
    if (value === 'live') setStatus('live', stageText());
    else if (value === 'offline') {
      setStatus('offline', 'Disconnected');
      showBanner('The connection was lost.', 'Reconnect', () => {
        hideBanner();
        state.socket.attempts = 0;
        state.socket.connect();
      });
    } else setStatus('', value === 'connecting' ? 'Connecting…' : 'Reconnecting…');
  }

  async function refreshAgent() {
    try {
      const conversation = await api('GET', `/api/v1/conversations/${state.id}`, {
        token: state.token,
      });
      if (conversation.assigned_agent) state.agentName = conversation.assigned_agent.name;
      setStage(conversation.stage);
    } catch (err) {
      // The header keeps its last name; the join notice in the transcript
      // already says who joined.
    }
  }

  // Rendering.
  function showMessage(message) {
    if (message.seq && state.shown.has(message.seq)) return;
    const pending = message.client_id && state.pending.get(message.client_id);
    if (message.seq) state.shown.add(message.seq);
    const node = renderMessage(message);
    if (pending) {
      pending.replaceWith(node);
      state.pending.delete(message.client_id);
    } else {
      insertInOrder(node, message.seq);
    }
    scrollDown();
  }

  /** Keep the transcript in sequence order even if a replay arrives late. */
  function insertInOrder(node, seq) {
    if (seq) {
      for (const other of ui.messages.children) {
        const otherSeq = Number(other.dataset.seq || 0);
        if (otherSeq > seq) {
          ui.messages.insertBefore(node, other);
          return;
        }
      }
    }
    ui.messages.append(node);
  }

  function renderMessage(message) {
    const author = message.author;
    const joined = author === 'system' && /joined/i.test(message.text);
    const item = el('li', {
      class: `msg ${author}${joined ? ' joined' : ''}`,
      'data-seq': message.seq || '',
    });
    const who = {
      customer: 'You',
      bot: 'Assistant',
      agent: message.agent_name || state.agentName || 'Support',
      system: '',
    }[author];
    if (who) item.append(el('span', { class: 'visually-hidden', text: `${who}:` }));
    item.append(el('div', { class: 'bubble', dir: 'auto', text: message.text }));
    // Answers often name their source already; list only what they do not.
    const cites = (message.citations || [])
      .map((c) => c.title || c.article_id || '')
      .filter((title) => title && !message.text.includes(title));
    if (cites.length) {
      item.append(
        el('p', { class: 'cites' }, 'Sources: ',
          cites.map((title) => el('span', { dir: 'auto', text: title }))),
      );
    }
    if (message.quick_replies && message.quick_replies.length) {
      item.append(renderQuickReplies(message.quick_replies));
      item.classList.add('has-quick');
    }
    if (author !== 'system' && message.at) {
      item.append(el('span', { class: 'meta', text: `${who} · ${clock(message.at)}` }));
    }
    return item;
  }

  function renderQuickReplies(labels) {
    const rating = labels.length === 5 && labels.every((l, i) => l === String(i + 1));
    const group = el('div', {
      class: `quick${rating ? ' rating' : ''}`,
      role: 'group',
      'aria-label': rating ? 'Rate this conversation from 1 to 5' : 'Suggested answers',
    });
    for (const label of labels) {
      group.append(
        el('button', {
          type: 'button',
          text: label,
          dir: 'auto',
          'aria-label': rating ? `${label} out of 5` : null,
          onclick: () => sendText(label),
        }),
      );
    }
    return group;
  }

  /** Only the newest message's buttons can be pressed, and a rating only
   *  until it is given. */
  function refreshQuickReplies() {
    const items = [...ui.messages.children];
    const last = items[items.length - 1];
    for (const item of items) {
      const group = item.querySelector('.quick');
      if (!group) continue;
      const open = item === last && !(group.classList.contains('rating') && state.rated);
      for (const button of group.querySelectorAll('button')) button.disabled = !open;
    }
  }

  function setStage(stage) {
    state.stage = stage || state.stage;
    const person = state.stage === 'human' && state.agentName;
    ui.title.textContent = person ? state.agentName : 'Support';
    ui.avatar.textContent = person ? initials(state.agentName) : 'AI';
    ui.avatar.classList.toggle('person', Boolean(person));
    if (ui.status.classList.contains('live')) ui.status.textContent = stageText();
    if (state.stage === 'queued') showQueuePosition();
    else if (state.stage === 'human' && state.agentName) {
      showBanner(`${state.agentName} from our team has joined the chat.`, null, null, 'joined');
    } else if (state.stage === 'resolved') {
      showBanner('This conversation is resolved. Write again if you need anything else.',
        null, null, 'resolved');
    } else hideBanner();
  }

  function stageText() {
    switch (state.stage) {
      case 'queued': return 'Waiting for a person';
      case 'human': return state.agentName ? `${state.agentName} is here to help` : 'With our team';
      case 'resolved': return 'Resolved';
      default: return 'AI assistant · replies instantly';
    }
  }

  async function showQueuePosition() {
    try {
      const place = await api('GET', `/api/v1/conversations/${state.id}/position`, {
        token: state.token,
      });
      if (state.stage !== 'queued') return;
      const where = place.position
        ? `You are number ${place.position} in the queue.`
        : 'You are in the queue.';
      showBanner(`${where} A person will join shortly; you can keep writing.`, null, null, 'queued');
    } catch (err) {
      showBanner('You are in the queue. A person will join shortly.', null, null, 'queued');
    }
  }

  function showBanner(text, action, onAction, kind) {
    ui.banner.replaceChildren(el('span', { text }));
    ui.banner.className = `banner ${kind || ''}`;
    if (action) ui.banner.append(el('button', { type: 'button', text: action, onclick: onAction }));
    ui.banner.hidden = false;
  }

  function hideBanner() {
    ui.banner.hidden = true;
  }

  function setStatus(kind, text) {
    ui.status.className = `status ${kind}`;
    ui.status.textContent = text;
  }

  function showTyping(text) {
    ui.typing.textContent = text;
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 5000);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = true;
  }

  function scrollDown() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function initials(name) {
    return String(name).split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
  }

  // Sending.
  async function sendText(text, clientId, bubble) {
    const trimmed = text.trim();
    if (!trimmed || !state.id) return;
    const id = clientId || newId();
    const node = bubble || renderMessage({ author: 'customer', text: trimmed });
    node.classList.add('pending');
    node.classList.remove('failed');
    node.querySelector('.retry')?.remove();
    if (!bubble) ui.messages.append(node);
    state.pending.set(id, node);
    refreshQuickReplies();
    scrollDown();
    if (state.stage === 'bot') showTyping('Assistant is typing');
    try {
      // The same client id on a retry makes the server return the first
      // result instead of posting twice.
      const result = await api('POST', `/api/v1/conversations/${state.id}/messages`, {
        token: state.token,
        body: { text: trimmed, client_id: id },
      });
      showMessage({ ...result.message, client_id: id });
      for (const reply of result.replies || []) showMessage(reply);
      hideTyping();
      setStage(result.stage);
      refreshQuickReplies();
    } catch (err) {
      hideTyping();
      node.classList.remove('pending');
      node.classList.add('failed');
      node.append(el('button', {
        type: 'button',
        class: 'retry',
        text: `Not sent (${err.message}). Retry`,
        onclick: () => sendText(trimmed, id, node),
      }));
    }
  }

  function sendTyping() {
    const now = Date.now();
    if (now - state.lastTypingSent < 3000 || !state.id) return;
    if (state.stage !== 'human' && state.stage !== 'queued') return;
    state.lastTypingSent = now;
    api('POST', `/api/v1/conversations/${state.id}/typing`, { token: state.token }).catch(() => {});
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.text.value;
    ui.text.value = '';
    autosize();
    sendText(text);
  });
  ui.text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });
  ui.text.addEventListener('input', () => {
    autosize();
    sendTyping();
  });

  function autosize() {
    ui.text.style.height = 'auto';
    ui.text.style.height = `${Math.min(ui.text.scrollHeight, 140)}px`;
  }

  // A handle for the browser tests and for the embedding page's debugging:
  // it can only act on this tab's own conversation.
  window.__batonWidget = {
    dropSocket: () => state.socket && state.socket.drop(),
    holdSocket: () => state.socket && state.socket.hold(),
    releaseSocket: () => state.socket && state.socket.release(),
    get conversationId() { return state.id; },
    get lastSeq() { return state.lastSeq; },
  };

  boot();
})();
