// Audit (admins): who changed what, newest first, filterable by actor, action and resource.
import { show, el, when, empty, debounce } from './dom.js';
import { api, errorMessage } from './api.js';

export async function audit(main) {
  const actor = el('input', { id: 'audit-actor', type: 'search', placeholder: 'token name, env-token, cli…' });
  const action = el('input', { id: 'audit-action', type: 'search', placeholder: 'schedule.create…' });
  const resource = el('input', { id: 'audit-resource', type: 'search', placeholder: 'resource id' });
  const wrap = el('div', { class: 'table-wrap' });
  const more = el('button', { type: 'button', id: 'audit-more', hidden: true }, 'Load more');
  let cursor = null;
  let rows = [];

  function render() {
    wrap.replaceChildren(rows.length ? el('table', {},
      el('thead', {}, el('tr', {}, ['When', 'Actor', 'Role', 'Action', 'Resource', 'From', 'Details'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map((e) => el('tr', { 'data-audit': e.id },
        el('td', {}, when(e.at)), el('td', {}, e.actor), el('td', {}, e.role), el('td', {}, e.action),
        el('td', {}, e.resourceId ? `${e.resourceType} ${e.resourceId}` : e.resourceType),
        el('td', { class: 'hide-sm' }, e.ip || ''),
        el('td', { class: 'hide-sm' }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : ''))))) : empty('No audit entries match.'));
    more.hidden = !cursor;
  }

  async function load(append) {
    const q = new URLSearchParams({ limit: '100' });
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (action.value.trim()) q.set('action', action.value.trim());
    if (resource.value.trim()) q.set('resourceId', resource.value.trim());
    if (append && cursor) q.set('cursor', cursor);
    const r = await api('GET', `/api/audit?${q}`);
    if (!r.ok) { wrap.replaceChildren(el('p', { class: 'form-error' }, errorMessage(r))); return; }
    rows = append ? rows.concat(r.data.items) : r.data.items;
    cursor = r.data.nextCursor;
    render();
  }

  const reload = debounce(() => load(false), 250);
  for (const input of [actor, action, resource]) input.addEventListener('input', reload);
  more.addEventListener('click', () => load(true));
  show(main, el('h1', {}, 'Audit log'),
    el('div', { class: 'toolbar' },
      el('label', { for: 'audit-actor' }, 'Actor', actor),
      el('label', { for: 'audit-action' }, 'Action', action),
      el('label', { for: 'audit-resource' }, 'Resource', resource)),
    wrap, more);
  await load(false);
  return null;
}
