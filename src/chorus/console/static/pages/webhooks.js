// The webhook delivery log, live: every delivery with each attempt (status code, latency,
// signature headers), its payload, and replay.

import { api, enc, ext } from '../api.js';
import { h, pretty, time, toast } from '../dom.js';
import { onChange } from '../live.js';

export async function render(main, { id }) {
  const { apps = [] } = await api('/apps');
  const all = (await Promise.all(apps.map(async (a) => (await api(`/apps/${enc(a.id)}/webhooks`)).webhooks
    .map((w) => ({ ...w, app: a.display_name }))))).flat();
  main.append(h('h1', {}, 'Webhook deliveries'));
  if (!all.length) {
    main.append(h('p', {}, 'No webhooks yet: add one on an app’s page.'));
    return null;
  }
  // `#/webhooks` opens the first; a webhook that is not there (deleted, mistyped) is said so.
  const current = id === undefined ? all[0] : all.find((w) => w.id === id);
  main.append(h('nav', { 'aria-label': 'Webhooks', class: 'tabs' }, all.map((w) => h('a', {
    href: `#/webhooks/${enc(w.id)}`, 'aria-current': w.id === current?.id ? 'page' : null,
  }, `${w.app}: ${w.target}`))));
  if (!current) {
    main.append(h('p', { class: 'error', role: 'alert' }, `Webhook ${id} not found: choose one above.`));
    return null;
  }
  const log = h('div', { class: 'deliveries' });
  const open = new Set();
  main.append(h('p', { class: 'muted' }, `Triggers: ${(current.triggers || []).join(', ')}`), log);

  // Loads overlap (a click, a live change): only the latest one draws.
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    const { deliveries = [] } = await ext(`/webhooks/${enc(current.id)}/deliveries?page_size=50`);
    const rows = await Promise.all(deliveries.map(async (d) => row(open.has(d.id) ? await ext(`/deliveries/${enc(d.id)}`) : d)));
    if (mine !== generation) return;
    log.replaceChildren(deliveries.length ? h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Trigger', 'Status', 'Attempts', 'Last code', 'Created', ''].map((t) => h('th', { scope: 'col' }, t)))),
      rows) : h('p', {}, 'No deliveries yet.'));
  };

  const row = (d) => {
    const expanded = open.has(d.id);
    const body = h('tbody', { dataset: { deliveryId: d.id } },
      h('tr', {},
        h('td', {}, d.trigger),
        h('td', {}, h('span', { class: `badge ${d.status === 'delivered' ? 'good' : d.status === 'dead' ? 'bad' : ''}` }, d.status)),
        h('td', {}, String(d.attempt_count)),
        h('td', {}, d.last_status_code ?? '—'),
        h('td', {}, time(d.create_time)),
        h('td', {},
          h('button', {
            type: 'button', class: 'link', 'aria-expanded': String(expanded),
            onclick: () => { if (expanded) open.delete(d.id); else open.add(d.id); load(); },
          }, expanded ? 'Hide' : 'Attempts'), ' ',
          h('button', {
            type: 'button', class: 'secondary small',
            onclick: async () => {
              try { await ext(`/deliveries/${enc(d.id)}:replay`, { method: 'POST' }); toast('Callback replayed'); open.add(d.id); load(); } catch (e) { toast(e.message, 'error'); }
            },
          }, 'Replay'))));
    if (expanded) {
      body.append(h('tr', { class: 'expanded' }, h('td', { colspan: 6 },
        h('h3', {}, 'Attempts'),
        h('table', { class: 'list attempts' },
          h('thead', {}, h('tr', {}, ['#', 'Time', 'Status code', 'Latency', 'Error', 'Headers'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, d.attempts.map((a) => h('tr', {},
            h('td', {}, String(a.number)), h('td', {}, time(a.attempt_time)),
            h('td', { class: 'code' }, a.status_code ?? '—'), h('td', {}, `${Math.round(a.latency_ms)} ms`),
            h('td', {}, a.error || ''),
            h('td', {}, h('dl', { class: 'headers' }, Object.entries(a.headers || {}).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]))))))),
        h('h3', {}, 'Payload'), pretty(d.payload ?? d.body))));
    }
    return body;
  };

  await load();
  return onChange('deliveries', load);
}
