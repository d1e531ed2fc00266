// REST calls with the bearer token (kept in sessionStorage when auth is enabled).
const KEY = 'taskforge.token';

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export async function api(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    // The server cannot be reached: callers show a banner with Retry.
    return { status: 0, ok: false, data: null };
  }
  let data = null;
  if (resp.status !== 204) {
    try { data = await resp.json(); } catch { data = null; }
  }
  if (resp.status === 401) onUnauthorized();
  return { status: resp.status, ok: resp.ok, data };
}

export function errorMessage(r) {
  if (r?.status === 0) return 'Cannot reach the server.';
  return r?.data?.error?.message || `request failed (${r?.status})`;
}
