// The API client: a bearer token for one project, kept in sessionStorage.

const KEY = 'chorus.session';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || body?.error_description || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const session = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; } },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
  get projectId() { return this.get()?.project_id; },
};

// Local mode: the server hands out a token for the dev project. Its answer, `{ status,
// body }`: 200 with the token; 404 in the production profile (no local mode); 403 when this
// browser is not on the server's machine, or the page is not the console's own.
export async function localSession() {
  const response = await fetch('/console/session');
  return { status: response.status, body: await response.json().catch(() => null) };
}

// Sign in with the local session (`answer`, or a new one): whether it was given.
export async function localSignIn(answer) {
  const { status, body } = answer || await localSession();
  if (status !== 200) return false;
  session.set({ ...body, local: true });
  return true;
}

// Sign in with an access key: the token endpoint, then the project from the token's claims.
export async function keySignIn(keyId, keySecret) {
  // Client credentials as form fields with credentials omitted: a 401 from the token
  // endpoint carries a Basic challenge, which must not open the browser's password dialog.
  const response = await fetch('/oauth2/token', {
    method: 'POST',
    credentials: 'omit',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: keyId, client_secret: keySecret }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body);
  const claims = JSON.parse(atob(body.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  session.set({ project_id: claims.project_id, access_token: body.access_token, key_id: keyId, local: false });
}

async function call(url, { method = 'GET', body, auth = true } = {}, retried = false) {
  const headers = {};
  const current = session.get();
  if (auth && current) headers.Authorization = `Bearer ${current.access_token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { raw: text }; }
  if (response.status === 401 && auth && !retried) {
    if (current?.local && await localSignIn()) return call(url, { method, body, auth }, true);
    session.clear();
    location.hash = '#/sign-in';
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

const enc = encodeURIComponent;
const query = (params = {}) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

// The public API under /v1/projects/{project_id}.
export const api = (path, options) => call(`/v1/projects/${enc(session.projectId)}${path}`, options);
// The extension API under /chorus/v1/projects/{project_id}.
export const ext = (path, options) => call(`/chorus/v1/projects/${enc(session.projectId)}${path}`, options);
// The simulator's control API (local mode, no credentials).
export const sim = (path, options) => call(`/simulator/v1${path}`, { ...options, auth: false });

export { enc, query };

// Pages of a list endpoint from `token` ('' the first) until `limit` items or the end:
// `{ items, next }`, `next` the token of what remains ('' when nothing does).
export async function listSome(path, key, params = {}, limit = 200, token = '') {
  const items = [];
  do {
    const page = await api(path + query({ ...params, page_token: token }));
    items.push(...(page[key] || []));
    token = page.next_page_token || '';
  } while (token && items.length < limit);
  return { items, next: token };
}

// Every page of a list endpoint, up to `limit` items.
export async function listAll(path, key, params = {}, limit = 200) {
  return (await listSome(path, key, params, limit)).items;
}
