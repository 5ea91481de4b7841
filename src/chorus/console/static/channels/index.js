// One renderer per channel: `render(native)` → elements, drawn inside a phone frame.
import { h } from '../dom.js';
import { LABELS } from '../channels.js';
import * as messenger from './messenger.js';
import * as rcs from './rcs.js';
import * as sms from './sms.js';
import * as viber from './viber.js';
import * as viberbm from './viberbm.js';
import * as whatsapp from './whatsapp.js';

const RENDERERS = { SMS: sms, WHATSAPP: whatsapp, RCS: rcs, MESSENGER: messenger, VIBERBM: viberbm, VIBER: viber };

// Elements for one native payload of the channel (null when the channel has no renderer).
export function renderNative(channel, native) {
  const renderer = RENDERERS[channel];
  if (!renderer) return null;
  try { return renderer.render(native).filter(Boolean); } catch { return null; }
}

// `wire` is what messages:transcode returns for the channel: SMS text, else native JSON.
export function phone(channel, wire, error) {
  let body;
  if (error) body = [h('p', { class: 'error' }, error)];
  else {
    let native = wire;
    if (channel !== 'SMS') { try { native = JSON.parse(wire); } catch { /* shown as text */ } }
    body = (RENDERERS[channel]?.render(native) || [h('pre', {}, wire)]).filter(Boolean);
  }
  return h('section', { class: `phone ${channel.toLowerCase()}`, 'aria-label': `${LABELS[channel] || channel} preview`, dataset: { channel } },
    h('header', {}, LABELS[channel] || channel),
    h('div', { class: 'screen' }, h('div', { class: 'incoming' }, body)),
    error ? null : h('details', {}, h('summary', {}, 'Native payload'), h('pre', { class: 'json small' }, typeof wire === 'string' ? wire : JSON.stringify(wire, null, 2))));
}
