// Short, human descriptions of generic messages, and status badges.

import { h } from './dom.js';

export function summary(message) {
  const m = message.app_message || message.contact_message || {};
  if (m.text_message) return m.text_message.text;
  if (m.media_message) return `Media: ${m.media_message.url}`;
  if (m.choice_message) return `${m.choice_message.text_message?.text || 'Choice'} [${(m.choice_message.choices || []).length} choices]`;
  if (m.card_message) return `Card: ${m.card_message.title || ''}`;
  if (m.carousel_message) return `Carousel of ${(m.carousel_message.cards || []).length} cards`;
  if (m.location_message) return `Location: ${m.location_message.title || ''}`;
  if (m.list_message) return `List: ${m.list_message.title || ''}`;
  if (m.choice_response_message) return `Chose: ${m.choice_response_message.postback_data}`;
  if (m.fallback_message) return `Fallback: ${m.fallback_message.raw_message || ''}`;
  return Object.keys(m)[0] || '(empty)';
}

export function badge(status) {
  const kind = /FAILED|EXPIRED/.test(status) ? 'bad' : /SWITCHING/.test(status) ? 'warn' : /READ|DELIVERED/.test(status) ? 'good' : '';
  return h('span', { class: `badge ${kind}` }, status);
}
