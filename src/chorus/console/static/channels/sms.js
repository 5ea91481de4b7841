// SMS: the text a phone's messaging app shows, in one grey bubble (URLs and numbered
// options are already in the text).
import { bubble } from './parts.js';

export const render = (native) => [bubble(typeof native === 'string' ? native : native.body || '')];
