// Errors: opens on what needs attention (unresolved + escalated) with counts per
// status; filters in the URL; "Load more"; actions with a note, confirmed when final; the
// attempt history of a record.
import { show, el, badge } from './dom.js';
import { api, errorMessage } from './api.js';
import { can } from './session.js';
import { stamp } from './time.js';
import { params, setParams } from './view.js';
import { listView, banner, apiPath } from './list.js';
import { confirmed } from './confirm.js';
import { scheduleLink } from './executions.js';
import { groupList, historyTable } from './error_groups.js';

const ATTENTION = 'unresolved,escalated';
const STATUSES = [[ATTENTION, 'needs attention'], ['unresolved', 'unresolved'], ['escalated', 'escalated'],
  ['retry_scheduled', 'retry scheduled'], ['retrying', 'retrying'], ['resolved', 'resolved'], ['ignored', 'ignored'], ['', 'all']];
const ORDER = ['escalated', 'unresolved', 'retry_scheduled', 'retrying', 'resolved', 'ignored'];

async function detail(ctx, main, id) {
  const r = await api('GET', `/api/errors/errors/${id}`);
  if (!ctx.alive()) return;
  if (!r.ok) { show(main, banner(r.status === 0 ? 'Cannot reach the server.' : errorMessage(r), () => detail(ctx, main, id))); return; }
  const e = r.data;
  const note = el('input', { id: 'note', placeholder: 'optional note', value: e.note || '' });
  const status = el('p', { class: 'form-error', role: 'alert' });
  const final = ['resolved', 'ignored'].includes(e.recoveryStatus);
  const ask = { ignore: 'Ignore this error? It will not be retried or escalated again.', escalate: 'Escalate this error? This notifies the on-call webhook.' };
  const action = (name, label, cls) => el('button', { type: 'button', class: cls, disabled: final, onclick: async () => {
    if (ask[name] && !confirmed(ask[name])) return;
    const body = note.value.trim() ? { note: note.value.trim() } : {};
    const res = await api('POST', `/api/errors/errors/${id}/${name}`, body);
    if (!res.ok) status.textContent = errorMessage(res); else detail(ctx, main, id);
  } }, label);
  show(main,
    el('p', {}, el('a', { href: '#/errors' }, '← all errors')),
    el('h1', {}, 'Error ', badge(e.recoveryStatus), ' ', badge(e.severity), ' in ', scheduleLink(e)),
    el('div', { class: 'panel' },
      el('p', {}, el('strong', {}, `${e.errorType}: `), e.message),
      el('p', { class: 'muted' }, `attempts ${e.attempts}/${e.maxAttempts} · next retry `, stamp(e.nextRetryAt), ' · created ', stamp(e.createdAt)),
      e.note ? el('p', {}, el('strong', {}, 'Note: '), e.note) : null,
      can('operator') && el('div', { class: 'toolbar' }, el('label', { for: 'note' }, 'Note', note)),
      can('operator') && el('div', { class: 'actions' }, action('retry', 'Retry now'), action('resolve', 'Resolve', 'primary'), action('ignore', 'Ignore'), action('escalate', 'Escalate', 'danger')),
      status),
    el('h2', {}, 'Attempts'),
    el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['#', 'Status', 'Trigger', 'Started', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, e.executions.map((x) => el('tr', {},
        el('td', {}, el('a', { href: `#/executions/${x.id}` }, x.attempt)), el('td', {}, badge(x.status)), el('td', {}, x.trigger),
        el('td', {}, stamp(x.startedAt)), el('td', {}, x.error || '')))))),
    el('h2', {}, 'History'),
    historyTable(e.history));
}

export async function errors(ctx, main, id) {
  if (id) {
    await detail(ctx, main, id);
    ctx.onEvent((e) => { if (e.data?.id === id && e.type?.startsWith('error_')) detail(ctx, main, id); });
    return;
  }
  const p = params();
  if (p.get('view') === 'groups') { await grouped(ctx, main, p); return; }
  const initial = p.has('recoveryStatus') ? p.get('recoveryStatus') : ATTENTION;
  const status = el('select', { id: 'filter-recovery' }, STATUSES.map(([v, l]) => el('option', { value: v, selected: v === initial }, l)));
  const severity = el('select', { id: 'filter-severity' }, ['', 'low', 'medium', 'high', 'critical'].map((s) => el('option', { value: s, selected: s === (p.get('severity') || '') }, s || 'all')));
  const counts = el('p', { class: 'counts', id: 'error-counts', 'aria-live': 'polite' });
  const wanted = () => status.value.split(',').filter(Boolean);
  const list = listView({
    ctx,
    path: (cursor) => apiPath('/api/errors/errors', { recoveryStatus: status.value, severity: severity.value }, cursor),
    head: ['Status', 'Severity', 'Schedule', 'Type', 'Message', 'Attempts', 'Created'],
    row: (e) => [badge(e.recoveryStatus), badge(e.severity), scheduleLink(e), e.errorType, e.message, `${e.attempts}/${e.maxAttempts}`, stamp(e.createdAt)],
    key: (e) => e.id,
    attrs: (e) => ({ 'data-error': e.id, 'data-status': e.recoveryStatus }),
    onRow: (tr, e) => {
      tr.className = 'clickable';
      tr.tabIndex = 0;
      tr.addEventListener('click', (ev) => { if (!ev.target.closest('a')) location.hash = `#/errors/${e.id}`; });
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && ev.target === tr) location.hash = `#/errors/${e.id}`; });
    },
    empty: () => (status.value === ATTENTION ? 'Nothing needs attention: no unresolved or escalated errors.' : 'No error records match.'),
  });
  async function loadCounts() {
    const r = await api('GET', '/api/stats');
    if (!ctx.alive() || !r.ok) return;
    const by = r.data.errorsByStatus || {};
    counts.replaceChildren(...ORDER.filter((k) => by[k]).flatMap((k, i) => [i ? ' · ' : '', el('span', { 'data-count': k }, `${k.replace('_', ' ')} ${by[k]}`)]));
  }
  const reload = () => { setParams({ recoveryStatus: status.value === ATTENTION ? '' : (status.value || 'all'), severity: severity.value }); list.load(); };
  status.addEventListener('change', reload);
  severity.addEventListener('change', reload);
  show(main, el('h1', {}, 'Errors'), counts,
    el('div', { class: 'toolbar' }, el('label', { for: 'filter-recovery' }, 'Status', status), el('label', { for: 'filter-severity' }, 'Severity', severity),
      el('a', { href: '#/errors?view=groups', id: 'view-groups' }, 'Group by problem')),
    list.element);
  if (initial === 'all') status.value = '';
  await Promise.all([list.load(), loadCounts()]);
  let pending = null;
  ctx.onEvent((e) => {
    if (!e.type?.startsWith('error_') || !e.data?.id) return;
    list.upsert(e.data, (x) => !wanted().length || wanted().includes(x.recoveryStatus));
    clearTimeout(pending);
    pending = setTimeout(loadCounts, 300);
  });
  ctx.onCleanup(() => clearTimeout(pending));
}

// One row per problem; `open=0` in the URL shows groups whose records are all closed too.
async function grouped(ctx, main, p) {
  const open = el('input', { type: 'checkbox', id: 'groups-open', checked: p.get('open') !== '0' });
  const status = el('p', { class: 'form-error', role: 'status', id: 'bulk-result' });
  const list = groupList({ ctx, open: () => open.checked, status });
  open.addEventListener('change', () => { setParams({ view: 'groups', open: open.checked ? '' : '0' }); list.load(); });
  show(main, el('h1', {}, 'Errors by problem'),
    el('div', { class: 'toolbar' }, el('label', { for: 'groups-open' }, open, ' only with open records'),
      el('a', { href: '#/errors', id: 'view-records' }, 'One row per record')),
    status, list.element);
  await list.load();
  let pending = null;
  ctx.onEvent((e) => {
    if (!e.type?.startsWith('error_')) return;
    clearTimeout(pending);
    pending = setTimeout(() => list.load(), 500);
  });
  ctx.onCleanup(() => clearTimeout(pending));
}
