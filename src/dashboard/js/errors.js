// Errors (flow 4): unresolved by default; badges; retry/resolve/ignore/escalate with a note;
// the attempt history of a record.
import { show, el, badge, when, empty, debounce } from './dom.js';
import { api, errorMessage } from './api.js';
import { onEvent } from './live.js';
import { can } from './session.js';

const STATUSES = ['unresolved', 'retry_scheduled', 'retrying', 'escalated', 'resolved', 'ignored', ''];

async function detail(main, id) {
  const r = await api('GET', `/api/errors/errors/${id}`);
  if (!r.ok) { show(main, el('p', { class: 'form-error' }, errorMessage(r))); return; }
  const e = r.data;
  const note = el('input', { id: 'note', placeholder: 'optional note', value: e.note || '', 'aria-label': 'Note' });
  const status = el('p', { class: 'form-error', role: 'alert' });
  const final = ['resolved', 'ignored'].includes(e.recoveryStatus);
  const action = (name, label, cls) => el('button', { type: 'button', class: cls, disabled: final, onclick: async () => {
    const body = note.value.trim() ? { note: note.value.trim() } : {};
    const res = await api('POST', `/api/errors/errors/${id}/${name}`, body);
    if (!res.ok) status.textContent = errorMessage(res); else detail(main, id);
  } }, label);
  show(main, 
    el('p', {}, el('a', { href: '#/errors' }, '← all errors')),
    el('h1', {}, 'Error ', badge(e.recoveryStatus), ' ', badge(e.severity)),
    el('div', { class: 'panel' },
      el('p', {}, el('strong', {}, `${e.errorType}: `), e.message),
      el('p', { class: 'muted' }, `attempts ${e.attempts}/${e.maxAttempts} · next retry ${when(e.nextRetryAt)} · created ${when(e.createdAt)}`),
      e.note ? el('p', {}, el('strong', {}, 'Note: '), e.note) : null,
      can('operator') && el('div', { class: 'toolbar' }, el('label', { for: 'note' }, 'Note', note)),
      can('operator') && el('div', { class: 'actions' }, action('retry', 'Retry now'), action('resolve', 'Resolve', 'primary'), action('ignore', 'Ignore'), action('escalate', 'Escalate', 'danger')),
      status),
    el('h2', {}, 'Attempts'),
    el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['#', 'Status', 'Trigger', 'Started', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, e.executions.map((x) => el('tr', {},
        el('td', {}, el('a', { href: `#/executions/${x.id}` }, x.attempt)), el('td', {}, badge(x.status)), el('td', {}, x.trigger),
        el('td', {}, when(x.startedAt)), el('td', {}, x.error || '')))))));
}

export async function errors(main, id) {
  if (id) {
    await detail(main, id);
    return onEvent((e) => { if (e.data?.id === id && e.type?.startsWith('error_')) detail(main, id); });
  }
  const status = el('select', { id: 'filter-recovery', 'aria-label': 'Recovery status filter' }, STATUSES.map((s) => el('option', { value: s }, s || 'all')));
  const severity = el('select', { id: 'filter-severity', 'aria-label': 'Severity filter' }, ['', 'low', 'medium', 'high', 'critical'].map((s) => el('option', { value: s }, s || 'all')));
  const wrap = el('div', { class: 'table-wrap' });
  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    if (status.value) q.set('recoveryStatus', status.value);
    if (severity.value) q.set('severity', severity.value);
    const r = await api('GET', `/api/errors/errors?${q}`);
    if (!r.ok) { wrap.replaceChildren(el('p', { class: 'form-error' }, errorMessage(r))); return; }
    wrap.replaceChildren(r.data.items.length ? el('table', {},
      el('thead', {}, el('tr', {}, ['Status', 'Severity', 'Type', 'Message', 'Attempts', 'Created'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, r.data.items.map((e) => el('tr', { class: 'clickable', tabindex: 0, 'data-error': e.id,
        onclick: () => { location.hash = `#/errors/${e.id}`; }, onkeydown: (k) => { if (k.key === 'Enter') location.hash = `#/errors/${e.id}`; } },
      el('td', {}, badge(e.recoveryStatus)), el('td', {}, badge(e.severity)), el('td', {}, e.errorType), el('td', {}, e.message),
      el('td', {}, `${e.attempts}/${e.maxAttempts}`), el('td', {}, when(e.createdAt)))))) : empty(status.value === 'unresolved' ? 'Nothing needs attention: no unresolved errors.' : 'No error records match.'));
  }
  status.addEventListener('change', load);
  severity.addEventListener('change', load);
  show(main, el('h1', {}, 'Errors'), el('div', { class: 'toolbar' }, el('label', {}, 'Status', status), el('label', {}, 'Severity', severity)), wrap);
  await load();
  const refresh = debounce(load, 300);
  return onEvent((e) => { if (e.type?.startsWith('error_')) refresh(); });
}
