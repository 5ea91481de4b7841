// Viber Bot messages as the Viber app draws them: bubbles, pictures, rich media (a grid
// of image, text and button cells), and the bot keyboard under the conversation.
import { h } from '../dom.js';
import { bubble, buttons, map, media, unknown } from './parts.js';

// Rich-media cell text allows a little HTML: keep line breaks and bold, drop the rest.
function cellText(html) {
  const pieces = (html || '').split(/<br\s*\/?>/i).map((line) => line.replace(/<[^>]+>/g, ''));
  return pieces.flatMap((line, i) => (i ? [h('br'), line] : [line]));
}

function one(m) {
  switch (m.type) {
    case 'text': return [bubble(m.text, 'viber')];
    case 'picture': return [media(m.media, m.text)];
    case 'video': return [media(m.media, null, 'video')];
    case 'file': return [media(m.media, m.file_name, 'file')];
    case 'url': return [bubble(m.media, 'viber')];
    case 'location': return [map(m.location.lat, m.location.lon)];
    case 'rich_media': return [h('div', { class: 'rich-media' }, m.rich_media.Buttons.map((b) => (b.Image
      ? media(b.Image)
      : h('div', { class: b.ActionType === 'none' ? 'cell' : 'cell button' }, cellText(b.Text)))))];
    default: return [unknown(m)];
  }
}

export function render(native) {
  const messages = Array.isArray(native) ? native : [native];
  const parts = messages.flatMap(one);
  const keyboard = messages.flatMap((m) => m.keyboard?.Buttons || []);
  if (keyboard.length) parts.push(h('div', { class: 'keyboard', 'aria-label': 'Bot keyboard' }, buttons(keyboard.map((b) => b.Text))));
  return parts;
}
