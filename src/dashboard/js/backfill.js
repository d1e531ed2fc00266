// Backfill dialog: pick a range, see the dry run's plan (the slots that would run, and how many
// already ran), then confirm. Nothing runs before the confirm.
import { el } from './dom.js';
import { api, errorMessage } from './api.js';
import { stamp } from './time.js';

export function backfillForm(s, onDone) {
  const from = el('input', { id: 'backfill-from', type: 'datetime-local' });
  const to = el('input', { id: 'backfill-to', type: 'datetime-local' });
  const order = el('select', { id: 'backfill-order' }, [['asc', 'oldest first'], ['desc', 'newest first']].map(([v, l]) => el('option', { value: v }, l)));
  const err = el('p', { class: 'form-error', role: 'alert', id: 'backfill-error' });
  const summary = el('p', { id: 'backfill-summary', 'aria-live': 'polite' });
  const plan = el('ol', { class: 'runs', id: 'backfill-plan' });
  const confirm = el('button', { type: 'submit', class: 'primary', id: 'backfill-confirm', disabled: true }, 'Confirm backfill');
  const zone = s.scheduleType === 'cron' ? s.scheduleConfig?.timezone : undefined;
  const body = (dryRun) => ({
    from: from.value ? new Date(from.value).toISOString() : undefined,
    to: to.value ? new Date(to.value).toISOString() : undefined,
    order: order.value,
    dryRun,
  });
  const path = `/api/scheduler/schedules/${s.id}/backfill`;
  // Any change of the range needs a new preview before it can be confirmed.
  for (const input of [from, to, order]) input.addEventListener('change', () => { confirm.disabled = true; });

  async function preview() {
    err.textContent = '';
    const r = await api('POST', path, body(true));
    if (!r.ok) { err.textContent = errorMessage(r); plan.replaceChildren(); confirm.disabled = true; return; }
    summary.textContent = `${r.data.count} slot(s) would run; ${r.data.alreadyRun} already ran and are not repeated.`;
    plan.replaceChildren(...r.data.runs.map((t) => el('li', {}, stamp(t, zone))));
    confirm.disabled = r.data.count === 0;
  }

  async function submit(e) {
    e.preventDefault();
    const r = await api('POST', path, body(false));
    if (!r.ok) { err.textContent = errorMessage(r); return; }
    onDone(`Backfill of "${s.name}" started: ${r.data.count} run(s), one at a time.`);
  }

  return el('form', { class: 'panel', id: 'backfill-form', onsubmit: submit },
    el('h2', {}, `Backfill "${s.name}"`),
    el('p', { class: 'muted' }, 'Runs the slots in the range that did not run (also while paused). Times are your local time.'),
    el('div', { class: 'grid2' },
      el('label', { for: 'backfill-from' }, 'From', from),
      el('label', { for: 'backfill-to' }, 'To (not included)', to),
      el('label', { for: 'backfill-order' }, 'Order', order)),
    err, summary, plan,
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'backfill-preview', onclick: preview }, 'Preview (dry run)'),
      confirm,
      el('button', { type: 'button', onclick: () => onDone(null) }, 'Cancel')));
}
