// Messenger Send API messages as Messenger draws them: blue bubbles, button templates,
// generic templates (cards, a horizontal carousel when several), quick replies below.
import { bubble, buttons, card, carousel, chips, media, unknown } from './parts.js';

const title = (b) => b.title;

export function render(native) {
  const m = native.message;
  if (!m) return [unknown(native)];
  const parts = [];
  if (m.text) parts.push(bubble(m.text, 'fb'));
  const a = m.attachment;
  if (a?.type === 'template') {
    const p = a.payload;
    if (p.template_type === 'button') parts.push(bubble(p.text, 'fb'), buttons(p.buttons.map(title), 'stacked'));
    else if (p.template_type === 'generic') {
      const cards = p.elements.map((e) => ({ title: e.title, description: e.subtitle, image: e.image_url, actions: (e.buttons || []).map(title) }));
      parts.push(cards.length > 1 ? carousel(cards) : card(cards[0]));
    } else parts.push(unknown(p));
  } else if (a) parts.push(media(a.payload?.url, null, a.type));
  parts.push(chips((m.quick_replies || []).map((q) => q.title || q.content_type)));
  return parts;
}
