// The next 24 hours across schedules: a row per schedule (the soonest first), a tick per run,
// hours marked in the browser's time; and the next runs as a list of links.
import { el, empty } from './dom.js';
import { api, errorMessage } from './api.js';
import { stamp } from './time.js';

const SVG = 'http://www.w3.org/2000/svg';
const ROWS = 12;
const DAY = 86_400_000;

function svg(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

function chart(items, now) {
  const bySchedule = new Map();
  for (const it of items) {
    if (!bySchedule.has(it.scheduleId)) bySchedule.set(it.scheduleId, { name: it.name, at: [] });
    bySchedule.get(it.scheduleId).at.push(new Date(it.at).getTime());
  }
  const rows = [...bySchedule.values()].slice(0, ROWS);
  const x = (t) => 150 + ((t - now) / DAY) * 440;
  const height = 24 + rows.length * 18;
  const total = rows.reduce((n, r) => n + r.at.length, 0);
  const chartEl = svg('svg', { class: 'chart timeline', viewBox: `0 0 600 ${height}`, style: `height: ${height * 1.2}px`, role: 'img',
    'aria-label': `${total} runs of ${rows.length} schedules in the next 24 hours` });
  for (let h = 0; h <= 24; h += 3) {
    const t = now + h * 3_600_000;
    chartEl.append(svg('line', { x1: x(t), x2: x(t), y1: 14, y2: height, class: 'tick' }),
      svg('text', { x: x(t), y: 10, 'text-anchor': 'middle', 'font-size': 9 }, h === 0 ? 'now' : new Date(t).toTimeString().slice(0, 5)));
  }
  rows.forEach((r, i) => {
    const y = 28 + i * 18;
    chartEl.append(svg('text', { x: 4, y: y + 3, 'font-size': 10 }, r.name.length > 24 ? `${r.name.slice(0, 23)}…` : r.name));
    for (const t of r.at) {
      const tick = svg('rect', { x: x(t) - 1, y: y - 6, width: 2.5, height: 12, class: 'run-tick' });
      tick.append(svg('title', {}, `${r.name}: ${new Date(t).toISOString()}`));
      chartEl.append(tick);
    }
  });
  return chartEl;
}

// The panel: loaded now and refreshed by the caller.
export async function upcoming() {
  const now = Date.now();
  const r = await api('GET', '/api/scheduler/upcoming?limit=2000');
  if (!r.ok) return el('p', { class: 'form-error' }, errorMessage(r));
  const items = r.data.items;
  if (!items.length) return empty('Nothing is planned in the next 24 hours.');
  return el('div', { id: 'upcoming' }, chart(items, now),
    el('details', {}, el('summary', {}, 'Next 10 runs'),
      el('ol', { class: 'runs' }, items.slice(0, 10).map((it) => el('li', {},
        el('a', { href: `#/schedules/${it.scheduleId}` }, it.name), ' ', stamp(it.at))))));
}
