// Contacts: browse (the first ones, more on request) and search what is loaded (name,
// identity, id, external id); a contact's conversations. A linked contact (`?contact=`) is
// read by its id, wherever it is in the list.

import { api, enc, listSome, query as queryString } from '../api.js';
import { field, h, time, toast } from '../dom.js';
import { onChange } from '../live.js';

const STEP = 200; // contacts loaded at first, and at each "Load more"
const PAGE = 20; // the contacts list's largest page_size

export async function render(main, { query }) {
  const search = h('input', { type: 'search', name: 'q', value: query.get('q') || '', placeholder: 'name, phone number, id…' });
  const results = h('div', { 'aria-live': 'polite' });
  const extent = h('p', { class: 'muted', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const detail = h('div');
  main.append(h('h1', {}, 'Contacts'),
    h('form', { role: 'search', onsubmit: (e) => e.preventDefault() }, field('Search contacts', search)),
    h('div', { class: 'split' }, h('div', {}, extent, results, more), detail));

  let contacts = [];
  let next = ''; // the token of the contacts not loaded yet ('' when all are)
  let selected = query.get('contact');
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = contacts.filter((c) => !needle || [c.display_name, c.id, c.external_id,
      ...c.channel_identities.map((i) => i.identity)].some((v) => (v || '').toLowerCase().includes(needle)));
    // The search looks only at what is loaded: say so while more remain.
    extent.textContent = next
      ? `Showing the first ${contacts.length} contacts${needle ? ' (the search looks only at these)' : ''}.`
      : `All ${contacts.length} contacts.`;
    more.hidden = !next;
    results.replaceChildren(shown.length ? h('ul', { class: 'contacts' }, shown.map((c) => h('li', {},
      h('button', {
        type: 'button', class: `contact${c.id === selected ? ' selected' : ''}`,
        'aria-pressed': String(c.id === selected),
        onclick: () => { selected = c.id; draw(); showContact(c); },
      }, h('strong', {}, c.display_name || 'Unknown'),
      h('span', { class: 'muted' }, c.channel_identities.map((i) => `${i.channel} ${i.identity}`).join(' · '))))))
      : h('p', {}, needle ? `No${next ? ' loaded' : ''} contact matches.` : 'No contacts yet.'));
  };
  const showContact = async (contact) => {
    const { conversations = [] } = await api(`/conversations${queryString({ contact_id: contact.id, page_size: 20 })}`);
    if (contact.id !== selected) return; // another was chosen meanwhile
    detail.replaceChildren(h('section', { class: 'card', 'aria-label': `Contact ${contact.display_name}` },
      h('h2', {}, contact.display_name || 'Unknown'),
      h('dl', {},
        h('dt', {}, 'ID'), h('dd', { class: 'mono' }, contact.id),
        h('dt', {}, 'Channels (priority)'), h('dd', {}, (contact.channel_priority || []).join(' → ') || '—'),
        h('dt', {}, 'Identities'), h('dd', {}, contact.channel_identities.map((i) => `${i.channel}: ${i.identity}`).join(', '))),
      h('h3', {}, 'Conversations'),
      conversations.length ? h('ul', {}, conversations.map((c) => h('li', {},
        h('a', { href: `#/conversations/${enc(c.id)}` }, `Conversation ${c.id}`), ' ',
        h('span', { class: 'muted' }, c.active ? 'active' : 'stopped', ' · last ', time(c.last_received))))) : h('p', {}, 'None.')));
  };
  // The selected contact, read by its id: it may not be among those loaded.
  const showSelected = async () => {
    if (!selected) return;
    let contact;
    try {
      contact = await api(`/contacts/${enc(selected)}`);
    } catch (e) {
      if (e.status !== 404 && e.status !== 400) throw e;
      detail.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Contact ${selected} not found.`));
      return;
    }
    await showContact(contact);
  };
  // Loads overlap (Load more, a live change): only the latest one draws.
  let wanted = STEP;
  let generation = 0;
  // From the start each time: a live change may add, rename or remove any contact.
  const load = async () => {
    const mine = ++generation;
    const read = await listSome('/contacts', 'contacts', { page_size: PAGE }, wanted);
    if (mine !== generation) return;
    ({ items: contacts, next } = read);
    draw();
    await showSelected();
  };
  more.addEventListener('click', () => {
    wanted = contacts.length + STEP;
    load().catch((e) => toast(e.message, 'error'));
  });
  search.addEventListener('input', draw);
  await load();
  // Contacts change (created, renamed, deleted); the selected one's conversations change
  // with its messages.
  const stops = [onChange('contacts', load), onChange('messages', showSelected)];
  return () => stops.forEach((stop) => stop());
}
