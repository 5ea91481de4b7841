// The router: `#/path/:param` → one module under pages/, each exporting
// `render(main, params)` that may return a clean-up function (live subscriptions).

import { localSignIn, session } from './api.js';
import { h } from './dom.js';
import { connect, disconnect } from './live.js';

const routes = [
  ['/sign-in', 'signin'],
  ['/apps', 'apps'],
  ['/apps/:id', 'app'],
  ['/contacts', 'contacts'],
  ['/conversations/:id', 'conversation'],
  ['/compose', 'compose'],
  ['/webhooks', 'webhooks'],
  ['/webhooks/:id', 'webhooks'],
  ['/simulator', 'simulator'],
];

function match(path) {
  for (const [pattern, page] of routes) {
    const names = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}$`);
    const found = path.match(regex);
    if (found) return { page, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])])) };
  }
  return null;
}

let cleanup = null;

async function show() {
  if (!location.hash || location.hash === '#') {
    location.replace('#/apps');
    return;
  }
  const [path, search = ''] = (location.hash.slice(1) || '/apps').split('?');
  const main = document.getElementById('page');
  if (!session.get() && path !== '/sign-in') {
    location.hash = '#/sign-in';
    return;
  }
  const route = match(path) || { page: 'apps', params: {} };
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  for (const link of document.querySelectorAll('nav a')) {
    const current = path.startsWith(link.getAttribute('href').slice(1));
    if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const current = session.get();
  const who = document.getElementById('session');
  who.replaceChildren(...(current ? [
    h('span', {}, `Project ${current.project_id}${current.local ? ' (local)' : ''}`), ' ',
    h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'),
  ] : []));
  const module = await import(`./pages/${route.page}.js`);
  main.replaceChildren();
  try {
    cleanup = await module.render(main, { ...route.params, query: new URLSearchParams(search) });
  } catch (error) {
    main.append(h('p', { class: 'error', role: 'alert' }, error.message));
  }
}

// Draw the current page again (after a change it made), keeping keyboard focus.
export async function rerender() {
  await keepingFocus(show);
}

// Run `draw`, then put keyboard focus back on the control that had it: the same label, or
// the same name, in the new drawing.
export async function keepingFocus(draw) {
  const active = document.activeElement;
  const label = active?.getAttribute('aria-label');
  const name = active?.getAttribute('name');
  await draw();
  if (active?.isConnected && active !== document.body) return; // not redrawn: focus stayed
  const find = (l) => document.querySelector(`[aria-label="${CSS.escape(l)}"]`);
  let again = label ? find(label) : name ? document.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  // A move to the end disables its own button: the opposite one keeps the place.
  if (again?.disabled && /^Move .* (up|down)$/.test(label)) {
    again = find(label.replace(/(up|down)$/, (d) => (d === 'up' ? 'down' : 'up')));
  }
  if (again && !again.disabled) again.focus();
}

function signOut() {
  session.clear();
  sessionStorage.setItem('chorus.signedOut', '1');
  disconnect();
  location.hash = '#/sign-in';
}

export function signedIn() {
  connect();
  location.hash = '#/apps';
}

async function start() {
  if (!session.get() && !sessionStorage.getItem('chorus.signedOut') && await localSignIn()) {
    connect();
  } else if (session.get()) {
    connect();
  }
  window.addEventListener('hashchange', show);
  await show();
}

start();
