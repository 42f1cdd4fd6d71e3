// The supervisor dashboard: live queue figures from the queue and agents,
// and the period's figures from the report API (summary, intents, hourly
// series, journey audit), drawn as tiles, tables and charts of our own.
// Every figure carries the exact number the API gave in `data-value`, and
// is shown from that number alone, so the page and `baton report` agree.
'use strict';

(() => {
  const { el, svg, api, LiveSocket, duration, humanise } = Baton;
  const SESSION_KEY = 'baton.agent.v1';
  const DAY_MS = 86400000;
  const $ = (id) => document.getElementById(id);
  const state = { token: null, refreshTimer: null, loading: 0 };

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
    choosePreset('7');
    $('preset').addEventListener('change', () => {
      if ($('preset').value !== 'custom') choosePreset($('preset').value);
      loadReport();
    });
    for (const id of ['from', 'to']) {
      $(id).addEventListener('change', () => {
        $('preset').value = 'custom';
        loadReport();
      });
    }
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

  // ---- live ----

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
        ? barsCard('Waiting now, by reason', Object.entries(byReason), 'waiting-chart')
        : card('Waiting now, by reason', el('p', { class: 'hint', text: 'Nobody is waiting.' })),
      card('Longest waits', waiting.length ? table : el('p', { class: 'hint', text: 'Nobody is waiting.' })),
    );
  }

  // ---- the period ----

  /** A date as YYYY-MM-DD in UTC, the calendar the reports bucket by. */
  function day(date) {
    return date.toISOString().slice(0, 10);
  }

  /** Presets count whole UTC days, today included; "all" leaves both open. */
  function choosePreset(value) {
    $('preset').value = value;
    if (value === 'all') {
      $('from').value = '';
      $('to').value = '';
      return;
    }
    const today = new Date();
    const days = Number(value) || 7;
    $('from').value = day(new Date(today.getTime() - (days - 1) * DAY_MS));
    $('to').value = day(today);
  }

  /** The report query: `from` the first day, `to` the day after the last
   *  (the API's `to` is excluded), so the last day counts whole. */
  function period() {
    const params = new URLSearchParams();
    const from = $('from').value;
    const to = $('to').value;
    if (from) params.set('from', from);
    if (to) params.set('to', day(new Date(Date.parse(`${to}T00:00:00Z`) + DAY_MS)));
    return params;
  }

  async function loadReport() {
    const target = $('report');
    const params = period();
    const loading = ++state.loading;
    target.setAttribute('aria-busy', 'true');
    let summary;
    let intents;
    let series;
    let audit;
    try {
      const hourly = new URLSearchParams(params);
      hourly.set('bucket', 'hour');
      [summary, intents, series, audit] = await Promise.all([
        call(`/api/v1/reports/summary?${params}`),
        call(`/api/v1/reports/intents?${params}`),
        call(`/api/v1/reports/timeseries?${hourly}`),
        call(`/api/v1/reports/audit?${params}`),
      ]);
    } catch (err) {
      if (loading !== state.loading) return;
      const text = err.status === 404
        ? 'Reports are not available on this server: the report API (/api/v1/reports/summary) did not answer. Live figures above are current.'
        : `The report could not be loaded: ${err.message}`;
      target.replaceChildren(el('p', { class: 'unavailable', id: 'report-unavailable', text }));
      target.removeAttribute('aria-busy');
      return;
    }
    // A slower answer to an older choice of period never overwrites a newer one.
    if (loading !== state.loading) return;
    target.replaceChildren(
      el('div', { class: 'tiles', id: 'report-tiles' }, figureTiles(summary)),
      el('div', { class: 'charts' },
        card('Volume by hour, AI and human', volumeChart(series.points)),
        barsCard('Escalations by reason',
          Object.entries(summary.escalations_by_reason).filter(([, n]) => n > 0), 'reasons-chart',
          'No escalations in this period.'),
        barsCard('CSAT distribution', Object.entries(summary.csat.distribution), 'csat-chart')),
      el('div', { class: 'charts' },
        card('Intents with the most escalations', mostEscalated(intents.intents)),
        card('Intents with the lowest CSAT', lowestCsat(intents.intents))),
      auditPanel(audit.intents),
    );
    target.dataset.query = params.toString();
    target.removeAttribute('aria-busy');
  }

  // ---- formatting: each from the API's number, nothing recomputed ----

  /** "20.0%"; "—" when the API says there was nothing to divide by. */
  function percent(rate) {
    return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
  }

  /** Whole seconds, exact: "45s", "7m 50s", "1h 02m 05s"; "—" without a sample. */
  function seconds(value) {
    if (value === null || value === undefined) return '—';
    const s = Math.round(value);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, '0');
    if (h) return `${h}h ${pad(m)}m ${pad(s % 60)}s`;
    if (m) return `${m}m ${pad(s % 60)}s`;
    return `${s}s`;
  }

  function decimal(value, places) {
    return value === null || value === undefined ? '—' : value.toFixed(places);
  }

  /** One number of a tile: its text, and the figure it is (`csat.average`)
   *  with the API's own value, for anyone checking the page. */
  function figure(path, value, text) {
    return el('span', {
      class: 'figure',
      'data-figure': path,
      'data-value': value === null || value === undefined ? 'null' : String(value),
      text,
    });
  }

  function reportTile(name, main, detail) {
    return el('div', { class: 'tile' },
      el('div', { class: 'name', text: name }),
      el('div', { class: 'value' }, main),
      detail ? el('div', { class: 'detail' }, detail) : null);
  }

  /** A duration figure: the median large, the 90th percentile beside it. */
  function timeTile(name, key, d) {
    return reportTile(name,
      figure(`${key}.median_seconds`, d.median_seconds, seconds(d.median_seconds)),
      ['p90 ', figure(`${key}.p90_seconds`, d.p90_seconds, seconds(d.p90_seconds)),
        ` · ${d.count} ${d.count === 1 ? 'sample' : 'samples'}`]);
  }

  function figureTiles(s) {
    const tools = s.tools_total;
    const suggestions = s.suggestions_total;
    const acted = suggestions.used + suggestions.edited + suggestions.dismissed;
    return [
      reportTile('Conversations', figure('conversations', s.conversations, String(s.conversations)),
        [figure('resolved', s.resolved, String(s.resolved)), ' resolved']),
      reportTile('Containment', figure('containment_rate', s.containment_rate, percent(s.containment_rate)),
        [figure('contained', s.contained, String(s.contained)), ' resolved by the AI alone']),
      reportTile('Escalation rate', figure('escalation_rate', s.escalation_rate, percent(s.escalation_rate)),
        [figure('escalated', s.escalated, String(s.escalated)), ' escalated']),
      timeTile('First response, AI', 'first_response_bot', s.first_response_bot),
      timeTile('First response, human', 'first_response_human', s.first_response_human),
      timeTile('Time to a human', 'time_to_human', s.time_to_human),
      timeTile('Resolution time', 'resolution_time', s.resolution_time),
      timeTile('Handle time', 'handle_time', s.handle_time),
      reportTile('CSAT average', figure('csat.average', s.csat.average, decimal(s.csat.average, 2)),
        ['response rate ', figure('csat.response_rate', s.csat.response_rate, percent(s.csat.response_rate)),
          ` · ${s.csat.received} of ${s.csat.requested}`]),
      reportTile('AI action success',
        figure('tools_total.success_rate', tools.success_rate, percent(tools.success_rate)),
        [figure('tools_total.succeeded', tools.succeeded, String(tools.succeeded)),
          ` of ${tools.calls} tool calls`]),
      reportTile('Suggestion acceptance',
        figure('suggestions_total.acceptance_rate', suggestions.acceptance_rate, percent(suggestions.acceptance_rate)),
        [`${suggestions.used + suggestions.edited} of ${acted} used or edited`]),
      reportTile('Approvals pending', figure('approvals.pending', s.approvals.pending, String(s.approvals.pending)),
        [`${s.approvals.granted} granted, ${s.approvals.rejected} rejected`]),
    ];
  }

  function card(title, body) {
    return el('section', { class: 'card chart' }, el('h3', { text: title }), body);
  }

  // ---- charts, drawn here as SVG ----

  /** Stacked bars per hour: the conversations the AI kept alone, and
   *  those escalated to a person. */
  function volumeChart(points) {
    if (!points.length) return el('p', { class: 'hint', text: 'No conversations in this period.' });
    const width = 480;
    const height = 190;
    const base = height - 24;
    const max = Math.max(1, ...points.map((p) => p.conversations));
    const step = (width - 34) / points.length;
    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`, role: 'img', id: 'volume-chart',
      'aria-label': 'Conversations per hour, handled by the AI alone or with a person',
    });
    chart.append(svg('line', { class: 'axis', x1: 30, x2: width, y1: base, y2: base }));
    chart.append(svg('text', { class: 'label', x: 0, y: 12, text: String(max) }));
    chart.append(svg('text', { class: 'label', x: 0, y: base, text: '0' }));
    const labelEvery = Math.max(1, Math.ceil(points.length / 8));
    points.forEach((p, i) => {
      const x = 32 + i * step;
      const human = p.escalated;
      const ai = p.conversations - p.escalated;
      const hAi = (ai / max) * (base - 10);
      const hHuman = (human / max) * (base - 10);
      const w = Math.max(2, step - 3);
      const hour = p.start.slice(0, 13).replace('T', ' ');
      const group = svg('g', { class: 'bucket', 'data-start': p.start, 'data-ai': ai, 'data-human': human });
      group.append(svg('rect', { class: 'bar-ai', x, y: base - hAi, width: w, height: hAi },
        svg('title', { text: `${hour}:00 UTC: ${ai} by the AI alone` })));
      group.append(svg('rect', { class: 'bar-human', x, y: base - hAi - hHuman, width: w, height: hHuman },
        svg('title', { text: `${hour}:00 UTC: ${human} with a person` })));
      if (i % labelEvery === 0) {
        group.append(svg('text', { class: 'label', x, y: height - 8, text: `${p.start.slice(11, 13)}h` }));
      }
      chart.append(group);
    });
    return el('div', {}, chart, el('div', { class: 'legend' },
      el('span', {}, el('span', { class: 'swatch ai' }), 'AI alone'),
      el('span', {}, el('span', { class: 'swatch human' }), 'With a person')));
  }

  /** Horizontal bars, one per [label, count]. */
  function barsCard(title, entries, id, empty) {
    if (!entries.length) return card(title, el('p', { class: 'hint', text: empty || 'Nothing to show.' }));
    const width = 480;
    const row = 24;
    const max = Math.max(1, ...entries.map(([, n]) => Number(n) || 0));
    const chart = svg('svg', { viewBox: `0 0 ${width} ${entries.length * row + 4}`, role: 'img', 'aria-label': title, id });
    entries.forEach(([label, n], i) => {
      const y = i * row + 4;
      const w = ((Number(n) || 0) / max) * (width - 230);
      const group = svg('g', { class: 'row', 'data-label': label, 'data-count': n });
      group.append(svg('text', { class: 'label', x: 0, y: y + 14, text: humanise(label) }));
      group.append(svg('rect', { class: 'bar', x: 180, y, width: w, height: row - 8, rx: 3 }));
      group.append(svg('text', { class: 'label', x: 186 + w, y: y + 14, text: String(n) }));
      chart.append(group);
    });
    return card(title, chart);
  }

  // ---- intents ----

  function intentTable(id, rows, columns) {
    if (!rows.length) return el('p', { class: 'hint', id, text: 'No intent to show in this period.' });
    return el('table', { class: 'figures', id },
      el('thead', {}, el('tr', {}, columns.map(([name]) => el('th', { text: name })))),
      el('tbody', {}, rows.map((row) => el('tr', { 'data-intent': row.intent },
        columns.map(([, cell]) => cell(row))))));
  }

  const num = (text, value) => el('td', { class: 'num', 'data-value': value === null ? 'null' : String(value), text });

  function mostEscalated(rows) {
    const ranked = rows.filter((r) => r.escalated > 0)
      .sort((a, b) => b.escalated - a.escalated || a.intent.localeCompare(b.intent)).slice(0, 5);
    return intentTable('most-escalated', ranked, [
      ['Intent', (r) => el('td', { text: r.intent })],
      ['Escalated', (r) => num(String(r.escalated), r.escalated)],
      ['Rate', (r) => num(percent(r.escalation_rate), r.escalation_rate)],
      ['Top reason', (r) => el('td', { text: humanise(topReason(r.escalations_by_reason) || '') })],
    ]);
  }

  function topReason(counts) {
    const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return sorted.length ? sorted[0][0] : null;
  }

  function lowestCsat(rows) {
    const ranked = rows.filter((r) => r.csat.average !== null)
      .sort((a, b) => a.csat.average - b.csat.average || a.intent.localeCompare(b.intent)).slice(0, 5);
    return intentTable('lowest-csat', ranked, [
      ['Intent', (r) => el('td', { text: r.intent })],
      ['CSAT', (r) => num(decimal(r.csat.average, 2), r.csat.average)],
      ['Ratings', (r) => num(String(r.csat.received), r.csat.received)],
      ['Conversations', (r) => num(String(r.conversations), r.conversations)],
    ]);
  }

  // ---- the journey audit ----

  const RECOMMENDATION = {
    automate: 'Automate',
    keep_human: 'Keep human',
    fix_the_knowledge: 'Fix the knowledge',
  };

  function auditPanel(rows) {
    const body = rows.length
      ? el('table', { class: 'figures', id: 'audit-table' },
        el('thead', {}, el('tr', {},
          ['#', 'Intent', 'Conversations', 'Contained', 'CSAT', 'Recommendation', 'Why']
            .map((name) => el('th', { text: name })))),
        el('tbody', {}, rows.map((row) => el('tr', { 'data-intent': row.intent, 'data-recommendation': row.recommendation },
          num(String(row.rank), row.rank),
          el('td', { text: row.intent }),
          num(String(row.conversations), row.conversations),
          num(percent(row.containment_rate), row.containment_rate),
          num(decimal(row.csat_average, 2), row.csat_average),
          el('td', {}, el('span', { class: `advice ${row.recommendation}`, text: RECOMMENDATION[row.recommendation] || row.recommendation })),
          el('td', { class: 'why', text: row.why })))))
      : el('p', { class: 'hint', text: 'No intent to audit in this period.' });
    return el('section', { class: 'card audit', id: 'audit', 'aria-labelledby': 'audit-title' },
      el('h3', { id: 'audit-title', text: 'Journey audit: what to do with each intent' }), body);
  }

  boot();
})();
