// Drives a running chorus server through the official Sinch Node.js SDK
// (@sinch/sdk-core 1.4.0 / @sinch/conversation 1.4.0) and asserts the management
// lifecycle of apps, webhooks, contacts and conversations (shared/spec/API.md Part A).
//
// Environment: CHORUS_URL (e.g. http://127.0.0.1:8765), CHORUS_PROJECT_ID,
// CHORUS_KEY_ID, CHORUS_KEY_SECRET. Optional: CHORUS_NODE_DEBUG=1 logs to stderr each
// request the SDK prepares (first page only for paged lists) and each non-2xx response.
//
// Every name, identity and external id is fresh per run, so the script can run again
// and again against the same server. Exit code 0 on success; on failure the assertion
// message is printed and the exit code is 1.

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import {
  baseUrl, chorusClient, collect, env, expectHttpError, pageSizes, ULID, URL_SAFE_TOKEN,
} from './support.mjs';

const projectId = env('CHORUS_PROJECT_ID');
const RUN = randomBytes(4).toString('hex');
const HOOK_TARGET = 'http://127.0.0.1:9/hook';

// Logs what the SDK is about to send. Request plugins run once per call; the SDK
// re-sends the prepared options for page 2+ of a paged list without re-running them.
const debugPlugin = {
  getName: () => 'ChorusDebugRequest',
  load: () => ({
    transform: (opts) => {
      const query = Object.entries(opts.queryParams ?? {})
        .map(([k, v]) => `${k}=${JSON.parse(v)}`).join('&');
      console.error(`[sdk] ${opts.method} ${opts.hostname}${query ? `?${query}` : ''}`
        + `${opts.body ? ` body=${opts.body}` : ''}`);
      return opts;
    },
  }),
};

const sinch = chorusClient(process.env.CHORUS_NODE_DEBUG ? { requestPlugins: [debugPlugin] } : {});
const { app: appApi, webhooks: webhookApi, contact: contactApi, conversation: conversationApi } = sinch.conversation;

// ---------------------------------------------------------------- helpers

/** A fresh Swedish-looking MSISDN (digits only, no '+'). */
const msisdn = () => `4670${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

const ids = (items) => items.map((item) => item.id);
const ascending = (list) => [...list].sort();

/** Resources to remove at the end, even when an assertion failed (best effort). */
const cleanup = [];
const later = (fn) => cleanup.push(fn);

async function newApp(label, extra = {}) {
  const app = await appApi.create({
    appCreateRequestBody: {
      display_name: `node-${RUN}-${label}`,
      channel_credentials: [{
        channel: 'SMS',
        static_bearer: { claimed_identity: msisdn(), token: `tok-${RUN}` },
      }],
      ...extra,
    },
  });
  later(() => appApi.delete({ app_id: app.id }));
  return app;
}

async function newContact(body) {
  const contact = await contactApi.create({
    contactCreateRequestBody: { language: 'UNSPECIFIED', ...body },
  });
  later(() => contactApi.delete({ contact_id: contact.id }));
  return contact;
}

// ---------------------------------------------------------------- apps

async function apps() {
  const claimed = msisdn();
  const created = await appApi.create({
    appCreateRequestBody: {
      display_name: `node-${RUN}-app`,
      channel_credentials: [{
        channel: 'SMS',
        static_bearer: { claimed_identity: claimed, token: 'sms-token' },
      }],
      retention_policy: { retention_type: 'CONVERSATION_EXPIRE_POLICY', ttl_days: 30 },
    },
  });
  later(() => appApi.delete({ app_id: created.id }));

  assert.match(created.id, ULID, 'app id is a ULID');
  assert.equal(created.display_name, `node-${RUN}-app`);
  assert.deepEqual(created.retention_policy, { retention_type: 'CONVERSATION_EXPIRE_POLICY', ttl_days: 30 });
  // Defaults of API.md §2.2.
  assert.equal(created.processing_mode, 'CONVERSATION', 'default processing_mode');
  assert.equal(created.conversation_metadata_report_view, 'NONE', 'default conversation_metadata_report_view');
  assert.deepEqual(created.dispatch_retention_policy, { retention_type: 'MESSAGE_EXPIRE_POLICY', ttl_days: 0 },
    'default dispatch_retention_policy');
  assert.deepEqual(created.smart_conversation, { enabled: false }, 'default smart_conversation');
  assert.ok(created.rate_limits && typeof created.rate_limits === 'object', 'rate_limits is always emitted');
  assert.equal(created.channel_credentials.length, 1);
  const [credential] = created.channel_credentials;
  assert.equal(credential.channel, 'SMS');
  assert.deepEqual(credential.static_bearer, { claimed_identity: claimed, token: 'sms-token' });
  assert.equal(credential.credential_ordinal_number, 0);
  assert.equal(credential.state?.status, 'ACTIVE');

  // A second app created with the bare minimum gets the default retention policy;
  // a retention_type without ttl_days gets 180 days.
  const minimal = await newApp('minimal');
  assert.deepEqual(minimal.retention_policy, { retention_type: 'MESSAGE_EXPIRE_POLICY', ttl_days: 180 },
    'default retention_policy');
  const typeOnly = await newApp('type-only', { retention_policy: { retention_type: 'PERSIST_RETENTION_POLICY' } });
  assert.deepEqual(typeOnly.retention_policy, { retention_type: 'PERSIST_RETENTION_POLICY', ttl_days: 180 });

  const fetched = await appApi.get({ app_id: created.id });
  assert.deepEqual(fetched, created, 'get returns what create returned');

  const { apps: listed } = await appApi.list({});
  assert.ok(Array.isArray(listed), 'list answers {apps: [...]}');
  const mine = listed.filter((a) => a.display_name?.startsWith(`node-${RUN}-`));
  assert.deepEqual(ids(mine), [created.id, minimal.id, typeOnly.id], 'list is in creation order');
  assert.deepEqual(mine[0], fetched, 'list elements are full App objects');

  // With update_mask only the listed path changes; other body fields are ignored.
  const renamed = await appApi.update({
    app_id: created.id,
    update_mask: ['display_name'],
    appUpdateRequestBody: {
      display_name: `node-${RUN}-app-renamed`,
      conversation_metadata_report_view: 'FULL',
    },
  });
  assert.equal(renamed.display_name, `node-${RUN}-app-renamed`);
  assert.equal(renamed.conversation_metadata_report_view, 'NONE', 'a body field outside update_mask is ignored');
  assert.deepEqual(renamed.channel_credentials, created.channel_credentials, 'credentials untouched');

  // Without a mask every field present in the body replaces the stored value.
  const updated = await appApi.update({
    app_id: created.id,
    appUpdateRequestBody: {
      conversation_metadata_report_view: 'FULL',
      retention_policy: { retention_type: 'MESSAGE_EXPIRE_POLICY', ttl_days: 90 },
    },
  });
  assert.equal(updated.display_name, `node-${RUN}-app-renamed`, 'absent field kept');
  assert.equal(updated.conversation_metadata_report_view, 'FULL');
  assert.deepEqual(updated.retention_policy, { retention_type: 'MESSAGE_EXPIRE_POLICY', ttl_days: 90 });
  assert.deepEqual(await appApi.get({ app_id: created.id }), updated, 'get reflects the update');

  await expectHttpError('app create without display_name', 400, 'INVALID_ARGUMENT',
    () => appApi.create({ appCreateRequestBody: { channel_credentials: [] } }));
  await expectHttpError('app create with ttl_days out of range', 400, 'INVALID_ARGUMENT',
    () => appApi.create({
      appCreateRequestBody: {
        display_name: `node-${RUN}-bad`,
        channel_credentials: [],
        retention_policy: { retention_type: 'MESSAGE_EXPIRE_POLICY', ttl_days: 99999 },
      },
    }));

  const deleted = await appApi.delete({ app_id: created.id });
  assert.deepEqual(deleted, {}, 'delete answers {}');
  await expectHttpError('get of a deleted app', 404, 'NOT_FOUND', () => appApi.get({ app_id: created.id }));
  await expectHttpError('delete of a deleted app', 404, 'NOT_FOUND', () => appApi.delete({ app_id: created.id }));
  await expectHttpError('update of a deleted app', 404, 'NOT_FOUND',
    () => appApi.update({ app_id: created.id, appUpdateRequestBody: { display_name: 'x' } }));
  const after = (await appApi.list({})).apps.map((a) => a.id);
  assert.ok(!after.includes(created.id), 'a deleted app is no longer listed');

  console.log(`apps: ok (create/get/list/update with and without mask/delete, defaults; app ${created.id})`);
}

// ---------------------------------------------------------------- webhooks

async function webhooks() {
  const app = await newApp('webhooks');
  const triggers = ['MESSAGE_DELIVERY', 'MESSAGE_INBOUND'];
  const created = await webhookApi.create({
    webhookCreateRequestBody: { app_id: app.id, target: HOOK_TARGET, triggers, secret: `secret-${RUN}` },
  });
  assert.match(created.id, ULID, 'webhook id is a ULID');
  assert.equal(created.app_id, app.id);
  assert.equal(created.target, HOOK_TARGET);
  assert.deepEqual(created.triggers, triggers);
  assert.equal(created.secret, `secret-${RUN}`);
  assert.equal(created.target_type, 'HTTP', 'default target_type');

  const listed = await webhookApi.list({ app_id: app.id });
  assert.deepEqual(listed, { webhooks: [created] }, 'list for the app');
  assert.deepEqual(await webhookApi.get({ webhook_id: created.id }), created, 'get returns what create returned');

  // update_mask limits the change to triggers (the SDK type requires target in the body).
  const retriggered = await webhookApi.update({
    webhook_id: created.id,
    update_mask: ['triggers'],
    webhookUpdateRequestBody: { target: `${HOOK_TARGET}-ignored`, triggers: ['CONTACT_CREATE', 'CONTACT_MERGE'] },
  });
  assert.deepEqual(retriggered.triggers, ['CONTACT_CREATE', 'CONTACT_MERGE']);
  assert.equal(retriggered.target, HOOK_TARGET, 'target outside update_mask is ignored');

  const retargeted = await webhookApi.update({
    webhook_id: created.id,
    webhookUpdateRequestBody: { target: `${HOOK_TARGET}2`, secret: `secret2-${RUN}` },
  });
  assert.equal(retargeted.target, `${HOOK_TARGET}2`);
  assert.equal(retargeted.secret, `secret2-${RUN}`);
  assert.deepEqual(retargeted.triggers, ['CONTACT_CREATE', 'CONTACT_MERGE'], 'absent triggers kept');
  assert.deepEqual(await webhookApi.get({ webhook_id: created.id }), retargeted);

  // Five webhooks per app at most; the sixth is a permanent 400 (not a 429).
  const more = [];
  for (let i = 2; i <= 5; i += 1) {
    more.push(await webhookApi.create({
      webhookCreateRequestBody: { app_id: app.id, target: `${HOOK_TARGET}/${i}`, triggers: ['MESSAGE_DELIVERY'] },
    }));
  }
  assert.equal((await webhookApi.list({ app_id: app.id })).webhooks.length, 5);
  await expectHttpError('6th webhook of an app', 400, 'FAILED_PRECONDITION',
    () => webhookApi.create({
      webhookCreateRequestBody: { app_id: app.id, target: `${HOOK_TARGET}/6`, triggers: ['MESSAGE_DELIVERY'] },
    }));
  await expectHttpError('webhook for an unknown app', 400, 'INVALID_ARGUMENT',
    () => webhookApi.create({ webhookCreateRequestBody: { app_id: `NOAPP${RUN}`, target: HOOK_TARGET } }));
  await expectHttpError('webhook with UNSPECIFIED_TRIGGER', 400, 'INVALID_ARGUMENT',
    () => webhookApi.create({
      webhookCreateRequestBody: { app_id: app.id, target: HOOK_TARGET, triggers: ['UNSPECIFIED_TRIGGER'] },
    }));

  assert.deepEqual(await webhookApi.delete({ webhook_id: created.id }), {}, 'delete answers {}');
  await expectHttpError('get of a deleted webhook', 404, 'NOT_FOUND', () => webhookApi.get({ webhook_id: created.id }));
  await expectHttpError('delete of a deleted webhook', 404, 'NOT_FOUND',
    () => webhookApi.delete({ webhook_id: created.id }));
  const remaining = (await webhookApi.list({ app_id: app.id })).webhooks;
  assert.deepEqual(ids(remaining), ids(more), 'the other four remain, in creation order');

  // Deleting the app deletes its webhooks.
  await appApi.delete({ app_id: app.id });
  await expectHttpError('webhook list of a deleted app', 404, 'NOT_FOUND', () => webhookApi.list({ app_id: app.id }));
  await expectHttpError('webhook of a deleted app', 404, 'NOT_FOUND', () => webhookApi.get({ webhook_id: more[0].id }));

  console.log(`webhooks: ok (create/list/get/update with and without mask/delete, 6th → 400; app ${app.id})`);
}

// ---------------------------------------------------------------- contacts

async function contacts() {
  // Paging: 12 contacts sharing an external id, listed 5 at a time (pages of 5, 5, 2).
  const externalId = `node-${RUN}-bulk`;
  const bulk = [];
  for (let i = 0; i < 12; i += 1) {
    bulk.push(await newContact({
      display_name: `Bulk ${i}`,
      external_id: externalId,
      channel_identities: [{ channel: 'SMS', identity: msisdn() }],
    }));
  }
  for (const contact of bulk) {
    assert.match(contact.id, ULID, 'contact id is a ULID');
  }
  const firstPage = await contactApi.list({ external_id: externalId, page_size: 5 });
  assert.equal(firstPage.data.length, 5, 'page 1 has page_size contacts');
  assert.equal(firstPage.hasNextPage, true, 'page 1 has a next_page_token');
  assert.match(JSON.parse(firstPage.nextPageValue), URL_SAFE_TOKEN, 'next_page_token is URL-safe');
  const all = await collect(contactApi.list({ external_id: externalId, page_size: 5 }));
  assert.deepEqual(ids(all), ascending(ids(bulk)), 'for-await over pages yields all 12, ascending by id');
  assert.deepEqual(all.find((c) => c.id === bulk[3].id), bulk[3], 'a listed contact equals the created one');
  assert.deepEqual(await pageSizes(contactApi.list({ external_id: externalId, page_size: 5 }), 'contacts'), [5, 5, 2]);
  // Unfiltered, the project holds at least these 12: page 1 is full and has a successor.
  const unfiltered = await contactApi.list({ page_size: 3 });
  assert.equal(unfiltered.data.length, 3);
  assert.equal(unfiltered.hasNextPage, true);
  await expectHttpError('contacts page_size above 20', 400, 'INVALID_ARGUMENT',
    () => contactApi.list({ page_size: 21 }));

  // Create / get / update.
  const phone = msisdn();
  const ada = await newContact({
    display_name: 'Ada',
    email: 'ada@example.com',
    external_id: `node-${RUN}-ada`,
    metadata: 'tier=gold',
    language: 'EN_GB',
    channel_identities: [{ channel: 'SMS', identity: `+${phone}` }],
  });
  assert.deepEqual(ada.channel_identities, [{ channel: 'SMS', identity: phone }], 'MSISDN stored without +');
  assert.deepEqual(ada.channel_priority, ['SMS'], 'default channel_priority');
  assert.equal(ada.display_name, 'Ada');
  assert.equal(ada.email, 'ada@example.com');
  assert.equal(ada.external_id, `node-${RUN}-ada`);
  assert.equal(ada.metadata, 'tier=gold');
  assert.equal(ada.language, 'EN_GB');
  assert.deepEqual(await contactApi.get({ contact_id: ada.id }), ada, 'get returns what create returned');

  const anonymous = await newContact({ channel_identities: [{ channel: 'SMS', identity: msisdn() }] });
  assert.equal(anonymous.display_name, 'Unknown', 'default display_name');
  assert.equal(anonymous.language, 'UNSPECIFIED', 'language defaults to UNSPECIFIED');

  const masked = await contactApi.update({
    contact_id: ada.id,
    update_mask: ['display_name', 'metadata'],
    updateContactRequestBody: { display_name: 'Ada L.', metadata: 'tier=platinum', email: 'ignored@example.com' },
  });
  assert.equal(masked.display_name, 'Ada L.');
  assert.equal(masked.metadata, 'tier=platinum');
  assert.equal(masked.email, 'ada@example.com', 'a body field outside update_mask is ignored');
  const waPhone = msisdn();
  const unmasked = await contactApi.update({
    contact_id: ada.id,
    updateContactRequestBody: {
      email: 'ada.l@example.com',
      channel_identities: [{ channel: 'SMS', identity: phone }, { channel: 'WHATSAPP', identity: waPhone }],
      channel_priority: ['WHATSAPP', 'SMS'],
    },
  });
  assert.equal(unmasked.email, 'ada.l@example.com');
  assert.equal(unmasked.display_name, 'Ada L.', 'absent field kept');
  assert.deepEqual(unmasked.channel_priority, ['WHATSAPP', 'SMS']);
  assert.equal(unmasked.channel_identities.length, 2);
  assert.deepEqual(await contactApi.get({ contact_id: ada.id }), unmasked);

  // List filters. The SDK puts identity into the query unencoded, so a raw '+' arrives.
  const byPlus = await collect(contactApi.list({ channel: 'SMS', identity: `+${phone}` }));
  assert.deepEqual(ids(byPlus), [ada.id], `channel+identity filter with a raw '+' (identity=+${phone})`);
  const byDigits = await collect(contactApi.list({ channel: 'SMS', identity: phone }));
  assert.deepEqual(ids(byDigits), [ada.id], 'channel+identity filter without +');
  const byWhatsApp = await collect(contactApi.list({ channel: 'WHATSAPP', identity: `+${waPhone}` }));
  assert.deepEqual(ids(byWhatsApp), [ada.id], 'channel+identity filter on the second identity');
  assert.deepEqual(await collect(contactApi.list({ channel: 'RCS', identity: phone })), [], 'no match → empty list');
  const byExternal = await collect(contactApi.list({ external_id: `node-${RUN}-ada` }));
  assert.deepEqual(ids(byExternal), [ada.id], 'external_id filter');
  await expectHttpError('channel without identity', 400, 'INVALID_ARGUMENT',
    () => contactApi.list({ channel: 'SMS' }));
  await expectHttpError('external_id with channel+identity', 400, 'INVALID_ARGUMENT',
    () => contactApi.list({ external_id: externalId, channel: 'SMS', identity: phone }));

  // Merge (API.md §4.4): the source's identities move only for channels the destination
  // lacks, appended to channel_priority in the source's priority order; empty scalars of
  // the destination are filled from the source; the source is gone.
  const destPhone = msisdn();
  const destination = await newContact({
    display_name: 'Destination',
    metadata: 'dest-meta',
    channel_identities: [{ channel: 'SMS', identity: destPhone }],
  });
  const srcSms = msisdn();
  const srcWa = msisdn();
  const srcRcs = msisdn();
  const source = await newContact({
    display_name: 'Source',
    email: 'source@example.com',
    external_id: `node-${RUN}-source`,
    metadata: 'source-meta',
    language: 'SV',
    channel_identities: [
      { channel: 'SMS', identity: srcSms },
      { channel: 'WHATSAPP', identity: srcWa },
      { channel: 'RCS', identity: srcRcs },
    ],
    channel_priority: ['RCS', 'SMS', 'WHATSAPP'],
  });
  // In one app both contacts have an active conversation (the source's is folded into the
  // destination's and removed); in another only the source has one (it moves).
  const sharedApp = await newApp('merge-shared');
  const destinationActive = await conversationApi.create({
    createConversationRequestBody: { app_id: sharedApp.id, contact_id: destination.id },
  });
  const sourceActive = await conversationApi.create({
    createConversationRequestBody: { app_id: sharedApp.id, contact_id: source.id },
  });
  const mergeApp = await newApp('merge');
  const sourceConversation = await conversationApi.create({
    createConversationRequestBody: { app_id: mergeApp.id, contact_id: source.id },
  });
  const merged = await contactApi.mergeContact({
    destination_id: destination.id,
    mergeContactRequestBody: { source_id: source.id, strategy: 'MERGE' },
  });
  assert.equal(merged.id, destination.id, 'merge answers the destination');
  const identityKeys = (contact) => contact.channel_identities.map((i) => `${i.channel}:${i.identity}`).sort();
  assert.deepEqual(identityKeys(merged), [`RCS:${srcRcs}`, `SMS:${destPhone}`, `WHATSAPP:${srcWa}`].sort(),
    'SMS of the source dropped (destination has SMS); WHATSAPP and RCS moved');
  assert.deepEqual(merged.channel_priority, ['SMS', 'RCS', 'WHATSAPP'], 'moved channels appended in source priority order');
  assert.equal(merged.display_name, 'Destination', 'non-empty destination display_name kept');
  assert.equal(merged.metadata, 'dest-meta', 'non-empty destination metadata kept');
  assert.equal(merged.email, 'source@example.com', 'empty destination email filled from source');
  assert.equal(merged.external_id, `node-${RUN}-source`, 'empty destination external_id filled from source');
  assert.equal(merged.language, 'SV', 'UNSPECIFIED destination language filled from source');
  assert.deepEqual(await contactApi.get({ contact_id: destination.id }), merged);
  await expectHttpError('get of a merged-away source', 404, 'NOT_FOUND', () => contactApi.get({ contact_id: source.id }));
  const moved = await conversationApi.get({ conversation_id: sourceConversation.id });
  assert.equal(moved.contact_id, destination.id, "the source's conversation now belongs to the destination");
  await expectHttpError("source's active conversation where the destination has one too", 404, 'NOT_FOUND',
    () => conversationApi.get({ conversation_id: sourceActive.id }));
  const kept = await conversationApi.get({ conversation_id: destinationActive.id });
  assert.equal(kept.active, true, "the destination's active conversation stays active");
  const inSharedApp = await collect(conversationApi.list({ app_id: sharedApp.id, contact_id: destination.id }));
  assert.deepEqual(ids(inSharedApp), [destinationActive.id], 'one conversation left in the shared app');
  await expectHttpError('merge with a missing source', 404, 'NOT_FOUND',
    () => contactApi.mergeContact({ destination_id: destination.id, mergeContactRequestBody: { source_id: source.id } }));
  await expectHttpError('merge a contact into itself', 400, 'INVALID_ARGUMENT',
    () => contactApi.mergeContact({
      destination_id: destination.id, mergeContactRequestBody: { source_id: destination.id },
    }));

  // Identity conflicts: the same SMS number on two contacts is allowed and listed.
  const shared = msisdn();
  const twinA = await newContact({ channel_identities: [{ channel: 'SMS', identity: shared }] });
  const twinB = await newContact({ channel_identities: [{ channel: 'SMS', identity: `+${shared}` }] });
  const conflicts = await collect(contactApi.listIdentityConflicts({ page_size: 20 }));
  const conflict = conflicts.find((c) => c.identity === shared);
  assert.ok(conflict, `identity conflict for ${shared} listed (got ${JSON.stringify(conflicts.slice(0, 5))})`);
  assert.deepEqual(conflict.channels, ['SMS']);
  assert.deepEqual(conflict.contact_ids, ascending([twinA.id, twinB.id]));

  // Delete.
  assert.deepEqual(await contactApi.delete({ contact_id: twinB.id }), {}, 'delete answers {}');
  await expectHttpError('get of a deleted contact', 404, 'NOT_FOUND', () => contactApi.get({ contact_id: twinB.id }));
  await expectHttpError('delete of a deleted contact', 404, 'NOT_FOUND',
    () => contactApi.delete({ contact_id: twinB.id }));
  const conflictsAfter = await collect(contactApi.listIdentityConflicts({ page_size: 20 }));
  assert.ok(!conflictsAfter.some((c) => c.identity === shared), 'conflict resolved once one holder is deleted');

  console.log(`contacts: ok (${bulk.length} paged 5/5/2, get/update/filters incl. raw '+', merge, conflicts, delete)`);
}

// ---------------------------------------------------------------- conversations

async function conversations() {
  const app = await newApp('conversations');
  const contact = await newContact({ display_name: 'Talker', channel_identities: [{ channel: 'SMS', identity: msisdn() }] });

  const first = await conversationApi.create({
    createConversationRequestBody: { app_id: app.id, contact_id: contact.id },
  });
  assert.match(first.id, ULID, 'conversation id is a ULID');
  assert.equal(first.app_id, app.id);
  assert.equal(first.contact_id, contact.id);
  assert.equal(first.active, true, 'active by default');
  // The SDK revives date-looking strings; a conversation without messages reports the epoch.
  assert.ok(first.last_received instanceof Date, 'last_received is a timestamp');
  assert.equal(first.last_received.getTime(), 0, 'last_received is 1970-01-01T00:00:00Z without messages');
  assert.deepEqual(await conversationApi.get({ conversation_id: first.id }), first);

  await expectHttpError('second active conversation for the same app and contact', 409, 'ALREADY_EXISTS',
    () => conversationApi.create({ createConversationRequestBody: { app_id: app.id, contact_id: contact.id } }));

  // metadata_json: REPLACE (the SDK's default strategy), then MERGE_PATCH, then an update
  // without metadata_json leaves it alone.
  const replaced = await conversationApi.update({
    conversation_id: first.id,
    update_mask: ['metadata_json'],
    updateConversationRequestBody: { metadata_json: { tier: 'gold', nested: { a: 1, b: 2 } } },
  });
  assert.deepEqual(replaced.metadata_json, { tier: 'gold', nested: { a: 1, b: 2 } });
  const patched = await conversationApi.update({
    conversation_id: first.id,
    metadata_update_strategy: 'MERGE_PATCH',
    updateConversationRequestBody: { metadata_json: { tier: null, nested: { b: 3, c: 4 } } },
  });
  assert.deepEqual(patched.metadata_json, { nested: { a: 1, b: 3, c: 4 } }, 'RFC 7386 merge patch');
  const correlated = await conversationApi.update({
    conversation_id: first.id,
    updateConversationRequestBody: { correlation_id: `corr-${RUN}`, metadata: 'plain' },
  });
  assert.equal(correlated.correlation_id, `corr-${RUN}`);
  assert.equal(correlated.metadata, 'plain');
  assert.deepEqual(correlated.metadata_json, { nested: { a: 1, b: 3, c: 4 } }, 'metadata_json untouched');
  assert.deepEqual(await conversationApi.get({ conversation_id: first.id }), correlated);

  // Stop: inactive; then the pair may have a new active conversation. Repeat to get
  // five conversations for the contact (four stopped, one active).
  assert.deepEqual(await conversationApi.stopActive({ conversation_id: first.id }), {}, 'stop answers {}');
  assert.equal((await conversationApi.get({ conversation_id: first.id })).active, false);
  assert.deepEqual(await conversationApi.stopActive({ conversation_id: first.id }), {}, 'stopping twice is a no-op');
  const ofContact = [first];
  for (let i = 1; i < 5; i += 1) {
    const next = await conversationApi.create({
      createConversationRequestBody: { app_id: app.id, contact_id: contact.id },
    });
    ofContact.push(next);
    if (i < 4) {
      await conversationApi.stopActive({ conversation_id: next.id });
    }
  }
  // Two other contacts with one conversation each in the same app: seven in the app.
  const others = [];
  for (let i = 0; i < 2; i += 1) {
    const other = await newContact({ channel_identities: [{ channel: 'SMS', identity: msisdn() }] });
    others.push(await conversationApi.create({
      createConversationRequestBody: { app_id: app.id, contact_id: other.id, metadata_json: { n: i } },
    }));
  }
  assert.deepEqual(others[1].metadata_json, { n: 1 }, 'metadata_json on create');

  const byContact = await collect(conversationApi.list({ contact_id: contact.id, page_size: 2 }));
  assert.deepEqual(ids(byContact), ascending(ids(ofContact)), 'list by contact_id across pages, ascending');
  assert.deepEqual(await pageSizes(conversationApi.list({ contact_id: contact.id, page_size: 2 }), 'by contact'), [2, 2, 1]);
  const byApp = await collect(conversationApi.list({ app_id: app.id, page_size: 3 }));
  assert.deepEqual(ids(byApp), ascending([...ids(ofContact), ...ids(others)]), 'list by app_id across pages');
  assert.deepEqual(await pageSizes(conversationApi.list({ app_id: app.id, page_size: 3 }), 'by app'), [3, 3, 1]);
  const activeOnes = await collect(conversationApi.list({ app_id: app.id, contact_id: contact.id, only_active: true }));
  assert.deepEqual(ids(activeOnes), [ofContact[4].id], 'only_active with app_id and contact_id');
  await expectHttpError('conversation list without app_id or contact_id', 400, 'INVALID_ARGUMENT',
    () => conversationApi.list({}));

  assert.deepEqual(await conversationApi.delete({ conversation_id: first.id }), {}, 'delete answers {}');
  await expectHttpError('get of a deleted conversation', 404, 'NOT_FOUND',
    () => conversationApi.get({ conversation_id: first.id }));
  await expectHttpError('delete of a deleted conversation', 404, 'NOT_FOUND',
    () => conversationApi.delete({ conversation_id: first.id }));
  const leftForContact = await collect(conversationApi.list({ contact_id: contact.id, page_size: 20 }));
  assert.equal(leftForContact.length, 4);

  console.log(`conversations: ok (create/get/409/update metadata_json/stop/list paged by app and contact/delete; app ${app.id})`);
}

// ---------------------------------------------------------------- errors

async function errors() {
  const unknown = `UNKNOWN${RUN}`.toUpperCase();
  await expectHttpError('get of an unknown app', 404, 'NOT_FOUND', () => appApi.get({ app_id: unknown }));
  await expectHttpError('get of an unknown contact', 404, 'NOT_FOUND', () => contactApi.get({ contact_id: unknown }));
  await expectHttpError('get of an unknown conversation', 404, 'NOT_FOUND',
    () => conversationApi.get({ conversation_id: unknown }));
  await expectHttpError('get of an unknown webhook', 404, 'NOT_FOUND', () => webhookApi.get({ webhook_id: unknown }));
  console.log('errors: ok (unknown ids → 404 NOT_FOUND in the error envelope)');
}

// ---------------------------------------------------------------- main

async function main() {
  console.log(`run ${RUN} against ${baseUrl} (project ${projectId})`);
  try {
    await apps();
    await webhooks();
    await contacts();
    await conversations();
    await errors();
  } finally {
    for (const undo of cleanup.reverse()) {
      try {
        await undo();
      } catch {
        // already gone (deleted by the test itself, or with its app / by a merge)
      }
    }
  }
  console.log('management.mjs: all checks passed');
}

main().catch((error) => {
  console.error(`management.mjs: FAILED: ${error?.stack ?? error}`);
  if (error?.data) {
    console.error(`response body: ${error.data}`);
  }
  process.exit(1);
});
