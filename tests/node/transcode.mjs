// messages:transcode through the official Node SDK (sinchClient.conversation.transcoding):
// one generic choice message, rendered for every seed channel by the transcoders that
// dispatch uses. Reads CHORUS_URL, CHORUS_PROJECT_ID, CHORUS_KEY_ID, CHORUS_KEY_SECRET and
// CHORUS_APP_ID; prints "all checks passed" on success.
import assert from 'node:assert/strict';
import { chorusClient, env } from './support.mjs';

const sinch = chorusClient();

const channels = ['SMS', 'WHATSAPP', 'RCS', 'MESSENGER', 'VIBERBM', 'VIBER'];
const result = await sinch.conversation.transcoding.transcodeMessage({
  transcodeMessageRequestBody: {
    app_id: env('CHORUS_APP_ID'),
    app_message: {
      choice_message: {
        text_message: { text: 'Do you want the newsletter?' },
        choices: [
          { text_message: { text: 'Yes' }, postback_data: 'yes' },
          { text_message: { text: 'No' }, postback_data: 'no' },
        ],
      },
    },
    channels,
    to: '46700000001',
  },
});

const rendered = result.transcoded_message;
assert.deepEqual(Object.keys(rendered).sort(), [...channels].sort());
assert.equal(rendered.SMS, 'Do you want the newsletter?\n1. Yes\n2. No');
for (const channel of channels.filter((c) => c !== 'SMS')) {
  const native = JSON.parse(rendered[channel]);
  assert.ok(JSON.stringify(native).includes('Do you want the newsletter?'), `${channel}: ${rendered[channel]}`);
  assert.ok(JSON.stringify(native).includes('Yes'), `${channel} shows the choices`);
}
console.log(`transcoded for ${channels.join(', ')}`);
console.log('all checks passed');
