// Helpers shared by Baton's pages: DOM built from data as text only, calls
// to the API in its error shape, and a socket that resumes where it left off.
'use strict';

const Baton = (() => {
  /** An element whose children are elements or strings; strings become text
   *  nodes, so nothing that came from a person is ever parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') {
        node.addEventListener(key.slice(2), value);
      } else node.setAttribute(key, value === true ? '' : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  const SVG = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'text') node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }

  /** A failed API call, with the server's own message. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, { token, body } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check the connection.');
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || 'http', error.message || response.statusText);
    }
    return data;
  }

  /** A WebSocket to `/api/v1/ws` that reconnects with a growing delay and
   *  asks for what it missed. `query()` gives the parameters of each attempt
   *  (so `after` is always the latest sequence seen). */
  class LiveSocket {
    constructor({ query, onFrame, onState }) {
      this.query = query;
      this.onFrame = onFrame;
      this.onState = onState || (() => {});
      this.attempts = 0;
      this.socket = null;
      this.timer = null;
      this.stopped = false;
    }

    /** Attempts before the page stops trying and offers a button instead. */
    static get MAX_ATTEMPTS() {
      return 40;
    }

    connect() {
      clearTimeout(this.timer);
      if (this.stopped || this.held) return;
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const params = new URLSearchParams(this.query());
      const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws?${params}`);
      this.socket = socket;
      this.onState(this.attempts === 0 ? 'connecting' : 'reconnecting');
      socket.addEventListener('message', (message) => {
        let frame;
        try {
          frame = JSON.parse(message.data);
        } catch (err) {
          return;
        }
        if (frame.type === 'ready') {
          this.attempts = 0;
          this.onState('live');
        }
        this.onFrame(frame);
      });
      socket.addEventListener('close', () => {
        if (this.socket !== socket || this.stopped) return;
        this.socket = null;
        this.retry();
      });
    }

    retry() {
      this.attempts += 1;
      if (this.attempts > LiveSocket.MAX_ATTEMPTS) {
        this.onState('offline');
        return;
      }
      const delay = Math.min(500 * 2 ** (this.attempts - 1), 10000);
      this.onState('reconnecting');
      this.timer = setTimeout(() => this.connect(), delay);
    }

    /** Close the socket as a network drop would; it then reconnects. */
    drop() {
      if (this.socket) this.socket.close();
    }

    /** Reconnect at once with fresh parameters (the page's subject changed). */
    restart() {
      const socket = this.socket;
      this.socket = null;
      if (socket) socket.close();
      this.attempts = 0;
      this.connect();
    }

    /** Go offline until `release()`, as a long network outage would. */
    hold() {
      this.held = true;
      clearTimeout(this.timer);
      if (this.socket) {
        const socket = this.socket;
        this.socket = null;
        socket.close();
      }
      this.onState('reconnecting');
    }

    release() {
      this.held = false;
      this.attempts = 0;
      this.connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.socket) this.socket.close();
    }
  }

  /** "42s", "3m 05s", "1h 12m". */
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  }

  function clock(at) {
    const date = new Date(at);
    if (Number.isNaN(date.getTime())) return '';
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /** `human_requested` → "Human requested". */
  function humanise(name) {
    const text = String(name || '').replace(/_/g, ' ');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  return { el, append, svg, api, ApiError, LiveSocket, duration, clock, humanise, newId };
})();
