// Errors grouped by problem (fingerprint): one row per group with its count, open records and
// when it was last seen, and bulk Resolve / Ignore / Retry for the whole group (records whose
// status forbids the action are skipped, and the result says how many). The "Last 24 h" column
// draws the group's hourly failure counts as a bar per hour, its total in words for readers.
import { el } from './dom.js';
import { api, errorMessage } from './api.js';
import { can } from './session.js';
import { stamp } from './time.js';
import { listView, apiPath } from './list.js';
import { confirmed } from './confirm.js';

const BARS = '▁▂▃▄▅▆▇█';

// One bar per hour, oldest first, scaled to the busiest hour; an empty hour is a blank.
export function sparkline(hourly) {
  const counts = hourly || [];
  const top = Math.max(0, ...counts);
  const bars = counts.map((n) => (n === 0 ? ' ' : BARS[Math.min(BARS.length, Math.ceil((n * BARS.length) / top)) - 1]));
  const total = counts.reduce((a, n) => a + n, 0);
  return el('span', { class: 'spark', role: 'img', 'aria-label': `${total} failures in the last 24 hours, busiest hour ${top}` }, bars.join(''));
}

const ASK = {
  resolve: (n) => `Resolve the ${n} open records of this problem?`,
  ignore: (n) => `Ignore the ${n} open records of this problem? They will not be retried or escalated again.`,
  retry: (n) => `Retry the ${n} open records of this problem now?`,
};

// opts: { ctx, open: () => bool (only groups with open records), status: element for results }
export function groupList({ ctx, open, status }) {
  const bulk = async (g, action, list) => {
    if (!confirmed(ASK[action](g.openCount))) return;
    const res = await api('POST', '/api/errors/bulk', { action, filter: { fingerprint: g.fingerprint } });
    status.textContent = res.ok
      ? `${action}: ${res.data.affected} changed, ${res.data.skipped} skipped (their status does not allow it).`
      : errorMessage(res);
    list.load();
  };
  const list = listView({
    ctx,
    path: (cursor) => apiPath('/api/errors/groups', { status: open() ? 'open' : 'all' }, cursor),
    head: ['Schedule', 'Type', 'Message', 'Records', 'Open', 'Last 24 h', 'First seen', 'Last seen', ''],
    row: (g) => [
      el('a', { href: `#/schedules/${g.scheduleId}`, class: 'schedule-name' }, g.scheduleName || g.scheduleId),
      g.errorType,
      el('a', { href: `#/errors/${g.lastErrorId}`, title: 'newest record' }, g.sampleMessage),
      String(g.count),
      String(g.openCount),
      sparkline(g.hourly),
      stamp(g.firstSeenAt),
      stamp(g.lastSeenAt),
      can('operator') && g.openCount > 0
        ? el('span', { class: 'actions' }, ['resolve', 'ignore', 'retry'].map((a) =>
          el('button', { type: 'button', 'data-bulk': a, onclick: () => bulk(g, a, list) }, a[0].toUpperCase() + a.slice(1))))
        : '',
    ],
    key: (g) => g.fingerprint,
    attrs: (g) => ({ 'data-group': g.fingerprint, 'data-open': String(g.openCount) }),
    empty: () => (open() ? 'No problem has open records.' : 'No errors recorded.'),
  });
  return list;
}

// The changes of one record, oldest first: automatic ones by `system`.
export function historyTable(history) {
  return el('div', { class: 'table-wrap' }, el('table', { id: 'error-history' },
    el('thead', {}, el('tr', {}, ['When', 'Change', 'By', 'From → to', 'Note'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, (history || []).map((h) => el('tr', { 'data-action': h.action },
      el('td', {}, stamp(h.at)), el('td', {}, h.action.replace('_', ' ')), el('td', {}, h.actor),
      el('td', {}, `${h.fromStatus || '—'} → ${h.toStatus}`), el('td', {}, h.note || ''))))));
}
