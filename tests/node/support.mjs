// What every SDK script shares: its environment, the client pointed at chorus, and the
// assertions on errors and paged lists.
import assert from 'node:assert/strict';
import { SinchClient } from '@sinch/sdk-core';

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const URL_SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/** A required environment variable (the Python test sets them). */
export function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

export const baseUrl = env('CHORUS_URL').replace(/\/+$/, '');

// The SDK logs every non-2xx response at debug level; the expected errors would flood the
// output, so debug lines are shown only with CHORUS_NODE_DEBUG.
const text = (message) => (typeof message === 'function' ? message() : message);
const logger = {
  debug: (message) => process.env.CHORUS_NODE_DEBUG && console.error(text(message)),
  info: (message) => console.error(text(message)),
  warn: (message) => console.error(text(message)),
  error: (message) => console.error(text(message)),
};

/**
 * The client construction under test: every hostname is the chorus base URL, with its
 * scheme. The SDK appends /oauth2/token to authHostname and /v1/projects/{projectId}/...
 * to conversationHostname (and the template paths to conversationTemplatesHostname); no
 * region is needed when the hostnames are set.
 */
export function chorusClient(options = {}) {
  return new SinchClient({
    projectId: env('CHORUS_PROJECT_ID'),
    keyId: env('CHORUS_KEY_ID'),
    keySecret: env('CHORUS_KEY_SECRET'),
    authHostname: baseUrl,
    conversationHostname: baseUrl,
    conversationTemplatesHostname: baseUrl,
    logger,
    ...options,
  });
}

/**
 * Asserts that `call()` rejects with HTTP `status` (the SDK throws a RequestFailedError
 * carrying statusCode and the JSON body as a string in `data`) and that the body is the
 * error envelope of API.md §1.4. Returns the parsed body.
 */
export async function expectHttpError(what, status, errorStatus, call) {
  let error;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: expected HTTP ${status}, but the call succeeded`);
  assert.equal(error.statusCode, status,
    `${what}: expected HTTP ${status}, got ${error.statusCode ?? '(none)'}: ${error.message}\n${error.data ?? ''}`);
  let body;
  try {
    body = JSON.parse(error.data);
  } catch {
    assert.fail(`${what}: HTTP ${status} without a JSON body: ${error.data}`);
  }
  assert.equal(body?.error?.code, status, `${what}: error.code should equal the HTTP status: ${error.data}`);
  if (errorStatus) {
    assert.equal(body.error.status, errorStatus, `${what}: error.status: ${error.data}`);
  }
  assert.ok(body.error.message, `${what}: error.message must not be empty: ${error.data}`);
  assert.ok(Array.isArray(body.error.details), `${what}: error.details must be an array: ${error.data}`);
  return body;
}

/** A call to the simulator's control API (no credentials in local mode). */
export async function simulator(method, path, body) {
  const response = await fetch(`${baseUrl}/simulator/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Every item of a paged list, fetched with `for await` over the SDK's ApiListPromise. */
export async function collect(listPromise) {
  const items = [];
  for await (const item of listPromise) {
    items.push(item);
  }
  return items;
}

/**
 * Walks a paged list page by page with PageResult.nextPage(); returns the page sizes.
 * Checks that every non-final page carries a URL-safe next_page_token.
 */
export async function pageSizes(listPromise, what) {
  const sizes = [];
  let page = await listPromise;
  for (;;) {
    sizes.push(page.data.length);
    if (!page.hasNextPage) break;
    const token = JSON.parse(page.nextPageValue);
    assert.match(token, URL_SAFE_TOKEN, `${what}: page token must be URL-safe (the SDK sends it unencoded)`);
    assert.ok(sizes.length < 100, `${what}: runaway pagination`);
    page = await page.nextPage();
  }
  return sizes;
}
