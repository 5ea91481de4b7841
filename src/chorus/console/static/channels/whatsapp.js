// WhatsApp Cloud API messages as the WhatsApp app draws them: green-tinted bubbles, media
// with captions, reply buttons under the bubble, a list behind one button.
import { bubble, buttons, map, media, unknown } from './parts.js';

export function render(m) {
  switch (m.type) {
    case 'text': return [bubble(m.text.body, 'wa')];
    case 'image': case 'video': case 'audio': case 'document': case 'sticker':
      return [media(m[m.type].link || m[m.type].id, m[m.type].caption, m.type)];
    case 'location':
      return [map(m.location.latitude, m.location.longitude, [m.location.name, m.location.address].filter(Boolean).join(', '))];
    case 'interactive': {
      const i = m.interactive;
      const text = [i.header?.text, i.body?.text, i.footer?.text].filter(Boolean).join('\n');
      const header = i.header && i.header.type !== 'text' ? media(i.header[i.header.type]?.link, null, i.header.type) : null;
      if (i.type === 'button') return [header, bubble(text, 'wa'), buttons(i.action.buttons.map((b) => b.reply.title), 'wa-buttons')];
      if (i.type === 'list') {
        const rows = i.action.sections.flatMap((s) => s.rows.map((r) => r.title));
        return [bubble(text, 'wa'), buttons([`☰ ${i.action.button}`], 'wa-buttons'), buttons(rows, 'list-rows')];
      }
      if (i.type === 'cta_url') return [header, bubble(text, 'wa'), buttons([`↗ ${i.action.parameters.display_text}`], 'wa-buttons')];
      return [bubble(text, 'wa')];
    }
    case 'template': return [bubble(`Template ${m.template.name}`, 'wa')];
    default: return [unknown(m)];
  }
}
