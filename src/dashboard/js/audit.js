// Audit (admins): who changed what, newest first, filterable by actor, action and resource.
import { show, el, debounce } from './dom.js';
import { stamp } from './time.js';
import { params, setParams } from './view.js';
import { listView, apiPath } from './list.js';

export async function audit(ctx, main) {
  const p = params();
  const actor = el('input', { id: 'audit-actor', type: 'search', placeholder: 'token name, env-token, cli…', value: p.get('actor') || '' });
  const action = el('input', { id: 'audit-action', type: 'search', placeholder: 'schedule.create…', value: p.get('action') || '' });
  const resource = el('input', { id: 'audit-resource', type: 'search', placeholder: 'resource id', value: p.get('resourceId') || '' });
  const filters = () => ({ actor: actor.value.trim(), action: action.value.trim(), resourceId: resource.value.trim() });
  const list = listView({
    ctx,
    path: (cursor) => apiPath('/api/audit', filters(), cursor, 100),
    head: ['When', 'Actor', 'Role', 'Action', 'Resource', 'From', 'Details'],
    row: (e) => [stamp(e.at), e.actor, e.role, e.action, e.resourceId ? `${e.resourceType} ${e.resourceId}` : e.resourceType,
      el('td', { class: 'hide-sm' }, e.ip || ''),
      el('td', { class: 'hide-sm' }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : '')],
    key: (e) => e.id,
    attrs: (e) => ({ 'data-audit': e.id }),
    empty: 'No audit entries match.',
  });
  const reload = debounce(() => { setParams(filters()); list.load(); }, 250);
  for (const input of [actor, action, resource]) input.addEventListener('input', reload);
  show(main, el('h1', {}, 'Audit log'),
    el('div', { class: 'toolbar' },
      el('label', { for: 'audit-actor' }, 'Actor', actor),
      el('label', { for: 'audit-action' }, 'Action', action),
      el('label', { for: 'audit-resource' }, 'Resource', resource)),
    list.element);
  await list.load();
}
