// Live updates: one EventSource on the extension stream. The server sends the newest row
// of each kind ("cursors"); a page subscribes to the kinds it shows and re-reads on change.

import { api, localSignIn, session } from './api.js';

const bus = new EventTarget();
let source = null;
let last = {};

// One re-read at a time: changes that arrive meanwhile make one more re-read afterwards.
function coalesced(handler) {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    try { await handler(); } catch { /* the next change tries again */ }
    running = false;
    if (again) { again = false; run(); }
  };
  return run;
}

export function onChange(kind, handler) {
  const listener = coalesced(handler);
  bus.addEventListener(kind, listener);
  return () => bus.removeEventListener(kind, listener);
}

function indicator(text) {
  const el = document.getElementById('live');
  if (el) { el.textContent = text; el.dataset.state = text; }
}

export function connect() {
  disconnect();
  const current = session.get();
  if (!current) return;
  const url = `/console/api/projects/${encodeURIComponent(current.project_id)}/stream?access_token=${encodeURIComponent(current.access_token)}`;
  source = new EventSource(url);
  source.addEventListener('open', () => indicator('live'));
  source.addEventListener('cursors', (event) => {
    const now = JSON.parse(event.data);
    for (const [kind, cursor] of Object.entries(now)) {
      const before = JSON.stringify(last[kind]);
      if (last[kind] !== undefined && before !== JSON.stringify(cursor)) {
        bus.dispatchEvent(new Event(kind));
      }
      last[kind] = cursor;
    }
  });
  // EventSource reconnects by itself after a stream ends; a refused one (an expired token)
  // is closed, and reopened with the current token.
  source.addEventListener('error', () => {
    if (source && source.readyState === EventSource.CLOSED) {
      indicator('offline');
      setTimeout(reconnect, 2000);
    }
  });
}

async function reconnect() {
  const current = session.get();
  if (!current) return; // signed out meanwhile
  if (current.local) {
    // A local session gets a fresh token (the old one may have expired).
    await localSignIn();
  } else {
    // An access key's token cannot be renewed here. Ask the API whether it still holds:
    // if not, the API client clears the session and opens the sign-in page (nothing to
    // reconnect); if it does (the stream was refused for another reason), try again.
    try {
      await api('/apps');
    } catch (error) {
      if (error.status === 401) { disconnect(); return; }
    }
  }
  connect();
}

export function disconnect() {
  if (source) source.close();
  source = null;
  last = {};
  indicator('offline');
}
