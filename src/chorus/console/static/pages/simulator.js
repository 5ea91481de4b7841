// The simulator: each handset's screen per channel, a reply typed as the handset, and its
// switches (reachable, fail-next, auto-read, subscribed).

import { api, enc, sim } from '../api.js';
import { CHANNELS, LABELS } from '../channels.js';
import { renderNative } from '../channels/index.js';
import { field, h, select, time, toast } from '../dom.js';
import { onChange } from '../live.js';

// Channels whose users subscribe: the Subscribed switch posts the channel's own callback.
const SUBSCRIBING = ['VIBER', 'VIBERBM'];
const CAPABILITIES = ['CAPABILITY_FULL', 'CAPABILITY_PARTIAL', 'NO_CAPABILITY', 'CAPABILITY_UNKNOWN'];

// The app each handset last replied to, kept while the console is open.
const chosenApp = new Map();

export async function render(main) {
  try {
    await sim('/handsets?channel=sms');
  } catch (e) {
    if (e.status !== 404) throw e;
    main.append(h('h1', {}, 'Simulator'), h('p', {}, 'The simulator is off on this server (CHORUS_SIMULATOR=off, the production profile).'));
    return null;
  }
  const { apps = [] } = await api('/apps');
  const screens = h('div', { class: 'handsets' });
  const only = select('only', [['', 'All channels'], ...CHANNELS.map((c) => [c, LABELS[c]])], '');
  const newChannel = select('channel', CHANNELS.map((c) => [c.toLowerCase(), LABELS[c]]), 'sms');
  const newIdentity = h('input', { name: 'identity', required: true, placeholder: '46700000002' });
  main.append(h('h1', {}, 'Simulator'),
    h('form', {
      class: 'card row',
      onsubmit: async (e) => {
        e.preventDefault();
        await sim(`/handsets/${newChannel.value}/${enc(newIdentity.value)}`, { method: 'PATCH', body: {} });
        newIdentity.value = '';
        load();
      },
    }, field('Channel', newChannel), field('Handset identity', newIdentity), h('button', { type: 'submit' }, 'Add handset')),
    field('Show handsets of', only),
    screens);
  only.addEventListener('change', () => load());

  // Loads overlap (a switch, a reply, a live change): only the latest one draws.
  let generation = 0;
  // An (un)subscription waits in the inbox as `queued` until chorus has answered the
  // channel's callback; that answer moves no live cursor, so the page looks again.
  let recheck = null;
  let left = false;
  const load = async () => {
    if (left) return;
    const mine = ++generation;
    const { handsets: every = [] } = await sim('/handsets');
    // Grouped by channel, each channel's handsets in the order they appeared.
    const handsets = every.filter((hs) => !only.value || hs.channel === only.value)
      .sort((a, b) => CHANNELS.indexOf(a.channel) - CHANNELS.indexOf(b.channel));
    const full = await Promise.all(handsets.map((hs) => sim(`/handsets/${hs.channel.toLowerCase()}/${enc(hs.identity)}`)));
    if (mine !== generation) return;
    // Keep what is being typed (changed, not yet sent) across live refreshes.
    const typing = Object.fromEntries([...screens.querySelectorAll('[data-key]')].filter((t) => t.value !== t.defaultValue).map((t) => [t.dataset.key, t.value]));
    const focused = document.activeElement?.dataset?.key;
    screens.replaceChildren(...(full.length ? full.map((hs) => handset(hs, apps, load, typing)) : [h('p', {}, 'No handsets yet: send a message to one, or add one above.')]));
    if (focused) screens.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
    clearTimeout(recheck);
    if (full.some((hs) => hs.inbox.some((m) => m.status === 'queued'))) recheck = setTimeout(load, 1000);
  };
  await load();
  const stopLive = onChange('handsets', load);
  return () => { left = true; clearTimeout(recheck); stopLive(); };
}

// What the handset's app shows for one inbox entry: what it received drawn the way that
// channel's app draws it (SMS: the text), what it sent as the person's own bubble.
function screenOf(channel, entry) {
  if (entry.direction === 'received' && channel !== 'SMS') {
    const drawn = renderNative(channel, entry.request);
    if (drawn?.length) return h('div', { class: 'drawn' }, drawn);
  }
  return h('div', { class: `bubble ${entry.direction === 'received' ? '' : 'mine'}` }, entry.text || '(no text)');
}

function handset(hs, apps, reload, typing) {
  const path = `/handsets/${hs.channel.toLowerCase()}/${enc(hs.identity)}`;
  const key = `${hs.channel}:${hs.identity}`;
  const name = `${LABELS[hs.channel] || hs.channel} ${hs.identity}`;
  const patch = async (change) => {
    try { await sim(path, { method: 'PATCH', body: change }); toast(`${name}: ${Object.keys(change).filter((k) => k !== 'app_id').join(', ')} updated`); } catch (e) { toast(e.message, 'error'); }
    reload();
  };
  // `extra` adds to the change, read when it is made (Subscribed names the "To app").
  const toggle = (setting, label, extra = () => ({})) => h('label', { class: 'check' }, h('input', {
    type: 'checkbox', name: setting, checked: Boolean(hs.settings[setting]),
    onchange: (e) => patch({ [setting]: e.target.checked, ...extra() }),
  }), ` ${label}`);
  const capability = select('capability', CAPABILITIES, hs.settings.capability);
  capability.addEventListener('change', () => patch({ capability: capability.value }));
  const failKey = `${key}:fail_next`;
  // What is being typed is restored as the value only, never as the default: the default
  // stays what the server holds, so the next refresh still sees it as typed.
  const failNext = h('input', { name: 'fail_next', value: String(hs.settings.fail_next ?? ''), size: 6, inputmode: 'numeric', dataset: { key: failKey } });
  if (typing[failKey] !== undefined) failNext.value = typing[failKey];
  // Reply to the app that wrote last, when its native request names it (a callback URL).
  const lastApp = [...hs.inbox].reverse().map((m) => JSON.stringify(m.request).match(/\/inbound\/\w+\/(\w+)/)?.[1]).find(Boolean);
  const preferred = [chosenApp.get(key), lastApp].find((id) => apps.some((a) => a.id === id));
  const app = select('app_id', apps.map((a) => [a.id, a.display_name || a.id]), preferred);
  app.addEventListener('change', () => chosenApp.set(key, app.value));
  const text = h('textarea', { name: 'reply', rows: 2, dataset: { key }, placeholder: 'Type as the handset…' });
  if (typing[key] !== undefined) text.value = typing[key];
  return h('section', { class: `phone handset ${hs.channel.toLowerCase()}`, 'aria-label': `Handset ${name}` },
    h('header', {}, name),
    h('ol', { class: 'screen inbox', 'aria-label': `Screen of ${name}` }, hs.inbox.map((m) => h('li', { class: m.direction === 'received' ? 'incoming' : 'outgoing' },
      screenOf(hs.channel, m),
      h('small', { class: 'muted' }, time(m.at), m.status ? ` · ${m.status}` : '')))),
    h('form', {
      class: 'reply',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const answer = await sim(`${path}/messages`, { method: 'POST', body: { app_id: app.value, text_message: { text: text.value } } });
          toast(`Sent as ${name} (chorus answered ${answer.status_code})`);
          text.value = '';
        } catch (err) { toast(err.message, 'error'); }
        reload();
      },
    }, field('To app', app), field(`Reply as ${hs.identity}`, text), h('button', { type: 'submit' }, 'Send reply')),
    h('div', { class: 'switches' },
      toggle('reachable', 'Reachable'), toggle('auto_read', 'Auto-read'), toggle('auto_deliver', 'Auto-deliver'),
      // The user (un)subscribing: the simulator tells the selected "To app" (its OPT_IN / OPT_OUT).
      SUBSCRIBING.includes(hs.channel) ? toggle('subscribed', 'Subscribed', () => (app.value ? { app_id: app.value } : {})) : null,
      field('Capability', capability),
      h('form', {
        class: 'inline',
        onsubmit: (e) => { e.preventDefault(); patch({ fail_next: failNext.value === '' ? null : (/^\d+$/.test(failNext.value) ? Number(failNext.value) : failNext.value) }); },
      }, field('Fail next with code', failNext), h('button', { type: 'submit', class: 'secondary small' }, 'Set'))));
}
