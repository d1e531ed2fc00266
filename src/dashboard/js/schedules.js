// Schedules: table with search and filters; create/edit; pause/resume, run now, delete.
import { show, el, badge, when, empty, debounce } from './dom.js';
import { api, errorMessage } from './api.js';
import { onEvent } from './live.js';
import { can } from './session.js';
import { scheduleForm } from './schedule_form.js';

function describe(s) {
  const c = s.scheduleConfig || {};
  if (s.scheduleType === 'cron') return `cron ${c.expression} (${c.timezone})`;
  if (s.scheduleType === 'interval') return `every ${c.intervalSeconds}s`;
  return `once at ${c.runAt}`;
}

export async function schedules(main) {
  const search = el('input', { type: 'search', id: 'search', placeholder: 'Search by name or tag', 'aria-label': 'Search schedules' });
  const enabled = el('select', { id: 'filter-enabled', 'aria-label': 'Enabled filter' }, el('option', { value: '' }, 'all'), el('option', { value: 'true' }, 'enabled'), el('option', { value: 'false' }, 'paused'));
  const type = el('select', { id: 'filter-type', 'aria-label': 'Task type filter' }, ['', 'shell', 'http', 'conductor'].map((t) => el('option', { value: t }, t || 'all types')));
  const formSlot = el('div');
  const status = el('p', { class: 'form-error', role: 'alert' });
  const tableSlot = el('div', { class: 'table-wrap' });

  function openForm(existing) {
    formSlot.replaceChildren(scheduleForm(existing, (saved) => { formSlot.replaceChildren(); if (saved) load(); }));
    formSlot.querySelector('input')?.focus();
  }

  async function act(s, what) {
    status.textContent = '';
    let r;
    if (what === 'delete') {
      if (!confirm(`Delete schedule "${s.name}"? Its history stays.`)) return;
      r = await api('DELETE', `/api/scheduler/schedules/${s.id}`);
    } else {
      r = await api('POST', `/api/scheduler/schedules/${s.id}/${what}`, {});
    }
    if (!r.ok) status.textContent = errorMessage(r);
    else if (what === 'trigger') location.hash = `#/executions/${r.data.executionId}`;
    load();
  }

  async function load() {
    const q = new URLSearchParams({ limit: '500' });
    if (enabled.value) q.set('enabled', enabled.value);
    if (type.value) q.set('taskType', type.value);
    const r = await api('GET', `/api/scheduler/schedules?${q}`);
    if (!r.ok) { tableSlot.replaceChildren(el('p', { class: 'form-error' }, errorMessage(r))); return; }
    const term = search.value.trim().toLowerCase();
    const items = r.data.items.filter((s) => !term || s.name.toLowerCase().includes(term) || s.tags.some((t) => t.toLowerCase().includes(term)));
    if (items.length === 0) {
      tableSlot.replaceChildren(empty(r.data.items.length ? 'No schedule matches the filters.' : (can('admin') ? 'No schedules yet. Use "New schedule" to create one.' : 'No schedules yet.')));
      return;
    }
    tableSlot.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['Name', 'Task', 'When', 'Next run', 'State', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, items.map((s) => el('tr', { 'data-schedule': s.name },
        el('td', {}, el('a', { href: `#/executions?schedule=${s.id}` }, s.name)),
        el('td', {}, s.taskType),
        el('td', {}, describe(s)),
        el('td', {}, when(s.nextRunAt)),
        el('td', {}, badge(s.enabled ? 'enabled' : 'paused')),
        el('td', {}, el('div', { class: 'actions' },
          can('operator') && el('button', { type: 'button', onclick: () => act(s, s.enabled ? 'pause' : 'resume') }, s.enabled ? 'Pause' : 'Resume'),
          can('operator') && el('button', { type: 'button', onclick: () => act(s, 'trigger') }, 'Run now'),
          can('admin') && el('button', { type: 'button', onclick: () => openForm(s) }, 'Edit'),
          can('admin') && el('button', { type: 'button', class: 'danger', onclick: () => act(s, 'delete') }, 'Delete'))))))));
  }

  search.addEventListener('input', debounce(load, 200));
  enabled.addEventListener('change', load);
  type.addEventListener('change', load);
  show(main, 
    el('h1', {}, 'Schedules'),
    el('div', { class: 'toolbar' }, el('label', {}, 'Search', search), el('label', {}, 'State', enabled), el('label', {}, 'Type', type),
      can('admin') && el('button', { class: 'primary', type: 'button', id: 'new-schedule', onclick: () => openForm(null) }, 'New schedule')),
    formSlot, status, tableSlot);
  await load();
  const refresh = debounce(load, 300);
  return onEvent((e) => { if (e.type?.startsWith('schedule_')) refresh(); });
}
