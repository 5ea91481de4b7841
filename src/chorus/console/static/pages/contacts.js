// Contacts: browse and search (name, identity, id, external id); a contact's conversations.

import { api, listAll } from '../api.js';
import { field, h, time } from '../dom.js';
import { onChange } from '../live.js';

export async function render(main, { query }) {
  const search = h('input', { type: 'search', name: 'q', value: query.get('q') || '', placeholder: 'name, phone number, id…' });
  const results = h('div', { 'aria-live': 'polite' });
  const detail = h('div');
  main.append(h('h1', {}, 'Contacts'),
    h('form', { role: 'search', onsubmit: (e) => e.preventDefault() }, field('Search contacts', search)),
    h('div', { class: 'split' }, results, detail));

  let contacts = [];
  let selected = query.get('contact');
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = contacts.filter((c) => !needle || [c.display_name, c.id, c.external_id,
      ...c.channel_identities.map((i) => i.identity)].some((v) => (v || '').toLowerCase().includes(needle)));
    results.replaceChildren(shown.length ? h('ul', { class: 'contacts' }, shown.map((c) => h('li', {},
      h('button', {
        type: 'button', class: `contact${c.id === selected ? ' selected' : ''}`,
        'aria-pressed': String(c.id === selected),
        onclick: () => { selected = c.id; draw(); showContact(c); },
      }, h('strong', {}, c.display_name || 'Unknown'),
      h('span', { class: 'muted' }, c.channel_identities.map((i) => `${i.channel} ${i.identity}`).join(' · '))))))
      : h('p', {}, needle ? 'No contact matches.' : 'No contacts yet.'));
  };
  const showContact = async (contact) => {
    const { conversations = [] } = await api(`/conversations?contact_id=${contact.id}&page_size=20`);
    detail.replaceChildren(h('section', { class: 'card', 'aria-label': `Contact ${contact.display_name}` },
      h('h2', {}, contact.display_name || 'Unknown'),
      h('dl', {},
        h('dt', {}, 'ID'), h('dd', { class: 'mono' }, contact.id),
        h('dt', {}, 'Channels (priority)'), h('dd', {}, (contact.channel_priority || []).join(' → ') || '—'),
        h('dt', {}, 'Identities'), h('dd', {}, contact.channel_identities.map((i) => `${i.channel}: ${i.identity}`).join(', '))),
      h('h3', {}, 'Conversations'),
      conversations.length ? h('ul', {}, conversations.map((c) => h('li', {},
        h('a', { href: `#/conversations/${c.id}` }, `Conversation ${c.id}`), ' ',
        h('span', { class: 'muted' }, c.active ? 'active' : 'stopped', ' · last ', time(c.last_received))))) : h('p', {}, 'None.')));
  };
  const load = async () => {
    contacts = await listAll('/contacts', 'contacts', { page_size: 20 });
    draw();
    const current = contacts.find((c) => c.id === selected);
    if (current) showContact(current);
  };
  search.addEventListener('input', draw);
  await load();
  return onChange('messages', load);
}
