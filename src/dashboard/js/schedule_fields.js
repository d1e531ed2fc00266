// Every editable field of a schedule, each with how it reads from and writes into the API
// object. The form shows all of them; saving writes only the fields the user changed into a
// copy of what the API returned, so nothing the form cannot show is ever dropped.

// `KEY=value` lines ↔ an object; `$secret:name` stands for {"$secret": "name"}.
function pairsText(obj, sep) {
  return Object.entries(obj || {}).map(([k, v]) => `${k}${sep}${v && typeof v === 'object' && '$secret' in v ? `$secret:${v.$secret}` : v}`).join('\n');
}

function pairsValue(text, sep) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(sep);
    const k = (i < 0 ? line : line.slice(0, i)).trim();
    const v = i < 0 ? '' : line.slice(i + sep.length).replace(/^ /, '');
    out[k] = v.startsWith('$secret:') ? { $secret: v.slice(8).trim() } : v;
  }
  return out;
}

function bodyText(b) {
  if (b === undefined || b === null) return '';
  if (typeof b === 'object' && Object.keys(b).length === 1 && '$secret' in b) return `$secret:${b.$secret}`;
  return typeof b === 'string' ? b : JSON.stringify(b, null, 2);
}

function bodyValue(t) {
  if (!t.trim()) return undefined;
  if (t.startsWith('$secret:')) return { $secret: t.slice(8).trim() };
  try { return JSON.parse(t); } catch { return t; }
}

const num = (v) => (v === '' ? undefined : Number(v));
const put = (obj, path, value) => {
  const keys = path.split('.');
  let at = obj;
  for (const k of keys.slice(0, -1)) { at[k] = at[k] && typeof at[k] === 'object' ? at[k] : {}; at = at[k]; }
  const last = keys[keys.length - 1];
  if (value === undefined) delete at[last]; else at[last] = value;
};
const get = (obj, path) => path.split('.').reduce((a, k) => (a == null ? undefined : a[k]), obj);
const plain = (path, parse = (v) => v) => ({
  read: (s) => { const v = get(s, path); return v === undefined || v === null ? '' : String(v); },
  write: (b, v) => put(b, path, parse(v)),
});
const optional = (path) => plain(path, (v) => (v === '' ? undefined : v));
// A top-level field that is null when empty (the API reads null as unset).
const unset = (path, parse = (v) => v) => plain(path, (v) => (v === '' ? null : parse(v)));

// `exit:4, http:503, timeout` ↔ {"exitCodes": [4], "httpStatuses": [503], "errorTypes": ["timeout"]}.
function matchText(m) {
  if (!m) return '';
  const exits = (m.exitCodes || []).map((c) => `exit:${c}`);
  const statuses = (m.httpStatuses || []).map((c) => `http:${c}`);
  return [...exits, ...statuses, ...(m.errorTypes || [])].join(', ');
}

function matchValue(text) {
  const m = {};
  const add = (k, v) => { (m[k] = m[k] || []).push(v); };
  for (const raw of text.split(',')) {
    const x = raw.trim();
    if (x.startsWith('exit:')) add('exitCodes', Number(x.slice(5)));
    else if (x.startsWith('http:')) add('httpStatuses', Number(x.slice(5)));
    else if (x) add('errorTypes', x);
  }
  return Object.keys(m).length ? m : undefined;
}
const rule = (path) => ({ read: (s) => matchText(get(s, path)), write: (b, v) => put(b, path, matchValue(v)) });
// `id, id` ↔ a list of schedule ids (onSuccess, onFailure).
const ids = (path) => ({
  read: (s) => (get(s, path) || []).join(', '),
  write: (b, v) => put(b, path, v.split(',').map((x) => x.trim()).filter(Boolean)),
});

// kind: text | textarea | number | select | checkbox; section: where it is shown.
export const FIELDS = [
  { key: 'name', label: 'Name', kind: 'text', section: 'general', ...plain('name') },
  { key: 'description', label: 'Description', kind: 'textarea', section: 'general', ...plain('description', (v) => (v === '' ? null : v)) },
  { key: 'tags', label: 'Tags (comma-separated)', kind: 'text', section: 'general',
    read: (s) => (s.tags || []).join(', '), write: (b, v) => { b.tags = v.split(',').map((t) => t.trim()).filter(Boolean); } },
  { key: 'enabled', label: 'Enabled', kind: 'checkbox', section: 'general', read: (s) => s.enabled ?? true, write: (b, v) => { b.enabled = v; } },
  { key: 'taskType', label: 'Task type', kind: 'select', options: ['shell', 'http', 'conductor'], section: 'task', read: (s) => s.taskType || 'shell', write: (b, v) => { b.taskType = v; } },
  { key: 'taskConfig.command', label: 'Command (/bin/sh -c)', kind: 'textarea', section: 'shell', ...plain('taskConfig.command') },
  { key: 'taskConfig.workingDir', label: 'Working directory', kind: 'text', section: 'shell', ...optional('taskConfig.workingDir') },
  { key: 'taskConfig.env', label: 'Environment (KEY=value per line; KEY=$secret:name for a stored secret)', kind: 'textarea', section: 'shell',
    read: (s) => pairsText(s.taskConfig?.env, '='), write: (b, v) => put(b, 'taskConfig.env', Object.keys(pairsValue(v, '=')).length ? pairsValue(v, '=') : undefined) },
  { key: 'taskConfig.method', label: 'Method', kind: 'select', options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], section: 'http', read: (s) => s.taskConfig?.method || 'GET', write: (b, v) => put(b, 'taskConfig.method', v) },
  { key: 'taskConfig.url', label: 'URL', kind: 'text', section: 'http', ...plain('taskConfig.url') },
  { key: 'taskConfig.headers', label: 'Headers (Name: value per line; Name: $secret:name for a stored secret)', kind: 'textarea', section: 'http',
    read: (s) => pairsText(s.taskConfig?.headers, ': '), write: (b, v) => put(b, 'taskConfig.headers', Object.keys(pairsValue(v, ':')).length ? pairsValue(v, ':') : undefined) },
  { key: 'taskConfig.body', label: 'Body (JSON or text; $secret:name for a stored secret)', kind: 'textarea', section: 'http',
    read: (s) => bodyText(s.taskConfig?.body), write: (b, v) => put(b, 'taskConfig.body', bodyValue(v)) },
  { key: 'taskConfig.expectedStatus', label: 'Accepted statuses (comma-separated; empty = any 2xx)', kind: 'text', section: 'http',
    read: (s) => (s.taskConfig?.expectedStatus || []).join(', '),
    write: (b, v) => put(b, 'taskConfig.expectedStatus', v.trim() ? v.split(',').map((x) => Number(x.trim())) : undefined) },
  { key: 'taskConfig.followRedirects', label: 'Follow redirects', kind: 'checkbox', section: 'http',
    read: (s) => Boolean(s.taskConfig?.followRedirects), write: (b, v) => put(b, 'taskConfig.followRedirects', v || undefined) },
  { key: 'taskConfig.message', label: 'Message', kind: 'textarea', section: 'conductor', ...plain('taskConfig.message') },
  { key: 'taskConfig.threadId', label: 'Thread id (optional)', kind: 'text', section: 'conductor', ...optional('taskConfig.threadId') },
  { key: 'taskConfig.timeoutMs', label: 'Timeout (seconds; empty = server default)', kind: 'number', section: 'task',
    read: (s) => (s.taskConfig?.timeoutMs ? String(s.taskConfig.timeoutMs / 1000) : ''),
    write: (b, v) => put(b, 'taskConfig.timeoutMs', v === '' ? undefined : Math.round(Number(v) * 1000)) },
  { key: 'scheduleType', label: 'Schedule type', kind: 'select', options: ['cron', 'interval', 'once'], section: 'schedule', read: (s) => s.scheduleType || 'cron', write: (b, v) => { b.scheduleType = v; } },
  { key: 'scheduleConfig.expression', label: 'Cron expression (minute hour day month weekday; 6 fields with seconds; @daily…)', kind: 'text', section: 'cron',
    read: (s) => s.scheduleConfig?.expression ?? '*/5 * * * *', write: (b, v) => put(b, 'scheduleConfig.expression', v) },
  { key: 'scheduleConfig.timezone', label: 'Time zone (IANA)', kind: 'text', section: 'cron', read: (s) => s.scheduleConfig?.timezone ?? 'UTC', write: (b, v) => put(b, 'scheduleConfig.timezone', v || 'UTC') },
  { key: 'scheduleConfig.intervalSeconds', label: 'Every (seconds)', kind: 'number', section: 'interval',
    read: (s) => String(s.scheduleConfig?.intervalSeconds ?? 60), write: (b, v) => put(b, 'scheduleConfig.intervalSeconds', num(v)) },
  { key: 'scheduleConfig.startAt', label: 'Starting at (RFC 3339; empty = one interval from now)', kind: 'text', section: 'interval', ...optional('scheduleConfig.startAt') },
  { key: 'scheduleConfig.runAt', label: 'Run at (RFC 3339)', kind: 'text', section: 'once',
    read: (s) => s.scheduleConfig?.runAt ?? new Date(Date.now() + 3600e3).toISOString(), write: (b, v) => put(b, 'scheduleConfig.runAt', v) },
  { key: 'retryPolicy.maxAttempts', label: 'Max attempts (1 = no retry)', kind: 'number', section: 'policy', read: (s) => String(s.retryPolicy?.maxAttempts ?? 3), write: (b, v) => put(b, 'retryPolicy.maxAttempts', num(v)) },
  { key: 'retryPolicy.backoffBaseMs', label: 'Retry backoff base (ms)', kind: 'number', section: 'policy', read: (s) => String(s.retryPolicy?.backoffBaseMs ?? 1000), write: (b, v) => put(b, 'retryPolicy.backoffBaseMs', num(v)) },
  { key: 'retryPolicy.backoffMaxMs', label: 'Retry backoff max (ms)', kind: 'number', section: 'policy', read: (s) => String(s.retryPolicy?.backoffMaxMs ?? 3600000), write: (b, v) => put(b, 'retryPolicy.backoffMaxMs', num(v)) },
  { key: 'retryPolicy.retryOn', label: 'Retry only these failures (e.g. exit:75, http:503, timeout; empty = by severity)', kind: 'text', section: 'policy', ...rule('retryPolicy.retryOn') },
  { key: 'retryPolicy.abortOn', label: 'Never retry these, escalate at once (e.g. exit:2, http:400)', kind: 'text', section: 'policy', ...rule('retryPolicy.abortOn') },
  { key: 'retryPolicy.honorRetryAfter', label: 'Wait as long as a 429/503 Retry-After asks (up to the backoff max)', kind: 'checkbox', section: 'policy',
    read: (s) => s.retryPolicy?.honorRetryAfter ?? true, write: (b, v) => put(b, 'retryPolicy.honorRetryAfter', v) },
  { key: 'autoPauseAfterFailures', label: 'Pause after this many failed runs in a row (a run and its retries count once; empty = server default)', kind: 'number', section: 'policy', ...unset('autoPauseAfterFailures', num) },
  { key: 'webhook.enabled', label: 'Webhook: also run on a signed POST to its own URL (shown to admins once saved)', kind: 'checkbox', section: 'policy',
    read: (s) => s.webhook?.enabled ?? false, write: (b, v) => put(b, 'webhook.enabled', v) },
  { key: 'onSuccess', label: 'Then run, when a run completes (schedule ids, comma-separated)', kind: 'text', section: 'policy', ...ids('onSuccess') },
  { key: 'onFailure', label: 'Then run, when a run fails with no retry left (schedule ids)', kind: 'text', section: 'policy', ...ids('onFailure') },
  { key: 'severity', label: 'Severity override', kind: 'select', options: ['', 'low', 'medium', 'high', 'critical'], section: 'policy', read: (s) => s.severity || '', write: (b, v) => { b.severity = v || null; } },
  { key: 'concurrencyPolicy', label: 'Concurrency', kind: 'select', options: ['allow', 'forbid', 'queue', 'replace'], section: 'policy', read: (s) => s.concurrencyPolicy || 'allow', write: (b, v) => { b.concurrencyPolicy = v; } },
  { key: 'maxConcurrent', label: 'allow: most runs at once (empty = no limit; excess runs wait)', kind: 'number', section: 'policy', ...unset('maxConcurrent', num) },
  { key: 'misfirePolicy', label: 'Missed runs', kind: 'select', options: ['run_once', 'skip', 'run_all'], section: 'policy', read: (s) => s.misfirePolicy || 'run_once', write: (b, v) => { b.misfirePolicy = v; } },
  { key: 'catchupMax', label: 'run_all: most missed runs to make up (empty = 100)', kind: 'number', section: 'policy', ...unset('catchupMax', num) },
  { key: 'catchupWindowSeconds', label: 'run_all: only runs missed within (seconds; empty = 86400)', kind: 'number', section: 'policy', ...unset('catchupWindowSeconds', num) },
  { key: 'jitterSeconds', label: 'Jitter (seconds: each run is delayed by a fixed offset below this)', kind: 'number', section: 'limits', ...unset('jitterSeconds', num) },
  { key: 'startDeadlineSeconds', label: 'Start deadline (seconds: a run later than this is skipped)', kind: 'number', section: 'limits', ...unset('startDeadlineSeconds', num) },
  { key: 'activeFrom', label: 'Active from (RFC 3339; empty = now)', kind: 'text', section: 'limits', ...unset('activeFrom') },
  { key: 'activeUntil', label: 'Active until (RFC 3339; empty = no end)', kind: 'text', section: 'limits', ...unset('activeUntil') },
  { key: 'maxRuns', label: 'Stop after this many runs (empty = no limit)', kind: 'number', section: 'limits', ...unset('maxRuns', num) },
];

// The fields a preview of the unsaved schedule takes besides its rule.
export const PREVIEW_KEYS = ['name', 'jitterSeconds', 'activeFrom', 'activeUntil', 'maxRuns'];

// The fields the server maintains: kept out of the JSON tab (the API ignores them anyway).
// The server's list too (domain::schedule_input::READ_ONLY): it ignores these in a body.
export const READ_ONLY = ['id', 'nextRunAt', 'lastRunAt', 'lastExecutionId', 'createdAt', 'updatedAt', 'pausedAt', 'pausedReason', 'pausedUntil', 'runCount', 'lastStatus', 'consecutiveFailures', 'webhookUrl', 'webhookSecret'];

export function editable(s) {
  const copy = structuredClone(s || {});
  for (const k of READ_ONLY) delete copy[k];
  return copy;
}
