// Google RBM agent messages as an RCS messaging app draws them: text bubbles, rich cards
// and carousels, suggestion chips below.
import { bubble, card, carousel, chips, media, unknown } from './parts.js';

const label = (s) => (s.reply || s.action).text;
const cardOf = (c) => ({
  title: c.title, description: c.description, image: c.media?.contentInfo?.fileUrl,
  actions: (c.suggestions || []).map(label),
});

export function render(native) {
  const m = native.contentMessage;
  if (!m) return [unknown(native)];
  const parts = [];
  if (m.text) parts.push(bubble(m.text, 'rcs'));
  if (m.contentInfo) parts.push(media(m.contentInfo.fileUrl));
  if (m.uploadedRbmFile) parts.push(media(m.uploadedRbmFile.fileName));
  const rich = m.richCard;
  if (rich?.standaloneCard) parts.push(card(cardOf(rich.standaloneCard.cardContent)));
  if (rich?.carouselCard) parts.push(carousel(rich.carouselCard.cardContents.map(cardOf)));
  parts.push(chips((m.suggestions || []).map(label)));
  return parts;
}
