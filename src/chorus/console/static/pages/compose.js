// Compose a generic message (a form for the common types, JSON for any), preview it on
// every channel side by side through messages:transcode, then send it.

import { api, enc, listAll } from '../api.js';
import { CHANNELS, LABELS } from '../channels.js';
import { phone } from '../channels/index.js';
import { field, h, select, toast } from '../dom.js';

const TYPES = [['text', 'Text'], ['media', 'Media'], ['choice', 'Text with choices'], ['card', 'Card'],
  ['carousel', 'Carousel'], ['location', 'Location'], ['json', 'JSON (any message)']];

// "Label" → a reply choice; "Label | https://…" → a URL choice.
function choices(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const [label, url] = line.split('|').map((s) => s.trim());
    return url ? { url_message: { title: label, url } } : { text_message: { text: label } };
  });
}

// The first contacts, and the one the link names (it may be past them): never another one.
async function contactChoices(wanted) {
  const contacts = await listAll('/contacts', 'contacts', { page_size: 20 });
  let missing = null;
  if (wanted && !contacts.some((c) => c.id === wanted)) {
    try {
      contacts.unshift(await api(`/contacts/${enc(wanted)}`));
    } catch (e) {
      if (e.status !== 404 && e.status !== 400) throw e;
      missing = `Contact ${wanted} not found: choose another.`;
    }
  }
  const options = contacts.map((c) => [c.id, `${c.display_name} (${c.channel_identities.map((i) => i.identity).join(', ')})`]);
  return { options: [['', 'Choose a contact…'], ...options], missing };
}

export async function render(main, { query }) {
  const { apps = [] } = await api('/apps');
  const wanted = query.get('contact');
  const contacts = await contactChoices(wanted);
  if (!apps.length) {
    main.append(h('h1', {}, 'Compose'), h('p', {}, 'Create an app first: ', h('a', { href: '#/apps' }, 'Apps')));
    return;
  }
  const app = select('app_id', apps.map((a) => [a.id, a.display_name || a.id]), query.get('app') || apps[0].id);
  const recipient = select('recipient', [['identity', 'A channel identity'], ['contact', 'A contact']], wanted ? 'contact' : 'identity');
  const contact = select('contact_id', contacts.options, contacts.missing ? '' : wanted);
  const channel = select('channel', CHANNELS.map((c) => [c, LABELS[c]]), 'SMS');
  const identity = h('input', { name: 'identity', value: '46700000001' });
  const type = select('type', TYPES, 'text');
  const inputs = {
    text: h('textarea', { name: 'text', rows: 3 }, 'Hello from chorus!'),
    url: h('input', { name: 'url', type: 'url', value: 'https://example.com/image.jpg' }),
    caption: h('input', { name: 'caption' }),
    title: h('input', { name: 'title', value: 'Title' }),
    description: h('input', { name: 'description', value: 'Description' }),
    choices: h('textarea', { name: 'choices', rows: 3 }, 'Yes\nNo\nWebsite | https://example.com'),
    cards: h('textarea', { name: 'cards', rows: 3 }, 'Red shoe | Size 42 | https://example.com/red.jpg\nBlue shoe | Size 43 | https://example.com/blue.jpg'),
    latitude: h('input', { name: 'latitude', type: 'number', step: 'any', value: '55.6050' }),
    longitude: h('input', { name: 'longitude', type: 'number', step: 'any', value: '13.0038' }),
  };
  const fields = {
    text: field('Text', inputs.text),
    url: field('Media URL', inputs.url),
    caption: field('Caption', inputs.caption),
    title: field('Title', inputs.title),
    description: field('Description', inputs.description),
    choices: field('Choices, one a line', inputs.choices, '“Label”, or “Label | https://…” for a link'),
    cards: field('Cards, one a line', inputs.cards, 'Title | Description | image URL'),
    latitude: field('Latitude', inputs.latitude),
    longitude: field('Longitude', inputs.longitude),
  };
  const USES = {
    text: ['text'], media: ['url', 'caption'], choice: ['text', 'choices'],
    card: ['title', 'description', 'url', 'choices'], carousel: ['cards', 'choices'],
    location: ['title', 'description', 'latitude', 'longitude'], json: [],
  };
  const json = h('textarea', { name: 'app_message', rows: 10, class: 'mono', spellcheck: 'false' });
  const previewBoxes = CHANNELS.map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'preview', value: c, checked: true }), ` ${LABELS[c]}`));
  const previews = h('div', { class: 'phones', 'aria-live': 'polite' });
  const result = h('p', { role: 'status' });

  const build = () => {
    const v = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
    switch (type.value) {
      case 'text': return { text_message: { text: v.text } };
      case 'media': return { media_message: { url: v.url, ...(v.caption ? { caption: v.caption } : {}) } };
      case 'choice': return { choice_message: { text_message: { text: v.text }, choices: choices(v.choices) } };
      case 'card': return { card_message: { title: v.title, description: v.description, media_message: { url: v.url }, choices: choices(v.choices) } };
      case 'carousel': return {
        carousel_message: {
          cards: v.cards.split('\n').filter((l) => l.trim()).map((line) => {
            const [title, description, url] = line.split('|').map((s) => s.trim());
            return { title, description, ...(url ? { media_message: { url } } : {}) };
          }),
          choices: choices(v.choices),
        },
      };
      case 'location': return { location_message: { title: v.title, label: v.description, coordinates: { latitude: Number(v.latitude), longitude: Number(v.longitude) } } };
      default: return null;
    }
  };
  const appMessage = () => JSON.parse(json.value);
  const sync = () => {
    for (const [name, el] of Object.entries(fields)) el.hidden = !USES[type.value].includes(name);
    const built = build();
    if (built) json.value = JSON.stringify(built, null, 2);
    contact.closest('.field').hidden = recipient.value !== 'contact';
    channel.closest('.field').hidden = recipient.value !== 'identity';
    identity.closest('.field').hidden = recipient.value !== 'identity';
  };

  // Previews overlap while the form changes: only the latest one draws.
  let generation = 0;
  const preview = async () => {
    const mine = ++generation;
    let message;
    try { message = appMessage(); } catch (e) { previews.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Invalid JSON: ${e.message}`)); return; }
    const chosen = previewBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    // One call per channel, so one channel's refusal does not hide the others.
    const drawn = await Promise.all(chosen.map(async (c) => {
      try {
        const { transcoded_message: out } = await api('/messages:transcode', { method: 'POST', body: { app_id: app.value, app_message: message, channels: [c] } });
        return phone(c, out[c]);
      } catch (e) {
        const violation = e.body?.error?.details?.[0]?.field_violations?.[0]?.description;
        return phone(c, null, violation || e.message);
      }
    }));
    if (mine === generation) previews.replaceChildren(...drawn);
  };

  const send = async (event) => {
    event.preventDefault();
    result.textContent = '';
    if (recipient.value === 'contact' && !contact.value) {
      result.replaceChildren(h('span', { class: 'error' }, 'Not sent: choose a contact.'));
      contact.focus();
      return;
    }
    try {
      const body = {
        app_id: app.value,
        message: appMessage(),
        recipient: recipient.value === 'contact'
          ? { contact_id: contact.value }
          : { identified_by: { channel_identities: [{ channel: channel.value, identity: identity.value }] } },
      };
      const sent = await api('/messages:send', { method: 'POST', body });
      result.replaceChildren('Sent: message ', h('code', {}, sent.message_id), ` accepted at ${sent.accepted_time}.`);
      toast('Message accepted');
    } catch (e) {
      result.replaceChildren(h('span', { class: 'error' }, `Not sent: ${e.message}`));
    }
  };

  for (const el of [type, recipient]) el.addEventListener('change', () => { sync(); preview(); });
  for (const el of Object.values(inputs)) el.addEventListener('change', () => { sync(); preview(); });
  json.addEventListener('input', () => { type.value = 'json'; sync(); });
  json.addEventListener('change', preview);
  app.addEventListener('change', preview);
  for (const box of previewBoxes) box.addEventListener('change', preview);

  main.append(h('h1', {}, 'Compose'),
    ...(contacts.missing ? [h('p', { class: 'error', role: 'alert' }, contacts.missing)] : []),
    h('form', { class: 'card compose', onsubmit: send },
      h('div', { class: 'row' }, field('App', app), field('Send to', recipient), field('Contact', contact),
        field('Channel', channel), field('Identity', identity)),
      h('div', { class: 'row' }, field('Message type', type)),
      h('div', { class: 'row' }, Object.values(fields)),
      field('Generic message (JSON)', json, 'The app_message of messages:send; edit it to send any message type.'),
      h('fieldset', {}, h('legend', {}, 'Preview on'), h('div', { class: 'checks' }, previewBoxes)),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: preview }, 'Preview'),
        h('button', { type: 'submit' }, 'Send')),
      result),
    h('h2', {}, 'How each channel shows it'),
    previews);
  sync();
  await preview();
}
