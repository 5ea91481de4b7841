// A conversation's timeline: app and contact messages and events, oldest first, each with
// its channel, metadata and status history (QUEUED → … → READ, fallbacks with reasons).

import { api, enc, ext, query } from '../api.js';
import { h, pretty, time } from '../dom.js';
import { badge, summary } from '../format.js';
import { onChange } from '../live.js';

const STEP = 100;
const PAGE_MAX = 1000; // the messages and events lists' largest page_size

export async function render(main, { id }) {
  const conversation = await api(`/conversations/${enc(id)}`);
  const list = h('ol', { class: 'timeline', 'aria-label': 'Timeline' });
  const header = h('p', { class: 'mono' });
  const describe = (c) => header.replaceChildren(`${c.id} · app ${c.app_id} · ${c.active ? 'active' : 'stopped'}`,
    c.active_channel ? ` · on ${c.active_channel}` : '');
  describe(conversation);
  // The newest STEP entries first; older ones on request, up to what one API page holds.
  let shown = STEP;
  const limit = h('p', { hidden: true }, `Showing the newest ${PAGE_MAX} entries.`);
  const older = h('button', {
    type: 'button',
    hidden: true,
    onclick: async () => { shown = Math.min(shown + STEP, PAGE_MAX); await load(); },
  }, 'Show older entries');
  main.append(
    h('p', {}, h('a', { href: `#/contacts${query({ contact: conversation.contact_id })}` }, '← Contact')),
    h('h1', {}, 'Conversation'),
    header,
    h('p', {}, h('a', { href: `#/compose${query({ app: conversation.app_id, contact: conversation.contact_id })}` }, 'Compose a message to this contact')),
    older,
    limit,
    list);
  const load = async () => {
    const [current, { messages = [] }, { events = [] }, { statuses = {}, events: eventStatuses = {} }] = await Promise.all([
      api(`/conversations/${enc(id)}`),
      api(`/messages${query({ conversation_id: id, page_size: shown })}`),
      api(`/events${query({ conversation_id: id, page_size: shown })}`),
      ext(`/conversations/${enc(id)}/statuses`),
    ]);
    // Each list is newest first: together, the newest `shown` entries, shown oldest first.
    const all = [
      ...messages.map((m) => ({ kind: 'message', at: m.accept_time, item: m })),
      ...events.map((e) => ({ kind: 'event', at: e.accept_time, item: e })),
    ].sort((a, b) => b.at.localeCompare(a.at));
    const items = all.slice(0, shown).reverse();
    const more = all.length > shown || messages.length === shown || events.length === shown;
    older.hidden = !more || shown >= PAGE_MAX;
    limit.hidden = !more || shown < PAGE_MAX;
    describe(current);
    list.replaceChildren(...items.map(({ kind, item }) => (kind === 'message'
      ? messageItem(item, statuses[item.id] || []) : eventItem(item, eventStatuses[item.id] || []))));
  };
  await load();
  return onChange('messages', load);
}

function messageItem(message, stored) {
  const outbound = message.direction === 'TO_CONTACT';
  // Acceptance is QUEUED; the stored history starts with what followed it.
  const history = outbound && stored[0]?.status !== 'QUEUED'
    ? [{ status: 'QUEUED', at: message.accept_time }, ...stored] : stored;
  const channel = message.channel_identity?.channel;
  const last = history[history.length - 1];
  return h('li', { class: `entry ${outbound ? 'app' : 'contact'}`, dataset: { messageId: message.id } },
    h('div', { class: 'meta' },
      h('strong', {}, outbound ? 'App' : 'Contact'), ' · ',
      h('span', { class: 'channel' }, channel || 'channel pending'), ' · ',
      time(message.accept_time),
      last ? [' · ', badge(last.status)] : null),
    h('div', { class: 'bubble' }, summary(message)),
    historyList(history),
    h('details', {}, h('summary', {}, 'Details'),
      message.metadata ? h('p', {}, 'Metadata: ', h('code', {}, message.metadata)) : null,
      pretty(message)));
}

function eventItem(event, stored) {
  const body = event.app_event || event.contact_event || event.contact_message_event || {};
  const outbound = event.direction === 'TO_CONTACT';
  // As for messages: acceptance is QUEUED, the stored history is what followed it.
  const history = outbound ? [{ status: 'QUEUED', at: event.accept_time }, ...stored] : stored;
  const last = history[history.length - 1];
  return h('li', { class: `entry event ${outbound ? 'app' : 'contact'}`, dataset: { eventId: event.id } },
    h('div', { class: 'meta' }, h('strong', {}, outbound ? 'App event' : 'Contact event'), ' · ',
      h('span', { class: 'channel' }, event.channel_identity?.channel || 'no channel'), ' · ', time(event.accept_time),
      last ? [' · ', badge(last.status)] : null),
    h('div', { class: 'bubble event' }, Object.keys(body)[0] || 'event'),
    historyList(history),
    h('details', {}, h('summary', {}, 'Details'), pretty(event)));
}

// Each status with its channel, time and reason, oldest first.
function historyList(history) {
  return history.length ? h('ol', { class: 'history', 'aria-label': 'Status history' }, history.map((s) => h('li', {},
    badge(s.status), s.channel ? ` on ${s.channel}` : '', ' ', time(s.at),
    s.reason ? h('span', { class: 'reason' }, ` — ${s.reason.code || ''} ${s.reason.description || ''}`) : null))) : null;
}
