// The pieces a channel preview is drawn with: bubbles, media, buttons, chips, cards.
// Each channel module composes them the way that channel's app looks.

import { h } from '../dom.js';

export const bubble = (text, extra = '') => h('div', { class: `bubble ${extra}` }, text);

export function media(url, caption, kind = 'image') {
  const name = (url || '').split('/').pop() || url;
  // The file is not fetched (it may be anywhere): a placeholder names its kind and file.
  return h('figure', { class: 'media' },
    h('div', { class: 'media-box', role: 'img', 'aria-label': `${kind} ${name}` }, h('span', { class: 'kind', 'aria-hidden': 'true' }, kind), name),
    caption ? h('figcaption', {}, caption) : null);
}

export const buttons = (labels, extra = '') => (labels.length
  ? h('div', { class: `buttons ${extra}` }, labels.map((l) => h('span', { class: 'button' }, l))) : null);

export const chips = (labels) => (labels.length
  ? h('div', { class: 'chips' }, labels.map((l) => h('span', { class: 'chip' }, l))) : null);

export function card({ title, description, image, actions = [] }) {
  return h('div', { class: 'card-preview' },
    image ? media(image) : null,
    h('div', { class: 'card-body' }, title ? h('strong', {}, title) : null, description ? h('p', {}, description) : null),
    buttons(actions, 'stacked'));
}

export const carousel = (cards) => h('div', { class: 'carousel' }, cards.map(card));

export const map = (lat, lon, label) => h('div', { class: 'map', role: 'img', 'aria-label': `Map at ${lat}, ${lon}` },
  h('span', { class: 'pin', 'aria-hidden': 'true' }), label || `${lat}, ${lon}`, h('small', {}, `${lat}, ${lon}`));

export const unknown = (native) => h('pre', { class: 'json small' }, JSON.stringify(native, null, 2));
