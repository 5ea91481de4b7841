// Viber Business Messages as the Viber app draws them: a purple-tinted bubble with an
// optional image and one action button.
import { bubble, buttons, media, unknown } from './parts.js';

export function render(m) {
  const parts = [];
  if (m.image_url || m.image) parts.push(media(m.image_url || m.image?.url));
  if (m.video_url || m.video) parts.push(media(m.video_url || m.video?.url, null, 'video'));
  if (m.file_url || m.file) parts.push(media(m.file_url || m.file?.url, m.file_name, 'file'));
  const text = m.text || m.caption;
  if (text) parts.push(bubble(text, 'viber'));
  if (m.button_title || m.action_button) parts.push(buttons([m.button_title || m.action_button?.caption], 'stacked'));
  return parts.length ? parts : [unknown(m)];
}
