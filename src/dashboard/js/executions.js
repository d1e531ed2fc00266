// Executions: a live list (rows patched in place), filters kept in the URL, "Load more", and a
// detail view with output (tailed live while it runs) and cancel.
import { show, el, badge } from './dom.js';
import { api, errorMessage } from './api.js';
import { can } from './session.js';
import { stamp } from './time.js';
import { params, setParams } from './view.js';
import { listView, banner, apiPath } from './list.js';
import { confirmed } from './confirm.js';

const STATUSES = ['', 'pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'];
const TRIGGERS = ['', 'schedule', 'manual', 'retry', 'catch_up', 'backfill', 'chained'];

export function scheduleLink(x) {
  return el('a', { href: `#/schedules/${x.scheduleId}`, class: 'schedule-name' }, x.scheduleName || x.scheduleId);
}

function cells(x) {
  return [
    badge(x.status), scheduleLink(x), x.trigger, el('td', { class: 'hide-sm' }, x.taskType),
    stamp(x.scheduledFor), x.durationMs == null ? '—' : `${x.durationMs} ms`,
    el('td', { class: 'hide-sm' }, x.skipReason ? `skipped: ${x.skipReason}` : x.error || ''),
  ];
}

async function detail(ctx, main, id) {
  const r = await api('GET', `/api/executions/${id}`);
  if (!ctx.alive()) return;
  if (!r.ok) { show(main, banner(r.status === 0 ? 'Cannot reach the server.' : errorMessage(r), () => detail(ctx, main, id))); return; }
  const x = r.data;
  const res = x.result || {};
  const blocks = [];
  const live = x.taskType === 'shell' && ['pending', 'running'].includes(x.status);
  if (live) {
    blocks.push(el('h2', {}, 'stdout ', el('span', { class: 'muted' }, '(live)')), el('pre', { id: 'stdout', 'data-live': 'true' }),
      el('h2', {}, 'stderr'), el('pre', { id: 'stderr', 'data-live': 'true' }));
  } else if ('stdout' in res) blocks.push(el('h2', {}, 'stdout'), el('pre', { id: 'stdout' }, res.stdout || ''), el('h2', {}, 'stderr'), el('pre', { id: 'stderr' }, res.stderr || ''));
  else if (x.result !== null) blocks.push(el('h2', {}, 'Result'), el('pre', { id: 'result' }, JSON.stringify(x.result, null, 2)));
  const status = el('p', { class: 'form-error', role: 'alert' });
  const cancel = can('operator') && ['pending', 'running'].includes(x.status)
    ? el('button', { class: 'danger', type: 'button', onclick: async () => {
      if (!confirmed(`Cancel this ${x.status} execution of "${x.scheduleName}"?`)) return;
      const c = await api('POST', `/api/executions/${id}/cancel`, {});
      if (!c.ok) status.textContent = errorMessage(c); else detail(ctx, main, id);
    } }, 'Cancel') : null;
  show(main,
    el('p', {}, el('a', { href: '#/executions' }, '← all executions')),
    el('h1', {}, 'Execution ', badge(x.status), ' of ', scheduleLink(x)),
    el('div', { class: 'panel grid2' },
      el('div', {}, el('strong', {}, 'Schedule: '), scheduleLink(x)),
      el('div', {}, el('strong', {}, 'Trigger: '), `${x.trigger} (attempt ${x.attempt})`),
      el('div', {}, el('strong', {}, 'Scheduled for: '), stamp(x.scheduledFor)),
      el('div', {}, el('strong', {}, 'Started: '), stamp(x.startedAt)),
      el('div', {}, el('strong', {}, 'Finished: '), stamp(x.finishedAt)),
      el('div', {}, el('strong', {}, 'Duration: '), x.durationMs == null ? '—' : `${x.durationMs} ms`),
      x.conductorThreadId ? el('div', {}, el('strong', {}, 'Conductor: '), `${x.conductorThreadId} (${x.conductorStatus})`) : null,
      x.errorRecordId ? el('div', {}, el('a', { href: `#/errors/${x.errorRecordId}` }, 'error record')) : null,
      x.skipReason ? el('div', {}, el('strong', {}, 'Skipped: '), x.skipReason) : null,
      x.chainedFrom ? el('div', { class: 'chained-from' }, el('strong', {}, 'Triggered by ← '), el('a', { href: `#/executions/${x.chainedFrom}` }, `execution ${x.chainedFrom.slice(0, 8)}…`)) : null),
    x.error ? el('p', { class: 'form-error' }, `${x.errorType || 'error'}: ${x.error}`) : null,
    status, cancel,
    x.payload == null ? null : el('h2', {}, 'Payload'),
    x.payload == null ? null : el('pre', { id: 'payload' }, JSON.stringify(x.payload, null, 2)),
    ...blocks);
  if (live) ctx.tail?.();
}

// What a running task printed so far, painted into its live blocks; a block scrolled to its
// end stays at the end as lines arrive. One request at a time: frames that arrive meanwhile
// are covered by one more request after it.
function tailer(ctx, id) {
  let busy = false;
  let again = false;
  const paint = (out) => {
    for (const k of ['stdout', 'stderr']) {
      const pre = document.getElementById(k);
      if (!pre || pre.dataset.live !== 'true') continue;
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = out[k];
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
  };
  return async () => {
    if (busy) { again = true; return; }
    busy = true;
    do {
      again = false;
      const r = await api('GET', `/api/executions/${id}/output`);
      if (!ctx.alive()) return;
      if (r.ok) paint(r.data);
    } while (again);
    busy = false;
  };
}

function select(id, label, values, value) {
  const s = el('select', { id }, values.map((v) => el('option', { value: v, selected: v === value }, v || 'all')));
  return [s, el('label', { for: id }, label, s)];
}

export async function executions(ctx, main, id) {
  if (id) {
    ctx.tail = tailer(ctx, id);
    await detail(ctx, main, id);
    // Once the server sends this run's events, read it again: it may have moved on meanwhile.
    ctx.follow(`execution:${id}`, () => detail(ctx, main, id));
    ctx.onEvent((e) => {
      if (e.type === 'execution_output' && e.data?.executionId === id) ctx.tail();
      else if (e.data?.id === id && e.type?.startsWith('execution_')) detail(ctx, main, id);
    });
    return;
  }
  const p = params();
  const [status, statusLabel] = select('filter-status', 'Status', STATUSES, p.get('status') || '');
  const [trigger, triggerLabel] = select('filter-trigger', 'Trigger', TRIGGERS, p.get('trigger') || '');
  const scheduleId = p.get('scheduleId') || '';
  const heading = el('h1', {}, 'Executions');
  const filters = () => ({ status: status.value, trigger: trigger.value, scheduleId });
  const matches = (x) => (!status.value || x.status === status.value) && (!trigger.value || x.trigger === trigger.value) && (!scheduleId || x.scheduleId === scheduleId);
  const list = listView({
    ctx,
    path: (cursor) => apiPath('/api/executions', filters(), cursor),
    head: ['Status', 'Schedule', 'Trigger', 'Type', 'Scheduled for', 'Duration', 'Error'],
    row: cells,
    key: (x) => x.id,
    attrs: (x) => ({ 'data-execution': x.id, 'data-status': x.status }),
    onRow: (tr, x) => {
      tr.className = 'clickable';
      tr.tabIndex = 0;
      tr.addEventListener('click', (e) => { if (!e.target.closest('a')) location.hash = `#/executions/${x.id}`; });
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target === tr) location.hash = `#/executions/${x.id}`; });
    },
    empty: () => (scheduleId || status.value || trigger.value ? 'No executions match the filters.' : 'No executions yet. They appear here live as schedules fire.'),
  });
  const reload = () => { setParams(filters()); list.load(); };
  status.addEventListener('change', reload);
  trigger.addEventListener('change', reload);
  show(main, heading,
    scheduleId ? el('p', { class: 'muted' }, el('a', { href: '#/executions' }, 'show all schedules')) : null,
    el('div', { class: 'toolbar' }, statusLabel, triggerLabel),
    list.element);
  await list.load();
  if (scheduleId) {
    const s = await api('GET', `/api/scheduler/schedules/${scheduleId}`);
    if (ctx.alive()) heading.textContent = `Executions of ${s.ok ? s.data.name : scheduleId}`;
  }
  ctx.onEvent((e) => {
    if (!e.type?.startsWith('execution_') || !e.data?.id) return;
    list.upsert(e.data, matches);
  });
}
