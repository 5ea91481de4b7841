// Templates v1 and v2 through the official Node SDK (sinchClient.conversation.templatesV1 /
// templatesV2), with conversationTemplatesHostname pointed at chorus (API.md Part B §7.1):
// create, get, list, update (v1 PATCH with update_mask, v2 PUT with the version check),
// listTranslations with its filters, delete. Reads CHORUS_URL, CHORUS_PROJECT_ID,
// CHORUS_KEY_ID, CHORUS_KEY_SECRET; prints "all checks passed" on success.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chorusClient, expectHttpError } from './support.mjs';

const sinch = chorusClient();
const { templatesV1, templatesV2 } = sinch.conversation;

const suffix = randomUUID().slice(0, 8);

// ---------------------------------------------------------------- v1

const v1Id = `node-v1-${suffix}`;
const created1 = await templatesV1.create({
  createTemplateRequestBody: {
    id: v1Id,
    description: 'Order ready',
    channel: 'CONVERSATION',
    default_translation: 'en-US',
    translations: [{
      language_code: 'en-US',
      version: '1',
      content: JSON.stringify({ text_message: { text: 'Hello ${name}' } }),
      variables: [{ key: 'name', preview_value: 'Ann' }],
    }],
  },
});
assert.equal(created1.id, v1Id);
assert.equal(created1.channel, 'CONVERSATION');
assert.equal(created1.translations[0].variables[0].key, 'name');
assert.ok(created1.create_time, 'create_time is set');

const got1 = await templatesV1.get({ template_id: v1Id });
assert.equal(got1.description, 'Order ready');
const list1 = await templatesV1.list({});
assert.ok(list1.templates.some((t) => t.id === v1Id), 'v1 list holds the template');

const updated1 = await templatesV1.update({
  template_id: v1Id,
  update_mask: ['description', 'default_translation', 'translations'],
  updateTemplateRequestBody: {
    description: 'Order shipped',
    channel: 'SMS', // not in the mask: unchanged
    default_translation: 'sv-SE',
    translations: [{
      language_code: 'sv-SE',
      version: '1',
      content: JSON.stringify({ text_message: { text: 'Hej ${name}' } }),
      variables: [{ key: 'name', preview_value: 'Bo' }],
    }],
  },
});
assert.equal(updated1.description, 'Order shipped');
assert.equal(updated1.channel, 'CONVERSATION');
assert.equal(updated1.default_translation, 'sv-SE');
assert.deepEqual(updated1.translations.map((t) => t.language_code), ['sv-SE']);

const invalid = await expectHttpError('v1 bad default', 400, 'INVALID_ARGUMENT', () => templatesV1.update({
  template_id: v1Id,
  update_mask: ['default_translation'],
  updateTemplateRequestBody: { default_translation: 'de-DE' },
}));
assert.ok(JSON.stringify(invalid.error.details).includes('default_translation'));
await expectHttpError('v1 duplicate', 409, 'ALREADY_EXISTS', () => templatesV1.create({
  createTemplateRequestBody: { id: v1Id, channel: 'CONVERSATION' },
}));

await templatesV1.delete({ template_id: v1Id });
await expectHttpError('v1 deleted', 404, 'NOT_FOUND', () => templatesV1.get({ template_id: v1Id }));
console.log('templatesV1: create, get, list, update, delete');

// ---------------------------------------------------------------- v2

const v2Id = `node-v2-${suffix}`;
const created2 = await templatesV2.create({
  createTemplateRequestBody: {
    id: v2Id,
    description: 'Greeting',
    version: 5, // ignored: a new template is version 1
    default_translation: 'en-US',
    translations: [
      {
        language_code: 'en-US',
        text_message: { text: 'Hi ${name}' },
        variables: [{ key: 'name', preview_value: 'Ann' }],
        channel_template_overrides: {
          WHATSAPP: {
            template_reference: { template_id: 'greeting_wa', language_code: 'en_US' },
            parameter_mappings: { 'body[1]text': 'name' },
          },
        },
      },
      {
        language_code: 'sv-SE',
        card_message: { title: 'Hej', description: 'kort' },
      },
    ],
  },
});
assert.equal(created2.id, v2Id);
assert.equal(created2.version, 1);
assert.deepEqual(created2.translations.map((t) => [t.language_code, t.version]), [['en-US', '1'], ['sv-SE', '1']]);
assert.equal(created2.translations[0].channel_template_overrides.WHATSAPP.template_reference.template_id, 'greeting_wa');

const got2 = await templatesV2.get({ template_id: v2Id });
assert.equal(got2.translations[1].card_message.title, 'Hej');
const list2 = await templatesV2.list({});
assert.ok(list2.templates.some((t) => t.id === v2Id), 'v2 list holds the template');

await expectHttpError('v2 stale version', 400, 'FAILED_PRECONDITION', () => templatesV2.update({
  template_id: v2Id,
  updateTemplateRequestBody: {
    version: 3,
    default_translation: 'en-US',
    translations: [{ language_code: 'en-US', text_message: { text: 'Hello' } }],
  },
}));
const updated2 = await templatesV2.update({
  template_id: v2Id,
  updateTemplateRequestBody: {
    description: 'Greeting, changed',
    version: 1,
    default_translation: 'en-US',
    translations: [
      {
        language_code: 'en-US',
        text_message: { text: 'Hello ${name}' },
        variables: [{ key: 'name', preview_value: 'Ann' }],
      },
      { language_code: 'sv-SE', card_message: { title: 'Hej', description: 'kort' } },
    ],
  },
});
assert.equal(updated2.version, 2);
assert.equal(updated2.description, 'Greeting, changed');
assert.deepEqual(updated2.translations.map((t) => [t.language_code, t.version]), [['en-US', '2'], ['sv-SE', '1']]);

const all = await templatesV2.listTranslations({ template_id: v2Id });
assert.deepEqual(
  all.translations.map((t) => `${t.language_code}@${t.version}`).sort(),
  ['en-US@1', 'en-US@2', 'sv-SE@1'],
);
const english = await templatesV2.listTranslations({ template_id: v2Id, language_code: 'en_US' });
assert.equal(english.translations.length, 2);
const latest = await templatesV2.listTranslations({ template_id: v2Id, translation_version: 'latest' });
assert.deepEqual(latest.translations.map((t) => `${t.language_code}@${t.version}`).sort(), ['en-US@2', 'sv-SE@1']);
const first = await templatesV2.listTranslations({
  template_id: v2Id, language_code: 'en-US', translation_version: '1',
});
assert.deepEqual(first.translations.map((t) => t.text_message.text), ['Hi ${name}']);

await expectHttpError('v2 bad content', 400, 'INVALID_ARGUMENT', () => templatesV2.create({
  createTemplateRequestBody: {
    default_translation: 'en-US',
    translations: [{ language_code: 'en-US', text_message: {} }],
  },
}));
await templatesV2.delete({ template_id: v2Id });
await expectHttpError('v2 deleted', 404, 'NOT_FOUND', () => templatesV2.get({ template_id: v2Id }));
console.log('templatesV2: create, get, list, update, listTranslations, delete');
console.log('all checks passed');
