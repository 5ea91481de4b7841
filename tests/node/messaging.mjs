// Sends every generic message type over SMS through the official Sinch Node.js SDK
// (@sinch/sdk-core 1.4.0 / @sinch/conversation 1.4.0) to chorus's simulated handsets, and
// checks issue 3's "Done when" from a Node developer's side (shared/spec/API.md Part B):
//
// - MESSAGE_SUBMIT, then MESSAGE_DELIVERY QUEUED_ON_CHANNEL, then DELIVERED arrive at a
//   webhook receiver run by this script, in that order, and the SDK's own validator
//   (ConversationCallbackWebhooks.validateAuthenticationHeader) accepts every signature,
//   on the raw body and on the parsed object; parseEvent recognises each callback;
// - the handset's inbox shows the SMS rendering of each message;
// - a handset reply arrives as MESSAGE_INBOUND on the same contact and conversation, and a
//   reply naming an option ("2") arrives as a choice_response_message with its postback_data;
// - an unreachable handset yields FAILED with RECIPIENT_NOT_REACHABLE;
// - the messages store through the SDK: list (paged), get, update, delete (the SDK adds
//   messages_source=CONVERSATION_SOURCE), listLastMessagesByChannelIdentity.
//
// SMS has no read receipts (shared/spec/CHANNELS.md part 1 §1.7), so DELIVERED is final.
//
// Environment: CHORUS_URL, CHORUS_PROJECT_ID, CHORUS_KEY_ID, CHORUS_KEY_SECRET.
// Exit code 0 and "all checks passed" on success; 1 with the failed assertion otherwise.

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:http';
import { ConversationCallbackWebhooks } from '@sinch/sdk-core';
import { chorusClient, collect, simulator } from './support.mjs';

const RUN = randomBytes(4).toString('hex');
const SECRET = `node-secret-${RUN}`;
const sinch = chorusClient();
const { app: appApi, webhooks: webhookApi, messages: messagesApi } = sinch.conversation;
const validator = new ConversationCallbackWebhooks(SECRET);

// ---------------------------------------------------------------- helpers

const msisdn = () => `4670${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Polls `read()` until it returns something truthy; fails after `seconds`. */
async function waitFor(read, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// The webhook receiver: every request, with lower-case header names and the raw body.
const received = [];
const receiver = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    received.push({
      path: request.url,
      headers: Object.fromEntries(Object.entries(request.headers)),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
});
// On the port the Python side picked: one no earlier receiver of the run had (a server
// remembers which webhook origins stopped answering).
const receiverPort = Number(process.env.CHORUS_TEST_RECEIVER_PORT || 0);
await new Promise((resolve) => { receiver.listen(receiverPort, '127.0.0.1', resolve); });
const hookUrl = (path) => `http://127.0.0.1:${receiver.address().port}${path}`;

const bodiesAt = (path) => received.filter((r) => r.path === path);
const aboutMessage = (path, messageId) => bodiesAt(path).filter((r) => {
  const body = JSON.parse(r.body);
  return (body.message_delivery_report ?? body.message_submit_notification)?.message_id === messageId;
});
const historyOf = (path, messageId) => aboutMessage(path, messageId).map((r) => {
  const body = JSON.parse(r.body);
  return body.message_submit_notification ? 'SUBMIT' : body.message_delivery_report.status;
});

async function waitForStatus(path, messageId, status) {
  return waitFor(
    () => aboutMessage(path, messageId)
      .map((r) => JSON.parse(r.body))
      .find((b) => b.message_delivery_report?.status === status),
    `${status} for ${messageId} (so far ${historyOf(path, messageId)})`,
  );
}

/** Both forms the Node validator takes, for the right secret and a wrong one. */
function assertSignedForNode(request) {
  assert.equal(validator.validateAuthenticationHeader(request.headers, request.body, '/h', 'POST'), true,
    `the Node validator must accept the raw body: ${request.body}`);
  assert.equal(
    validator.validateAuthenticationHeader(request.headers, JSON.parse(request.body), '/h', 'POST'), true,
    `the Node validator must accept the parsed body: ${request.body}`,
  );
  const wrong = new ConversationCallbackWebhooks('wrong-secret');
  assert.equal(wrong.validateAuthenticationHeader(request.headers, request.body, '/h', 'POST'), false);
}

async function handsetTexts(number) {
  const { status, body } = await simulator('GET', `/handsets/sms/${number}`);
  if (status === 404) return [];
  assert.equal(status, 200);
  return body.inbox.filter((entry) => entry.direction === 'received').map((entry) => entry.text);
}

async function handsetWrites(number, appId, said) {
  const { status, body } = await simulator('POST', `/handsets/sms/${number}/messages`,
    { app_id: appId, text_message: { text: said } });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.status_code, 200, `chorus must accept the mo_text: ${JSON.stringify(body)}`);
}

const cleanup = [];

async function smsAppWithHook(label) {
  const app = await appApi.create({
    appCreateRequestBody: {
      display_name: `node-messaging-${RUN}-${label}`,
      channel_credentials: [{
        channel: 'SMS',
        static_bearer: { claimed_identity: `plan${RUN}${label}`, token: `tok-${RUN}` },
      }],
    },
  });
  cleanup.push(() => appApi.delete({ app_id: app.id }));
  const path = `/${app.id}`;
  await webhookApi.create({
    webhookCreateRequestBody: {
      app_id: app.id,
      target: hookUrl(path),
      secret: SECRET,
      triggers: ['MESSAGE_SUBMIT', 'MESSAGE_DELIVERY', 'MESSAGE_INBOUND'],
    },
  });
  return { appId: app.id, path };
}

const toSms = (number) => ({ identified_by: { channel_identities: [{ channel: 'SMS', identity: number }] } });

// kind → [SDK method, message, what the handset shows] (shared/spec/CHANNELS.md part 1 §1.4)
const GENERIC = {
  text: ['sendTextMessage', { text_message: { text: 'Hello from Node' } }, 'Hello from Node'],
  media: ['sendMediaMessage', { media_message: { url: 'https://cdn.example.com/a.png' } },
    'https://cdn.example.com/a.png'],
  choice: ['sendChoiceMessage', {
    choice_message: {
      text_message: { text: 'Pick one' },
      choices: [
        { text_message: { text: 'Tea' }, postback_data: 'tea' },
        { text_message: { text: 'Coffee' }, postback_data: 'coffee' },
        { url_message: { title: 'Menu', url: 'https://cafe.example.com' } },
      ],
    },
  }, 'Pick one\n1. Tea\n2. Coffee\n3. Menu: https://cafe.example.com'],
  card: ['sendCardMessage', {
    card_message: {
      title: 'Spring sale',
      description: 'All shoes 20% off',
      media_message: { url: 'https://cdn.example.com/shoes.jpg' },
      choices: [{ text_message: { text: 'Remind me' }, postback_data: 'remind' }],
    },
  }, 'Spring sale\nAll shoes 20% off\nhttps://cdn.example.com/shoes.jpg\n1. Remind me'],
  carousel: ['sendCarouselMessage', {
    carousel_message: {
      cards: [
        { title: 'Red', choices: [{ text_message: { text: 'Buy red' } }] },
        { title: 'Blue', choices: [{ text_message: { text: 'Buy blue' } }] },
      ],
    },
  }, 'Red\n1. Buy red\n\nBlue\n2. Buy blue'],
  location: ['sendLocationMessage', {
    location_message: { coordinates: { latitude: 55.6761, longitude: 12.5683 }, title: 'Shop' },
  }, 'Shop\nhttps://maps.google.com/?q=55.6761,12.5683'],
  contactInfo: ['sendContactInfoMessage', {
    contact_info_message: {
      name: { full_name: 'Grace Hopper' },
      phone_numbers: [{ phone_number: '+46700000002', type: 'HOME' }],
    },
  }, 'Grace Hopper\nTel (HOME): +46700000002'],
  list: ['sendListMessage', {
    list_message: {
      title: 'Sizes',
      sections: [{ title: 'All', items: [{ choice: { title: 'S' } }, { choice: { title: 'M', description: 'medium' } }] }],
    },
  }, 'Sizes\nAll\n1. S\n2. M – medium'],
};

// ---------------------------------------------------------------- checks

async function everyGenericTypeIsDeliveredWithSignedCallbacks() {
  const { appId, path } = await smsAppWithHook('types');
  for (const [kind, [method, message, rendered]] of Object.entries(GENERIC)) {
    const number = msisdn();
    const sent = await messagesApi[method]({
      sendMessageRequestBody: {
        app_id: appId,
        recipient: toSms(number),
        message,
        message_metadata: `node-${kind}`,
        correlation_id: `corr-${kind}`,
      },
    });
    assert.match(sent.message_id, /^[0-9A-HJKMNP-TV-Z]{26}$/, `${kind}: message id`);
    await waitForStatus(path, sent.message_id, 'DELIVERED');
    assert.deepEqual(historyOf(path, sent.message_id), ['SUBMIT', 'QUEUED_ON_CHANNEL', 'DELIVERED'],
      `${kind}: callbacks in order`);
    for (const request of aboutMessage(path, sent.message_id)) {
      assertSignedForNode(request);
      const event = validator.parseEvent(JSON.parse(request.body));
      assert.ok(['MESSAGE_SUBMIT', 'MESSAGE_DELIVERY'].includes(event.trigger), `${kind}: trigger ${event.trigger}`);
      assert.equal(event.message_metadata, `node-${kind}`, `${kind}: envelope message_metadata`);
      assert.equal(event.correlation_id, `corr-${kind}`, `${kind}: envelope correlation_id`);
    }
    const texts = await waitFor(async () => {
      const found = await handsetTexts(number);
      return found.length ? found : null;
    }, `${kind} on the handset`);
    assert.deepEqual(texts, [rendered], `${kind}: what the handset shows`);
  }
}

async function repliesArriveOnTheSameConversation() {
  const { appId, path } = await smsAppWithHook('reply');
  const number = msisdn();
  const [, choice] = GENERIC.choice;
  const sent = await messagesApi.sendChoiceMessage({
    sendMessageRequestBody: { app_id: appId, recipient: toSms(number), message: choice },
  });
  const delivered = await waitForStatus(path, sent.message_id, 'DELIVERED');
  const { contact_id: contactId, conversation_id: conversationId } = delivered.message_delivery_report;

  const inbound = () => bodiesAt(path).filter((r) => JSON.parse(r.body).message);
  await handsetWrites(number, appId, '2');
  const [choiceReply] = await waitFor(() => (inbound().length >= 1 ? inbound() : null), 'the choice reply');
  assertSignedForNode(choiceReply);
  const choiceEvent = validator.parseEvent(JSON.parse(choiceReply.body));
  assert.equal(choiceEvent.trigger, 'MESSAGE_INBOUND');
  assert.deepEqual(choiceEvent.message.contact_message, {
    choice_response_message: { message_id: sent.message_id, postback_data: 'coffee' },
  });
  assert.equal(choiceEvent.message.contact_id, contactId);
  assert.equal(choiceEvent.message.conversation_id, conversationId);

  await handsetWrites(number, appId, 'See you soon');
  const [, textReply] = await waitFor(() => (inbound().length >= 2 ? inbound() : null), 'the text reply');
  assertSignedForNode(textReply);
  const { message } = JSON.parse(textReply.body);
  assert.deepEqual(message.contact_message, { text_message: { text: 'See you soon' } });
  assert.equal(message.contact_id, contactId, 'the reply is on the same contact');
  assert.equal(message.conversation_id, conversationId, 'the reply is on the same conversation');
  assert.equal(message.channel_identity.identity, number);
  return { appId, number, outbound: sent.message_id, inbound: [choiceEvent.message.id, message.id], conversationId };
}

async function unreachableHandsetFails() {
  const { appId, path } = await smsAppWithHook('unreachable');
  const number = msisdn();
  const patched = await simulator('PATCH', `/handsets/sms/${number}`, { reachable: false });
  assert.equal(patched.status, 200);
  const sent = await messagesApi.sendTextMessage({
    sendMessageRequestBody: { app_id: appId, recipient: toSms(number), message: { text_message: { text: 'hello?' } } },
  });
  const failed = await waitForStatus(path, sent.message_id, 'FAILED');
  assert.equal(failed.message_delivery_report.reason.code, 'RECIPIENT_NOT_REACHABLE');
  assert.deepEqual(historyOf(path, sent.message_id), ['SUBMIT', 'QUEUED_ON_CHANNEL', 'FAILED']);
  aboutMessage(path, sent.message_id).forEach(assertSignedForNode);
}

async function theMessageStore({ appId, number, outbound, inbound, conversationId }) {
  // list: newest first, across pages of 2 (the SDK follows next_page_token).
  const listed = await collect(messagesApi.list({ app_id: appId, page_size: 2 }));
  assert.deepEqual(listed.map((m) => m.id), [inbound[1], inbound[0], outbound], 'list, newest first');
  const toApp = await collect(messagesApi.list({ conversation_id: conversationId, direction: 'TO_APP' }));
  assert.deepEqual(toApp.map((m) => m.id), [inbound[1], inbound[0]]);
  const byIdentity = await collect(messagesApi.list({ channel_identity: number, only_recipient_originated: true }));
  assert.deepEqual(byIdentity.map((m) => m.id), [inbound[1], inbound[0]]);

  const got = await messagesApi.get({ message_id: outbound });
  assert.equal(got.id, outbound);
  assert.equal(got.direction, 'TO_CONTACT');
  assert.ok(got.app_message.choice_message, 'get echoes the app message');
  assert.equal(got.channel_identity.channel, 'SMS');

  const updated = await messagesApi.update({ message_id: outbound, updateMessageRequestBody: { metadata: 'node-updated' } });
  assert.equal(updated.metadata, 'node-updated');
  assert.equal((await messagesApi.get({ message_id: outbound })).metadata, 'node-updated');

  const last = await collect(messagesApi.listLastMessagesByChannelIdentity({
    listLastMessagesByChannelIdentityRequestBody: {
      channel_identities: [number], app_id: appId, messages_source: 'CONVERSATION_SOURCE',
    },
  }));
  assert.deepEqual(last.map((m) => m.id), [inbound[1]], 'the last message of the identity');

  assert.deepEqual(await messagesApi.delete({ message_id: inbound[1] }), {}, 'delete answers {}');
  let error;
  try {
    await messagesApi.get({ message_id: inbound[1] });
  } catch (e) {
    error = e;
  }
  assert.equal(error?.statusCode, 404, 'a deleted message is gone');
  const after = await collect(messagesApi.list({ app_id: appId }));
  assert.deepEqual(after.map((m) => m.id), [inbound[0], outbound]);
}

try {
  await everyGenericTypeIsDeliveredWithSignedCallbacks();
  const conversation = await repliesArriveOnTheSameConversation();
  await unreachableHandsetFails();
  await theMessageStore(conversation);
  console.log('all checks passed');
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  for (const undo of cleanup.reverse()) {
    try {
      await undo();
    } catch {
      // best effort
    }
  }
  receiver.close();
}
