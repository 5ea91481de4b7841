// Drives capability lookups, consent lists and project settings of a running chorus server
// through the official Sinch Node.js SDK (@sinch/conversation 1.4.0): capability.lookup,
// consents.listIdentities / listAuditRecords, projectSettings.create / get / update / delete
// (shared/spec/API.md Part A §6, §7.1; Part B §6.1).
//
// Environment: CHORUS_URL, CHORUS_PROJECT_ID, CHORUS_KEY_ID, CHORUS_KEY_SECRET (a project
// with no settings and no contacts), CHORUS_APP_ID (an app of it with SMS credentials) and
// CHORUS_OPTED_OUT (the numbers on the app's OPT_OUT_ALL list, comma-separated, in the order
// they were added). Prints `CAPABILITY_REQUEST_ID=<id>` for the caller to find the callback,
// then `consents.mjs: all checks passed`; exit code 1 on failure.

import assert from 'node:assert/strict';
import {
  baseUrl, chorusClient, collect, env, expectHttpError, pageSizes, ULID,
} from './support.mjs';

const projectId = env('CHORUS_PROJECT_ID');
const appId = env('CHORUS_APP_ID');
const optedOut = env('CHORUS_OPTED_OUT').split(',');

const sinch = chorusClient();
const { capability, consents, projectSettings } = sinch.conversation;

// ---------------------------------------------------------------- capability

async function capabilityLookup() {
  const recipient = { identified_by: { channel_identities: [{ channel: 'SMS', identity: optedOut[0] }] } };
  const answer = await capability.lookup({
    lookupCapabilityRequestBody: { app_id: appId, recipient },
  });
  assert.equal(answer.app_id, appId);
  assert.deepEqual(answer.recipient, recipient);
  assert.match(answer.request_id, ULID, 'a generated request_id');
  const echoed = await capability.lookup({
    lookupCapabilityRequestBody: { app_id: appId, recipient, request_id: 'node-request' },
  });
  assert.equal(echoed.request_id, 'node-request');
  const refused = await expectHttpError('lookup for an unknown app', 400, 'INVALID_ARGUMENT',
    () => capability.lookup({ lookupCapabilityRequestBody: { app_id: 'NOPE', recipient } }));
  assert.equal(refused.error.details[0].field_violations[0].field, 'app_id');
  console.log(`CAPABILITY_REQUEST_ID=${answer.request_id}`);
}

// ---------------------------------------------------------------- consents

async function consentLists() {
  const first = await consents.listIdentities({ app_id: appId, list_type: 'OPT_OUT_ALL' });
  assert.deepEqual(first.data.map((i) => i.identity), optedOut.slice(0, 10), 'default page size 10');
  const every = await collect(consents.listIdentities({ app_id: appId, list_type: 'OPT_OUT_ALL' }));
  assert.deepEqual(every.map((i) => i.identity), optedOut, 'every identity, in the order added');
  const sizes = await pageSizes(
    consents.listIdentities({ app_id: appId, list_type: 'OPT_OUT_ALL', page_size: 5 }), 'identities');
  assert.deepEqual(sizes, [5, 5, optedOut.length - 10]);
  const empty = await consents.listIdentities({ app_id: appId, list_type: 'OPT_OUT_MARKETING' });
  assert.deepEqual(empty.data, []);
  await expectHttpError('an unknown list type', 400, 'INVALID_ARGUMENT',
    () => consents.listIdentities({ app_id: appId, list_type: 'OPT_IN_ALL' }));
  await expectHttpError('an unknown app', 404, 'NOT_FOUND',
    () => consents.listIdentities({ app_id: 'NOPE', list_type: 'OPT_OUT_ALL' }));

  // The SDK puts the identity in the path as is: the "+" arrives raw.
  const identity = `+${optedOut[0]}`;
  const audit = await consents.listAuditRecords({ app_id: appId, identity });
  assert.deepEqual(audit.identity, { identity });
  assert.equal(audit.audit_records.length, 1, JSON.stringify(audit));
  const [record] = audit.audit_records;
  assert.equal(record.origin, 'ORIGIN_API');
  assert.equal(record.operation, 'OPERATION_INSERT');
  assert.equal(record.list_type, 'OPT_OUT_ALL');
  assert.equal(record.project_id, projectId);
  assert.equal(record.app_id, appId);
  const moment = record.datetime instanceof Date ? record.datetime : new Date(record.datetime);
  assert.ok(!Number.isNaN(moment.getTime()), `datetime is a timestamp: ${record.datetime}`);
  const none = await consents.listAuditRecords({ app_id: appId, identity: '+46700000009' });
  assert.deepEqual(none.audit_records, []);
}

// ---------------------------------------------------------------- project settings

async function settings() {
  await expectHttpError('settings never created', 404, 'NOT_FOUND', () => projectSettings.get({}));
  const created = await projectSettings.create({
    createProjectSettingsRequestBody: { contact_settings: { unified_contact_id_enabled: false } },
  });
  assert.deepEqual(created, {
    project_id: projectId,
    settings: { contact_settings: { unified_contact_id_enabled: false } },
  });
  await expectHttpError('a second create', 409, 'ALREADY_EXISTS',
    () => projectSettings.create({ createProjectSettingsRequestBody: {} }));
  const updated = await projectSettings.update({
    updateProjectSettingsRequestBody: { contact_settings: { unified_contact_id_enabled: true } },
  });
  assert.equal(updated.settings.contact_settings.unified_contact_id_enabled, true);
  const read = await projectSettings.get({});
  assert.deepEqual(read, updated);
  const kept = await projectSettings.update({});
  assert.deepEqual(kept, updated, 'an update without contact_settings keeps them');
  await projectSettings.delete({});
  await expectHttpError('settings deleted', 404, 'NOT_FOUND', () => projectSettings.get({}));
  await expectHttpError('update of deleted settings', 404, 'NOT_FOUND',
    () => projectSettings.update({ updateProjectSettingsRequestBody: {} }));
}

async function main() {
  console.log(`consents.mjs against ${baseUrl} (project ${projectId}, app ${appId})`);
  await capabilityLookup();
  await consentLists();
  await settings();
  console.log('consents.mjs: all checks passed');
}

main().catch((error) => {
  console.error(`consents.mjs: FAILED: ${error?.stack ?? error}`);
  if (error?.data) {
    console.error(`response body: ${error.data}`);
  }
  process.exit(1);
});
