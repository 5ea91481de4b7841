// The conversation methods of the official Node.js SDK (@sinch/sdk-core 1.4.0) that the
// management and messaging scripts leave out: injectMessage, injectEvent, listRecent (paged
// with `for await`), contact.getChannelProfile on Messenger, and the events API there
// (sendComposingEvent, sendComposingEndEvent, get, list, delete), and sendTemplateMessage of a
// v2 template to an SMS handset (API.md Part A §4.5, §5.4, §5.6, §5.7; Part B §4, §7.4).
//
// Environment: CHORUS_URL, CHORUS_PROJECT_ID, CHORUS_KEY_ID, CHORUS_KEY_SECRET.
// Exit code 0 and "all checks passed" on success.

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { chorusClient, collect, expectHttpError, simulator, ULID } from './support.mjs';

const RUN = randomBytes(4).toString('hex');
const sinch = chorusClient();
const { app: appApi, contact: contactApi, conversation: conversationApi, messages: messagesApi,
  events: eventsApi, templatesV2 } = sinch.conversation;

const msisdn = () => `4670${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const minutesAgo = (minutes) => new Date(Date.now() - minutes * 60_000).toISOString();

async function smsApp() {
  return appApi.create({
    appCreateRequestBody: {
      display_name: `node-${RUN}-conversations`,
      channel_credentials: [{
        channel: 'SMS', static_bearer: { claimed_identity: msisdn(), token: `tok-${RUN}` },
      }],
    },
  });
}

// ---------------------------------------------------------------- inject, list recent

async function injectedHistory() {
  const app = await smsApp();
  const conversations = [];
  for (const label of ['older', 'newer']) {
    const number = msisdn();
    const contact = await contactApi.create({
      contactCreateRequestBody: {
        language: 'EN_US',
        display_name: `node-${RUN}-${label}`,
        channel_identities: [{ channel: 'SMS', identity: number }],
      },
    });
    const conversation = await conversationApi.create({
      createConversationRequestBody: { app_id: app.id, contact_id: contact.id },
    });
    conversations.push({ conversation, contact, number });
  }

  // History imported from elsewhere: an app message and the contact's answer, in the past.
  const [older, newer] = conversations;
  for (const [{ conversation, contact, number }, minutes] of [[older, 50], [newer, 10]]) {
    const sent = await conversationApi.injectMessage({
      conversation_id: conversation.id,
      injectMessageRequestBody: {
        app_message: { text_message: { text: `imported ${minutes}` } },
        accept_time: minutesAgo(minutes + 1),
        channel_identity: { channel: 'SMS', identity: number },
        contact_id: contact.id,
        direction: 'TO_CONTACT',
        metadata: `run-${RUN}`,
      },
    });
    assert.deepEqual(sent, {}, 'injectMessage answers {}');
    await conversationApi.injectMessage({
      conversation_id: conversation.id,
      injectMessageRequestBody: {
        contact_message: { text_message: { text: `answer ${minutes}` } },
        accept_time: minutesAgo(minutes),
        channel_identity: { channel: 'SMS', identity: number },
        contact_id: contact.id,
        direction: 'TO_APP',
        conversation_id: conversation.id,
      },
    });
  }

  const stored = await collect(messagesApi.list({ conversation_id: older.conversation.id }));
  assert.equal(stored.length, 2, 'both injected messages are stored');
  assert.ok(stored.every((m) => m.injected === true), 'stored as injected');
  const imported = stored.find((m) => m.direction === 'TO_CONTACT');
  assert.deepEqual(imported.app_message?.text_message, { text: 'imported 50' });
  assert.equal(imported.metadata, `run-${RUN}`);
  assert.deepEqual(stored.find((m) => m.direction === 'TO_APP').contact_message,
    { text_message: { text: 'answer 50' } });

  // A direction that does not match the message is refused with the field named.
  const refused = await expectHttpError('injectMessage with a mismatched direction', 400,
    'INVALID_ARGUMENT', () => conversationApi.injectMessage({
      conversation_id: older.conversation.id,
      injectMessageRequestBody: {
        app_message: { text_message: { text: 'wrong way' } },
        accept_time: minutesAgo(1),
        channel_identity: { channel: 'SMS', identity: older.number },
        contact_id: older.contact.id,
        direction: 'TO_APP',
      },
    }));
  assert.match(refused.error.message, /direction/);

  const event = await conversationApi.injectEvent({
    conversation_id: newer.conversation.id,
    injectConversationEventRequestBody: {
      app_event: { composing_event: {} },
      accept_time: minutesAgo(5),
      contact_id: newer.contact.id,
      channel_identity: { channel: 'SMS', identity: newer.number },
    },
  });
  assert.match(event.event_id, ULID, 'injectEvent answers the event id');
  assert.ok(!Number.isNaN(Date.parse(event.accepted_time)), 'and when it was accepted');
  const listed = await collect(eventsApi.list({ conversation_id: newer.conversation.id }));
  assert.deepEqual(listed.map((e) => e.id), [event.event_id], 'the event is in the history');

  // Newest last message first (the default), one conversation a page; ASC the other way.
  const recent = await collect(conversationApi.listRecent({ app_id: app.id, page_size: 1 }));
  assert.deepEqual(recent.map((r) => r.conversation.id),
    [newer.conversation.id, older.conversation.id], 'listRecent: newest first, every page');
  assert.deepEqual(recent[0].last_message.contact_message, { text_message: { text: 'answer 10' } },
    'each with its last message');
  assert.equal(recent[0].last_message.conversation_id, newer.conversation.id);
  const ascending = await collect(conversationApi.listRecent({ app_id: app.id, order: 'ASC' }));
  assert.deepEqual(ascending.map((r) => r.conversation.id),
    [older.conversation.id, newer.conversation.id], 'listRecent order ASC');

  await appApi.delete({ app_id: app.id });
}

// ---------------------------------------------------------------- channel profile

async function channelProfile() {
  const app = await appApi.create({
    appCreateRequestBody: {
      display_name: `node-${RUN}-messenger`,
      channel_credentials: [{
        channel: 'MESSENGER', static_token: { token: `page-${RUN}` }, callback_secret: 's',
      }],
    },
  });
  const psid = String(randomInt(10 ** 9, 2 ** 47));
  const byIdentity = {
    app_id: app.id,
    channel: 'MESSENGER',
    recipient: { identified_by: { channel_identities: [{ channel: 'MESSENGER', identity: psid }] } },
  };
  // The Graph API knows only people who wrote to the Page.
  await expectHttpError('getChannelProfile of a stranger', 404, 'NOT_FOUND',
    () => contactApi.getChannelProfile({ getChannelProfileRequestBody: byIdentity }));

  const wrote = await simulator('POST', `/handsets/messenger/${psid}/messages`,
    { app_id: app.id, text_message: { text: 'hello' } });
  assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
  assert.equal(wrote.body.status_code, 200, JSON.stringify(wrote.body));

  const profile = await contactApi.getChannelProfile({ getChannelProfileRequestBody: byIdentity });
  assert.deepEqual(profile, { profile_name: 'Simulated user' });

  // The contact the message created, by its id: the same profile.
  let contactId;
  for (let tries = 0; tries < 300 && !contactId; tries += 1) {
    const found = await collect(contactApi.list({ channel: 'MESSENGER', identity: psid }));
    contactId = found[0]?.id;
    if (!contactId) await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  assert.ok(contactId, 'the inbound message created a contact');
  const byContact = await contactApi.getChannelProfile({
    getChannelProfileRequestBody: { app_id: app.id, channel: 'MESSENGER', recipient: { contact_id: contactId } },
  });
  assert.deepEqual(byContact, { profile_name: 'Simulated user' });

  await expectHttpError('getChannelProfile on SMS', 400, 'INVALID_ARGUMENT',
    () => contactApi.getChannelProfile({ getChannelProfileRequestBody: { ...byIdentity, channel: 'SMS' } }));

  await eventsOverMessenger(app.id, psid, contactId);
  await appApi.delete({ app_id: app.id });
}

// ---------------------------------------------------------------- events

async function eventsOverMessenger(appId, psid, contactId) {
  const recipient = { contact_id: contactId };
  const typing = await eventsApi.sendComposingEvent({
    sendEventRequestBody: { app_id: appId, recipient, event: { composing_event: {} } },
  });
  assert.match(typing.event_id, ULID, 'sendComposingEvent answers the event id');
  const stopped = await eventsApi.sendComposingEndEvent({
    sendEventRequestBody: { app_id: appId, recipient, event: { composing_end_event: {} } },
  });

  // The Page sends both indicators (events are dispatched concurrently, as messages are:
  // two sends in a row may reach the channel in either order).
  let actions = [];
  for (let tries = 0; tries < 300 && actions.length < 2; tries += 1) {
    const { body } = await simulator('GET', `/handsets/messenger/${psid}`);
    actions = (body.inbox ?? []).map((entry) => entry.request?.sender_action).filter(Boolean);
    if (actions.length < 2) await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  assert.deepEqual(actions.sort(), ['typing_off', 'typing_on'], 'the Page sent both sender actions');

  const stored = await eventsApi.get({ event_id: typing.event_id });
  assert.equal(stored.id, typing.event_id);
  assert.equal(stored.direction, 'TO_CONTACT');
  assert.deepEqual(stored.app_event, { composing_event: {} });
  assert.equal(stored.contact_id, contactId);
  assert.equal(stored.channel_identity?.channel, 'MESSENGER');

  const listed = await collect(eventsApi.list({ contact_id: contactId, page_size: 1 }));
  assert.deepEqual(listed.map((e) => e.id).sort(), [typing.event_id, stopped.event_id].sort(),
    'events.list pages through both');
  assert.deepEqual(await eventsApi.delete({ event_id: typing.event_id }), {}, 'delete answers {}');
  await expectHttpError('a deleted event', 404, 'NOT_FOUND',
    () => eventsApi.get({ event_id: typing.event_id }));
}

// ---------------------------------------------------------------- template message

async function templateMessageOverSms() {
  const app = await smsApp();
  const templateId = `node-${RUN}-code`;
  await templatesV2.create({
    createTemplateRequestBody: {
      id: templateId,
      description: 'One-time code',
      default_translation: 'en-US',
      translations: [{
        language_code: 'en-US',
        text_message: { text: 'Your code is ${code}' },
        variables: [{ key: 'code', preview_value: '0000' }],
      }],
    },
  });
  const number = msisdn();
  const sent = await messagesApi.sendTemplateMessage({
    sendMessageRequestBody: {
      app_id: app.id,
      recipient: { identified_by: { channel_identities: [{ channel: 'SMS', identity: number }] } },
      message: {
        template_message: {
          omni_template: {
            template_id: templateId, version: '1', language_code: 'en-US', parameters: { code: '4711' },
          },
        },
      },
    },
  });
  assert.match(sent.message_id, ULID, 'sendTemplateMessage answers the message id');
  let texts = [];
  for (let tries = 0; tries < 300 && !texts.length; tries += 1) {
    const { status, body } = await simulator('GET', `/handsets/sms/${number}`);
    texts = status === 200 ? (body.inbox ?? []).map((entry) => entry.text) : [];
    if (!texts.length) await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
  assert.deepEqual(texts, ['Your code is 4711'], 'the handset shows the filled-in template');
  await templatesV2.delete({ template_id: templateId });
  await appApi.delete({ app_id: app.id });
}

await injectedHistory();
await channelProfile();
await templateMessageOverSms();
console.log('all checks passed');
