// Baton's embeddable chat. On the company's site:
//   <script src="https://support.example.com/widget.js"
//           data-baton-url="https://support.example.com" async></script>
// adds a launcher button; it opens Baton's /chat page in a frame, so the
// chat runs under Baton's own origin and security policy, not the site's.
(() => {
  'use strict';
  if (window.__batonLauncher) return;

  const script = document.currentScript;
  const configured = script && script.getAttribute('data-baton-url');
  const base = new URL(configured || (script ? script.src : location.href), location.href);
  const origin = base.origin;
  const label = (script && script.getAttribute('data-baton-label')) || 'Chat with us';

  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.setAttribute('aria-label', label);
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'baton-chat-frame');
  launcher.id = 'baton-launcher';
  Object.assign(launcher.style, {
    position: 'fixed', right: '20px', bottom: '20px', width: '60px', height: '60px',
    borderRadius: '50%', border: '0', cursor: 'pointer', zIndex: '2147483646',
    background: 'linear-gradient(135deg, #2f5bea, #5a3fd8)', color: '#fff',
    boxShadow: '0 8px 24px rgba(30, 40, 90, .35)', display: 'grid', placeItems: 'center',
  });
  const ns = 'http://www.w3.org/2000/svg';
  const icon = document.createElementNS(ns, 'svg');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('width', '28');
  icon.setAttribute('height', '28');
  icon.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  icon.append(path);
  launcher.append(icon);

  const dot = document.createElement('span');
  Object.assign(dot.style, {
    position: 'absolute', top: '6px', right: '6px', width: '14px', height: '14px',
    borderRadius: '50%', background: '#ff4d4f', border: '2px solid #fff', display: 'none',
  });
  launcher.append(dot);

  // The frame loads on first open, so a page view alone starts no chat.
  let frame = null;
  let open = false;

  function narrow() {
    return window.innerWidth <= 480;
  }

  function place() {
    if (!frame) return;
    const small = narrow();
    Object.assign(frame.style, small
      ? { right: '0', bottom: '0', width: '100%', height: '100%', borderRadius: '0' }
      : { right: '20px', bottom: '92px', width: '380px', height: 'min(640px, calc(100vh - 120px))',
        borderRadius: '16px' });
    launcher.style.display = small && open ? 'none' : 'grid';
  }

  function show(value) {
    open = value;
    if (open && !frame) {
      frame = document.createElement('iframe');
      frame.id = 'baton-chat-frame';
      frame.title = 'Chat with support';
      frame.src = `${origin}/chat?embed=1`;
      Object.assign(frame.style, {
        position: 'fixed', border: '0', zIndex: '2147483647', background: '#fff',
        boxShadow: '0 12px 40px rgba(30, 40, 90, .3)',
      });
      document.body.append(frame);
    }
    frame.style.display = open ? 'block' : 'none';
    launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      dot.style.display = 'none';
      frame.focus();
    } else {
      launcher.focus();
    }
    place();
  }

  launcher.addEventListener('click', () => show(!open));
  window.addEventListener('resize', place);
  window.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && open) show(false);
  });
  window.addEventListener('message', (event) => {
    // Only the chat frame itself may steer the launcher.
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    const kind = event.data && event.data.baton;
    if (kind === 'close') show(false);
    if (kind === 'message' && !open) dot.style.display = 'block';
  });

  function mount() {
    document.body.append(launcher);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  window.__batonLauncher = { open: () => show(true), close: () => show(false) };
})();
