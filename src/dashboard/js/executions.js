// Executions: a live feed (rows appear and change in place), filters, and a detail view.
import { show, el, badge, when, empty } from './dom.js';
import { api, errorMessage } from './api.js';
import { onEvent } from './live.js';
import { can } from './session.js';

function row(x) {
  return el('tr', { class: 'clickable', 'data-execution': x.id, tabindex: 0,
    onclick: () => { location.hash = `#/executions/${x.id}`; },
    onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/executions/${x.id}`; } },
  el('td', {}, badge(x.status)), el('td', {}, x.trigger), el('td', { class: 'hide-sm' }, x.taskType),
  el('td', {}, when(x.scheduledFor)), el('td', {}, x.durationMs == null ? '—' : `${x.durationMs} ms`),
  el('td', { class: 'hide-sm' }, x.error || ''));
}

async function detail(main, id) {
  const r = await api('GET', `/api/executions/${id}`);
  if (!r.ok) { show(main, el('p', { class: 'form-error' }, errorMessage(r))); return null; }
  const x = r.data;
  const res = x.result || {};
  const blocks = [];
  if ('stdout' in res) blocks.push(el('h2', {}, 'stdout'), el('pre', { id: 'stdout' }, res.stdout || ''), el('h2', {}, 'stderr'), el('pre', { id: 'stderr' }, res.stderr || ''));
  else if (x.result !== null) blocks.push(el('h2', {}, 'Result'), el('pre', { id: 'result' }, JSON.stringify(x.result, null, 2)));
  const status = el('p', { class: 'form-error', role: 'alert' });
  const cancel = can('operator') && ['pending', 'running'].includes(x.status)
    ? el('button', { class: 'danger', type: 'button', onclick: async () => {
      const c = await api('POST', `/api/executions/${id}/cancel`, {});
      if (!c.ok) status.textContent = errorMessage(c); else detail(main, id);
    } }, 'Cancel') : null;
  show(main, 
    el('p', {}, el('a', { href: '#/executions' }, '← all executions')),
    el('h1', {}, 'Execution ', badge(x.status)),
    el('div', { class: 'panel grid2' },
      el('div', {}, el('strong', {}, 'Trigger: '), `${x.trigger} (attempt ${x.attempt})`),
      el('div', {}, el('strong', {}, 'Scheduled for: '), when(x.scheduledFor)),
      el('div', {}, el('strong', {}, 'Started: '), when(x.startedAt)),
      el('div', {}, el('strong', {}, 'Finished: '), when(x.finishedAt)),
      el('div', {}, el('strong', {}, 'Duration: '), x.durationMs == null ? '—' : `${x.durationMs} ms`),
      x.conductorThreadId ? el('div', {}, el('strong', {}, 'Conductor: '), `${x.conductorThreadId} (${x.conductorStatus})`) : null,
      x.errorRecordId ? el('div', {}, el('a', { href: `#/errors/${x.errorRecordId}` }, 'error record')) : null),
    x.error ? el('p', { class: 'form-error' }, `${x.errorType || 'error'}: ${x.error}`) : null,
    status, cancel, ...blocks);
  return x;
}

export async function executions(main, id) {
  const [, query = ''] = location.hash.split('?');
  if (id && !id.includes('?')) {
    await detail(main, id);
    return onEvent((e) => { if (e.data?.id === id && e.type?.startsWith('execution_')) detail(main, id); });
  }
  const params = new URLSearchParams(query);
  const status = el('select', { id: 'filter-status', 'aria-label': 'Status filter' }, ['', 'pending', 'running', 'completed', 'failed', 'cancelled'].map((s) => el('option', { value: s }, s || 'all')));
  const trigger = el('select', { id: 'filter-trigger', 'aria-label': 'Trigger filter' }, ['', 'schedule', 'manual', 'retry', 'catch_up'].map((s) => el('option', { value: s }, s || 'all')));
  const since = el('input', { type: 'datetime-local', id: 'filter-since', 'aria-label': 'Since' });
  const body = el('tbody');
  const wrap = el('div', { class: 'table-wrap' });
  const scheduleId = params.get('schedule');

  const matches = (x) => (!status.value || x.status === status.value) && (!trigger.value || x.trigger === trigger.value) && (!scheduleId || x.scheduleId === scheduleId);

  async function load() {
    const q = new URLSearchParams({ limit: '100' });
    if (status.value) q.set('status', status.value);
    if (trigger.value) q.set('trigger', trigger.value);
    if (scheduleId) q.set('scheduleId', scheduleId);
    if (since.value) q.set('since', new Date(since.value).toISOString());
    const r = await api('GET', `/api/executions?${q}`);
    if (!r.ok) { wrap.replaceChildren(el('p', { class: 'form-error' }, errorMessage(r))); return; }
    body.replaceChildren(...r.data.items.map(row));
    render();
  }
  function render() {
    wrap.replaceChildren(body.children.length
      ? el('table', {}, el('thead', {}, el('tr', {}, ['Status', 'Trigger', 'Type', 'Scheduled for', 'Duration', 'Error'].map((h, i) => el('th', { scope: 'col', class: i === 2 || i === 5 ? 'hide-sm' : null }, h)))), body)
      : empty('No executions yet. They appear here live as schedules fire.'));
  }
  for (const f of [status, trigger, since]) f.addEventListener('change', load);
  show(main, el('h1', {}, 'Executions'),
    scheduleId ? el('p', { class: 'muted' }, `Schedule ${scheduleId} — `, el('a', { href: '#/executions' }, 'show all')) : null,
    el('div', { class: 'toolbar' }, el('label', {}, 'Status', status), el('label', {}, 'Trigger', trigger), el('label', {}, 'Since', since)),
    wrap);
  await load();
  return onEvent((e) => {
    if (!e.type?.startsWith('execution_') || !e.data?.id) return;
    const existing = body.querySelector(`[data-execution="${e.data.id}"]`);
    if (!matches(e.data)) { existing?.remove(); render(); return; }
    const fresh = row(e.data);
    if (existing) existing.replaceWith(fresh); else body.prepend(fresh);
    render();
  });
}
