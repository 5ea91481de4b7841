// One app: its channel credentials in priority order (drag, or the up/down buttons), a form
// to add one, and its webhooks with their triggers and secret. The credentials (their
// registration state moves in the background) and the webhooks are live; the forms are
// left as they are, half typed or not.

import { api, enc } from '../api.js';
import { CHANNELS, CREDENTIAL, LABELS, TRIGGERS } from '../channels.js';
import { field, h, select, toast } from '../dom.js';
import { onChange } from '../live.js';
import { keepingFocus, rerender } from '../main.js';

export async function render(main, { id }) {
  const load = async () => [await api(`/apps/${enc(id)}`), (await api(`/apps/${enc(id)}/webhooks`)).webhooks || []];
  let [app, webhooks] = await load();
  const priority = h('div', {}, priorityCard(app));
  const hooks = h('div', {}, webhooksTable(webhooks));
  main.append(
    h('p', {}, h('a', { href: '#/apps' }, '← Apps')),
    h('h1', {}, app.display_name || app.id),
    h('p', { class: 'mono' }, `App ID ${app.id} · ${app.processing_mode}`),
    priority,
    credentialForm(() => app),
    webhooksCard(app, hooks),
  );
  return onChange('apps', async () => {
    [app, webhooks] = await load();
    await keepingFocus(() => {
      priority.replaceChildren(priorityCard(app));
      hooks.replaceChildren(webhooksTable(webhooks));
    });
  });
}

async function saveCredentials(app, credentials, message) {
  try {
    await api(`/apps/${enc(app.id)}`, {
      method: 'PATCH',
      body: { channel_credentials: credentials.map(strip) },
    });
    toast(message);
  } catch (e) { toast(e.message, 'error'); }
  rerender();
}

// What the API accepts back: the credential as given, without the derived fields.
function strip(credential) {
  const { state, channel_known_id: _, ...given } = credential;
  return given;
}

function priorityCard(app) {
  const credentials = [...app.channel_credentials];
  const list = h('ol', { class: 'priority', 'aria-label': 'Channel priority' });
  let dragged = null;
  const move = (from, to) => {
    if (to < 0 || to >= credentials.length) return;
    const [item] = credentials.splice(from, 1);
    credentials.splice(to, 0, item);
    saveCredentials(app, credentials, `Priority: ${credentials.map((c) => c.channel).join(' → ')}`);
  };
  credentials.forEach((credential, index) => {
    const label = LABELS[credential.channel] || credential.channel;
    list.append(h('li', {
      draggable: 'true',
      dataset: { channel: credential.channel },
      ondragstart: (event) => { dragged = index; event.dataTransfer.setData('text/plain', credential.channel); },
      ondragover: (event) => event.preventDefault(),
      ondrop: (event) => { event.preventDefault(); if (dragged !== null && dragged !== index) move(dragged, index); },
    },
    h('span', { class: 'grip', 'aria-hidden': 'true' }, '⋮⋮'),
    h('span', { class: 'rank' }, `${index + 1}.`),
    h('strong', {}, label),
    h('span', { class: 'mono muted' }, credential.channel_known_id || ''),
    stateBadge(credential.state),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${label} up`, disabled: index === 0, onclick: () => move(index, index - 1) }, '↑'),
    h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${label} down`, disabled: index === credentials.length - 1, onclick: () => move(index, index + 1) }, '↓'),
    h('button', {
      type: 'button', class: 'icon danger', 'aria-label': `Remove ${label}`,
      onclick: () => { credentials.splice(index, 1); saveCredentials(app, credentials, `${label} removed`); },
    }, '✕')));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'priority-title' },
    h('h2', { id: 'priority-title' }, 'Channels'),
    h('p', { class: 'muted' }, 'Tried in this order when a contact has several channels. Drag to reorder, or use the arrows.'),
    credentials.length ? list : h('p', {}, 'No channel credentials yet.'));
}

// A credential that is not simply ACTIVE: a webhook registration under way (PENDING) or
// refused by the channel (FAILING, with the channel's reason).
function stateBadge(state) {
  if (!state || state.status === 'ACTIVE') return null;
  const tone = state.status === 'FAILING' ? 'bad' : 'warn';
  return h('span', { class: `badge ${tone}`, title: state.description }, state.status);
}

// `current()`: the app as last read (the list changes live under the form).
function credentialForm(current) {
  const channel = select('channel', CHANNELS.map((c) => [c, LABELS[c]]), 'SMS');
  const known = h('input', { name: 'claimed_identity' });
  const token = h('input', { name: 'token', required: true });
  const secret = h('input', { name: 'callback_secret' });
  const knownField = field('Service plan ID', known);
  const update = () => {
    const [, label] = CREDENTIAL[channel.value];
    knownField.hidden = !label;
    known.required = Boolean(label);
    if (label) knownField.querySelector('label').textContent = label;
  };
  channel.addEventListener('change', update);
  update();
  return h('form', {
    class: 'card',
    onsubmit: (event) => {
      event.preventDefault();
      const [kind] = CREDENTIAL[channel.value];
      const credential = { channel: channel.value };
      credential[kind] = kind === 'static_bearer'
        ? { claimed_identity: known.value, token: token.value } : { token: token.value };
      if (secret.value) credential.callback_secret = secret.value;
      const app = current();
      // A channel the app has keeps its place in the priority order; a new one comes last.
      const credentials = [...app.channel_credentials];
      const held = credentials.findIndex((c) => c.channel === channel.value);
      if (held >= 0) credentials[held] = credential; else credentials.push(credential);
      saveCredentials(app, credentials, `${LABELS[channel.value]} credentials saved`);
    },
  }, h('h2', {}, 'Add channel credentials'),
  h('div', { class: 'row' }, field('Channel', channel), knownField, field('Token', token),
    field('Callback secret', secret, 'optional; signs the channel’s webhooks')),
  h('button', { type: 'submit' }, 'Add credentials'));
}

function webhooksTable(webhooks) {
  return webhooks.length ? h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, ['Target', 'Triggers', 'Secret', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, webhooks.map((w) => h('tr', {},
      h('td', { class: 'mono' }, w.target),
      h('td', {}, (w.triggers || []).join(', ')),
      h('td', {}, w.secret ? 'set' : '—'),
      h('td', {}, h('a', { href: `#/webhooks/${enc(w.id)}` }, 'Delivery log'),
        ' ', h('button', {
          type: 'button', class: 'link danger', 'aria-label': `Delete webhook ${w.target}`,
          onclick: () => deleteWebhook(w),
        }, 'Delete'))))))
    : h('p', {}, 'No webhooks yet.');
}

async function deleteWebhook(webhook) {
  if (!window.confirm(`Delete the webhook ${webhook.target}? Its callbacks stop.`)) return;
  try {
    await api(`/webhooks/${enc(webhook.id)}`, { method: 'DELETE' });
    toast('Webhook deleted');
  } catch (e) { toast(e.message, 'error'); }
  rerender();
}

function webhooksCard(app, table) {
  const target = h('input', { name: 'target', type: 'url', required: true, placeholder: 'https://example.com/callbacks' });
  const secret = h('input', { name: 'secret' });
  const boxes = TRIGGERS.map((trigger) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'triggers', value: trigger, checked: trigger === 'MESSAGE_DELIVERY' || trigger === 'MESSAGE_INBOUND' }), ` ${trigger}`));
  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const triggers = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      try {
        await api('/webhooks', { method: 'POST', body: { app_id: app.id, target: target.value, target_type: 'HTTP', secret: secret.value || undefined, triggers } });
        toast('Webhook added');
        rerender();
      } catch (e) { toast(e.message, 'error'); }
    },
  }, h('h3', {}, 'Add a webhook'),
  h('div', { class: 'row' }, field('Target URL', target), field('Secret', secret, 'signs each callback (x-sinch-webhook-signature)')),
  h('fieldset', {}, h('legend', {}, 'Triggers'), h('div', { class: 'checks' }, boxes)),
  h('button', { type: 'submit' }, 'Add webhook'));
  return h('section', { class: 'card', 'aria-labelledby': 'webhooks-title' },
    h('h2', { id: 'webhooks-title' }, 'Webhooks'),
    table,
    form);
}
