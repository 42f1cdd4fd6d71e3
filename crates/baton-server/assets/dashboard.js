// The supervisor dashboard: live queue figures from the queue and agents,
// and the period's figures from the report API, drawn as tiles and charts.
'use strict';

(() => {
  const { el, svg, api, LiveSocket, duration, humanise } = Baton;
  const SESSION_KEY = 'baton.agent.v1';
  const $ = (id) => document.getElementById(id);
  const state = { token: null, refreshTimer: null };

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
    $('login').hidden = false;
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const result = await api('POST', '/api/v1/auth/login', {
        body: { email: $('email').value, password: $('password').value },
      });
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: result.token }));
      $('login').hidden = true;
      start(result.token, result.agent);
    } catch (err) {
      $('login-error').textContent = err.message;
      $('login-error').hidden = false;
    }
  });

  function start(token, agent) {
    state.token = token;
    $('app').hidden = false;
    $('me').textContent = agent.name;
    const today = new Date();
    const weekAgo = new Date(today.getTime() - 6 * 86400000);
    $('from').value = weekAgo.toISOString().slice(0, 10);
    $('to').value = today.toISOString().slice(0, 10);
    $('from').addEventListener('change', loadReport);
    $('to').addEventListener('change', loadReport);
    loadLive();
    loadReport();
    const socket = new LiveSocket({
      query: () => ({ token }),
      onFrame: (frame) => {
        if (frame.type === 'event' || frame.type === 'ready' || frame.type === 'lagged') scheduleLive();
      },
      onState: (value) => {
        $('conn').textContent = value === 'live' ? 'Live' : value === 'offline' ? 'Offline' : 'Reconnecting…';
        $('conn').className = `conn ${value}`;
      },
    });
    socket.connect();
    // Waiting times grow without events; refresh them now and then.
    setInterval(loadLive, 15000);
  }

  function call(path) {
    return api('GET', path, { token: state.token });
  }

  function scheduleLive() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(loadLive, 300);
  }

  function tile(name, value, detail, id) {
    return el('div', { class: 'tile live', id },
      el('div', { class: 'name', text: name }),
      el('div', { class: 'value', text: value }),
      detail ? el('div', { class: 'detail', text: detail }) : null);
  }

  async function loadLive() {
    try {
      const [queue, agents] = await Promise.all([call('/api/v1/queue'), call('/api/v1/agents')]);
      const waiting = queue.conversations;
      const longest = waiting.reduce((max, c) => Math.max(max, c.waiting_seconds), 0);
      const online = agents.agents.filter((a) => a.status === 'online').length;
      $('live').replaceChildren(
        tile('Waiting in queue', String(waiting.length), 'conversations for a person', 'live-queue'),
        tile('Longest wait', waiting.length ? duration(longest) : '—', 'since escalation', 'live-wait'),
        tile('Agents online', String(online), `of ${agents.agents.length} on the team`, 'live-agents'),
      );
      renderWaiting(waiting);
    } catch (err) {
      $('live').replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  }

  /** Who is waiting right now: by reason, and the longest waits first. */
  function renderWaiting(waiting) {
    const byReason = {};
    for (const entry of waiting) {
      const reason = entry.reason || 'unknown';
      byReason[reason] = (byReason[reason] || 0) + 1;
    }
    const longest = [...waiting].sort((a, b) => b.waiting_seconds - a.waiting_seconds).slice(0, 8);
    const table = el('table', { class: 'figures', id: 'waiting-table' },
      el('thead', {}, el('tr', {},
        el('th', { text: 'Reason' }), el('th', { text: 'Queue' }),
        el('th', { text: 'Priority' }), el('th', { text: 'Waiting' }))),
      el('tbody', {}, longest.map((entry) => el('tr', {},
        el('td', { text: humanise(entry.reason || 'unknown') }),
        el('td', { text: entry.queue || '' }),
        el('td', { class: 'num', text: String(entry.priority) }),
        el('td', { class: 'num', text: duration(entry.waiting_seconds) })))));
    $('live-detail').replaceChildren(
      waiting.length
        ? distributionCard('Waiting now, by reason', byReason)
        : card('Waiting now, by reason', el('p', { class: 'hint', text: 'Nobody is waiting.' })),
      card('Longest waits', waiting.length ? table : el('p', { class: 'hint', text: 'Nobody is waiting.' })),
    );
  }

  function period() {
    const from = $('from').value;
    const to = $('to').value;
    const params = new URLSearchParams();
    if (from) params.set('from', `${from}T00:00:00Z`);
    if (to) params.set('to', `${to}T23:59:59Z`);
    return params;
  }

  async function loadReport() {
    const target = $('report');
    const params = period();
    let summary;
    try {
      summary = await call(`/api/v1/reports/summary?${params}`);
    } catch (err) {
      const text = err.status === 404
        ? 'Reports are not available on this server yet: the report API (/api/v1/reports/summary) did not answer. Live figures above are current.'
        : `The report could not be loaded: ${err.message}`;
      target.replaceChildren(el('p', { class: 'unavailable', id: 'report-unavailable', text }));
      return;
    }
    params.set('bucket', 'hour');
    let series = null;
    try {
      series = await call(`/api/v1/reports/timeseries?${params}`);
    } catch (err) {
      series = null;
    }
    target.replaceChildren(
      el('div', { class: 'tiles', id: 'report-tiles' }, figureTiles(summary)),
      el('div', { class: 'charts' },
        series ? card('Volume by hour', volumeChart(series)) : null,
        distributionCard('Escalations by reason', summary.escalations_by_reason || (summary.escalation || {}).by_reason),
        distributionCard('CSAT distribution', (summary.csat || {}).distribution || summary.csat_distribution)),
    );
  }

  // TODO: the report API is still being written; until its shape is fixed
  // the tiles follow whatever numeric figures it returns, and the charts
  // read the few field names below.
  /** One tile per figure the summary holds; nested objects show their
   *  headline numbers, so new figures appear without a page change. */
  function figureTiles(summary) {
    const tiles = [];
    const visit = (prefix, value) => {
      if (typeof value === 'number') {
        tiles.push(el('div', { class: 'tile', 'data-figure': prefix },
          el('div', { class: 'name', text: humanise(prefix.replace(/\./g, ' ')) }),
          el('div', { class: 'value', text: format(prefix, value) })));
      } else if (value && typeof value === 'object' && !Array.isArray(value) && prefix.split('.').length < 2) {
        for (const [key, inner] of Object.entries(value)) {
          if (!/by_|distribution/.test(key)) visit(prefix ? `${prefix}.${key}` : key, inner);
        }
      }
    };
    visit('', summary);
    return tiles.length ? tiles : [el('p', { class: 'unavailable', text: 'No figures for this period.' })];
  }

  function format(name, value) {
    if (/rate|share|containment/.test(name) && value <= 1) return `${(value * 100).toFixed(1)}%`;
    if (/seconds|_secs|time/.test(name)) return duration(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }

  function card(title, body) {
    return el('section', { class: 'card chart' }, el('h3', { text: title }), body);
  }

  /** Bars per bucket, split by who resolved: the AI or a person. */
  function volumeChart(series) {
    const buckets = series.buckets || series.points || series.series || [];
    if (!buckets.length) return el('p', { class: 'hint', text: 'No conversations in this period.' });
    const width = 480;
    const height = 180;
    const base = height - 22;
    const ai = (b) => b.ai ?? b.contained ?? b.bot ?? 0;
    const human = (b) => b.human ?? b.escalated ?? 0;
    const max = Math.max(1, ...buckets.map((b) => ai(b) + human(b)));
    const step = (width - 30) / buckets.length;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Conversations per hour, AI and human' });
    chart.append(svg('line', { class: 'axis', x1: 28, x2: width, y1: base, y2: base }));
    chart.append(svg('text', { class: 'label', x: 0, y: 12, text: String(max) }));
    buckets.forEach((b, i) => {
      const x = 30 + i * step;
      const hAi = (ai(b) / max) * (base - 10);
      const hHuman = (human(b) / max) * (base - 10);
      const w = Math.max(2, step - 3);
      chart.append(svg('rect', { class: 'bar-ai', x, y: base - hAi, width: w, height: hAi },
        svg('title', { text: `${b.start || b.at || ''}: ${ai(b)} by the AI` })));
      chart.append(svg('rect', { class: 'bar-human', x, y: base - hAi - hHuman, width: w, height: hHuman },
        svg('title', { text: `${b.start || b.at || ''}: ${human(b)} with a person` })));
    });
    return el('div', {}, chart, el('div', { class: 'legend' },
      el('span', {}, el('span', { class: 'swatch ai' }), 'AI'),
      el('span', {}, el('span', { class: 'swatch human' }), 'Human')));
  }

  function distributionCard(title, counts) {
    if (!counts || typeof counts !== 'object') return null;
    const entries = Array.isArray(counts)
      ? counts.map((c, i) => [c.reason || c.score || String(i + 1), c.count ?? c.value ?? 0])
      : Object.entries(counts);
    if (!entries.length) return null;
    const width = 480;
    const row = 24;
    const max = Math.max(1, ...entries.map(([, n]) => Number(n) || 0));
    const chart = svg('svg', { viewBox: `0 0 ${width} ${entries.length * row + 4}`, role: 'img', 'aria-label': title });
    entries.forEach(([label, n], i) => {
      const y = i * row + 4;
      const w = ((Number(n) || 0) / max) * (width - 230);
      chart.append(svg('text', { class: 'label', x: 0, y: y + 14, text: humanise(label) }));
      chart.append(svg('rect', { class: 'bar', x: 180, y, width: w, height: row - 8, rx: 3 }));
      chart.append(svg('text', { class: 'label', x: 186 + w, y: y + 14, text: String(n) }));
    });
    return card(title, chart);
  }

  boot();
})();
