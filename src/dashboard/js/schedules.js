// Schedules: the list (search and filters in the URL, "Load more", next runs in the schedule's
// own zone, create/edit with every field, pause/resume, run now, delete), and a page per
// schedule (#/schedules/<id>, in schedule_page.js).
import { show, el, badge, debounce } from './dom.js';
import { api, errorMessage } from './api.js';
import { can } from './session.js';
import { stamp } from './time.js';
import { params, setParams } from './view.js';
import { listView, apiPath } from './list.js';
import { confirmed } from './confirm.js';
import { scheduleForm } from './schedule_form.js';
import { backfillForm } from './backfill.js';
import { describe, nextRun } from './schedule_text.js';
import { schedulePage } from './schedule_page.js';

// Why and until when a paused schedule is paused.
function pauseNote(s) {
  if (s.enabled || (!s.pausedReason && !s.pausedUntil)) return null;
  return el('div', { class: 'muted pause-note' },
    s.pausedReason || '', s.pausedReason && s.pausedUntil ? ' · ' : '',
    s.pausedUntil ? ['until ', stamp(s.pausedUntil)] : '');
}

// What this schedule's runs start: "triggers →" links to each target's runs.
function chainLinks(s) {
  const lists = [['on success', s.onSuccess], ['on failure', s.onFailure]].filter(([, ids]) => ids?.length);
  if (!lists.length) return null;
  return el('div', { class: 'muted chain-links' }, lists.map(([when, ids]) => el('div', {}, `triggers → (${when}) `,
    ids.map((id) => el('a', { href: `#/executions?scheduleId=${id}`, title: id }, `${id.slice(0, 8)}… `)))));
}

// An admin sees the webhook's URL and a curl line that signs its body with the secret.
function webhookNote(s) {
  if (!s.webhookUrl) return null;
  const url = `${location.origin}${s.webhookUrl}`;
  const curl = `body='{}'; curl -X POST '${url}' -H 'Content-Type: application/json' `
    + `-H "X-Taskforge-Signature: sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac '${s.webhookSecret || ''}' | sed 's/^.* //')" -d "$body"`;
  return el('details', { class: 'webhook-note' }, el('summary', {}, 'webhook'),
    el('div', {}, el('code', { class: 'webhook-url' }, url)),
    el('pre', { class: 'webhook-curl' }, curl));
}

// How the latest runs went: the last status, and the failures in a row if any.
function lastRun(s) {
  if (!s.lastStatus) return null;
  const streak = s.consecutiveFailures > 0 ? ` · ${s.consecutiveFailures} failed in a row` : '';
  return el('div', { class: 'muted last-run' }, 'last run: ', badge(s.lastStatus), streak);
}

export async function schedules(ctx, main, id) {
  if (id) { await schedulePage(ctx, main, id); return; }
  const p = params();
  const search = el('input', { type: 'search', id: 'search', placeholder: 'name or tag', value: p.get('q') || '' });
  const enabled = el('select', { id: 'filter-enabled' }, [['', 'all'], ['true', 'enabled'], ['false', 'paused']].map(([v, l]) => el('option', { value: v, selected: v === (p.get('enabled') || '') }, l)));
  const type = el('select', { id: 'filter-type' }, ['', 'shell', 'http', 'conductor'].map((t) => el('option', { value: t, selected: t === (p.get('taskType') || '') }, t || 'all types')));
  const formSlot = el('div');
  const status = el('p', { class: 'form-error', role: 'alert' });
  const filters = () => ({ q: search.value.trim(), enabled: enabled.value, taskType: type.value });

  async function act(s, what) {
    status.textContent = '';
    let r;
    if (what === 'delete') {
      if (!confirmed(`Delete schedule "${s.name}"? Its history stays.`)) return;
      r = await api('DELETE', `/api/scheduler/schedules/${s.id}`);
    } else {
      r = await api('POST', `/api/scheduler/schedules/${s.id}/${what}`, {});
    }
    if (!r.ok) status.textContent = errorMessage(r);
    else if (what === 'trigger') location.hash = `#/executions/${r.data.executionId}`;
    else if (r.data) list.upsert(r.data);
  }

  // Pausing asks for an optional reason and an optional end (local time), then confirms.
  function openPause(s) {
    const reason = el('input', { id: 'pause-reason', type: 'text', maxlength: 4000 });
    const until = el('input', { id: 'pause-until', type: 'datetime-local' });
    const err = el('p', { class: 'form-error', role: 'alert', id: 'pause-error' });
    async function submit(e) {
      e.preventDefault();
      const body = {};
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (until.value) body.until = new Date(until.value).toISOString();
      const r = await api('POST', `/api/scheduler/schedules/${s.id}/pause`, body);
      if (!r.ok) { err.textContent = errorMessage(r); return; }
      formSlot.replaceChildren();
      list.upsert(r.data);
    }
    formSlot.replaceChildren(el('form', { class: 'panel', id: 'pause-form', onsubmit: submit },
      el('h2', {}, `Pause "${s.name}"`),
      el('label', { for: 'pause-reason' }, 'Reason (optional)', reason),
      el('label', { for: 'pause-until' }, 'Resume by itself at (optional, your local time)', until),
      err,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'primary' }, 'Confirm pause'),
        el('button', { type: 'button', onclick: () => formSlot.replaceChildren() }, 'Cancel'))));
    reason.focus();
  }

  function openBackfill(s) {
    formSlot.replaceChildren(backfillForm(s, (message) => {
      formSlot.replaceChildren();
      status.textContent = message || '';
    }));
    formSlot.querySelector('input')?.focus();
  }

  function openForm(existing) {
    formSlot.replaceChildren(scheduleForm(existing, (saved) => {
      formSlot.replaceChildren();
      if (saved) list.load();
    }));
    formSlot.querySelector('input, textarea, select')?.focus();
  }

  const list = listView({
    ctx,
    path: (cursor) => apiPath('/api/scheduler/schedules', filters(), cursor),
    head: ['Name', 'Task', 'When', 'Next run', 'State', 'Actions'],
    row: (s) => [
      el('a', { href: `#/schedules/${s.id}`, class: 'schedule-name' }, s.name), s.taskType, el('td', {}, describe(s), chainLinks(s), webhookNote(s)), nextRun(s),
      el('td', {}, badge(s.enabled ? 'enabled' : 'paused'), pauseNote(s), lastRun(s)),
      el('div', { class: 'actions' },
        can('operator') && el('button', { type: 'button', onclick: () => (s.enabled ? openPause(s) : act(s, 'resume')) }, s.enabled ? 'Pause' : 'Resume'),
        can('operator') && el('button', { type: 'button', onclick: () => act(s, 'trigger') }, 'Run now'),
        can('operator') && el('button', { type: 'button', onclick: () => openBackfill(s) }, 'Backfill'),
        can('admin') && el('button', { type: 'button', onclick: () => openForm(s) }, 'Edit'),
        can('admin') && el('button', { type: 'button', class: 'danger', onclick: () => act(s, 'delete') }, 'Delete')),
    ],
    key: (s) => s.id,
    attrs: (s) => ({ 'data-schedule': s.name }),
    empty: () => (filters().q || enabled.value || type.value ? 'No schedule matches the filters.'
      : (can('admin') ? 'No schedules yet. Use "New schedule" to create one.' : 'No schedules yet.')),
  });
  const reload = () => { setParams(filters()); list.load(); };
  search.addEventListener('input', debounce(reload, 250));
  enabled.addEventListener('change', reload);
  type.addEventListener('change', reload);
  show(main,
    el('h1', {}, 'Schedules'),
    el('div', { class: 'toolbar' },
      el('label', { for: 'search' }, 'Search', search), el('label', { for: 'filter-enabled' }, 'State', enabled), el('label', { for: 'filter-type' }, 'Type', type),
      can('admin') && el('button', { class: 'primary', type: 'button', id: 'new-schedule', onclick: () => openForm(null) }, 'New schedule')),
    formSlot, status, list.element);
  await list.load();
  ctx.onEvent((e) => {
    if (e.type === 'schedule_deleted') { list.load(); return; }
    if (e.type?.startsWith('schedule_') && e.data?.id) list.upsert(e.data, () => true);
  });
}
