// Apps: the list, live (another tab or an API client may add, change or delete one), and a
// form to create one.

import { api, enc } from '../api.js';
import { field, h, toast } from '../dom.js';
import { onChange } from '../live.js';

function table(apps) {
  return apps.length
    ? h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'ID'), h('th', { scope: 'col' }, 'Channels (in priority order)'))),
      h('tbody', {}, apps.map((app) => h('tr', {},
        h('td', {}, h('a', { href: `#/apps/${enc(app.id)}` }, app.display_name || '(unnamed)')),
        h('td', { class: 'mono' }, app.id),
        h('td', {}, app.channel_credentials.map((c) => c.channel).join(' → ') || '—')))))
    : h('p', {}, 'No apps yet.');
}

export async function render(main) {
  const list = h('div', {}, table((await api('/apps')).apps || []));
  const name = h('input', { name: 'display_name', required: true });
  const form = h('form', {
    class: 'card',
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const app = await api('/apps', { method: 'POST', body: { display_name: name.value, channel_credentials: [] } });
        toast(`App ${app.display_name} created`);
        location.hash = `#/apps/${enc(app.id)}`;
      } catch (e) { toast(e.message, 'error'); }
    },
  }, h('h2', {}, 'New app'), field('Display name', name), h('button', { type: 'submit' }, 'Create app'));
  main.append(h('h1', {}, 'Apps'), list, form);
  return onChange('apps', async () => list.replaceChildren(table((await api('/apps')).apps || [])));
}
