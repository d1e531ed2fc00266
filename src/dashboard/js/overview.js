// Overview: counts by status, executions per minute and firing lateness over the last hour,
// and the runs of the next 24 hours across schedules.
import { show, el, empty } from './dom.js';
import { api, errorMessage } from './api.js';
import { banner } from './list.js';
import { upcoming } from './timeline.js';

const EXEC = ['pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'];
const ERR = ['unresolved', 'retry_scheduled', 'retrying', 'escalated', 'resolved', 'ignored'];

function chart(points, value, label, color) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 600 180');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const vals = points.map(value).map((v) => v ?? 0);
  const max = Math.max(1, ...vals);
  const w = 560 / Math.max(1, vals.length);
  vals.forEach((v, i) => {
    const h = (v / max) * 140;
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', 30 + i * w);
    r.setAttribute('y', 160 - h);
    r.setAttribute('width', Math.max(1, w - 2));
    r.setAttribute('height', h);
    r.setAttribute('fill', color);
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${new Date(points[i].minute).toLocaleTimeString()}: ${Math.round(v * 100) / 100}`;
    r.append(t);
    svg.append(r);
  });
  const caption = document.createElementNS(ns, 'text');
  caption.setAttribute('x', 30);
  caption.setAttribute('y', 14);
  caption.setAttribute('font-size', 12);
  caption.setAttribute('fill', '#5b6677');
  caption.textContent = `${label} (max ${Math.round(max * 100) / 100})`;
  svg.append(caption);
  return svg;
}

// Sixty one-minute slots ending now; minutes without executions are zero (or no lateness).
function lastHour(perMinute) {
  const byMinute = new Map(perMinute.map((p) => [new Date(p.minute).getTime(), p]));
  const now = new Date();
  now.setSeconds(0, 0);
  const slots = [];
  for (let i = 59; i >= 0; i -= 1) {
    const t = now.getTime() - i * 60_000;
    slots.push(byMinute.get(t) || { minute: new Date(t).toISOString(), started: 0, meanLatenessMs: null });
  }
  return slots;
}

export async function overview(ctx, main) {
  // The timeline is its own panel, refreshed every 30 s: live events redraw only the figures.
  const next24 = el('div', { id: 'upcoming-slot' });
  const loadUpcoming = async () => { const p = await upcoming(); if (ctx.alive()) next24.replaceChildren(p); };
  async function render() {
    const r = await api('GET', '/api/stats');
    // A view left meanwhile renders nothing: its refresh must not paint over the next view.
    if (!ctx.alive()) return;
    if (!r.ok) { show(main, banner(r.status === 0 ? 'Cannot reach the server.' : errorMessage(r), render)); return; }
    const s = r.data;
    const cards = (keys, counts) => el('div', { class: 'cards' },
      keys.map((k) => el('div', { class: 'card', 'data-count': k }, el('div', { class: 'n' }, counts[k] || 0), el('div', { class: 'l' }, k.replace('_', ' ')))));
    show(main, 
      el('h1', {}, 'Overview'),
      el('h2', {}, 'Executions, last 24 hours'), cards(EXEC, s.executionsByStatus),
      el('h2', {}, 'Error records'), cards(ERR, s.errorsByStatus),
      el('h2', {}, 'Last hour'),
      s.perMinute.length === 0
        ? empty('No executions in the last hour. Create a schedule to see activity here.')
        : el('div', { class: 'grid2' },
          chart(lastHour(s.perMinute), (p) => p.started, 'executions per minute, last 60 minutes', '#2458d6'),
          chart(lastHour(s.perMinute), (p) => p.meanLatenessMs, 'mean firing lateness (ms), last 60 minutes', '#9a6700')),
      el('h2', {}, 'Next 24 hours'), next24,
    );
  }
  await Promise.all([render(), loadUpcoming()]);
  ctx.every(30_000, loadUpcoming);
  // Live events refresh the figures at most once a second.
  let dirty = false;
  ctx.onEvent((e) => { if (e.type && e.type !== 'pong') dirty = true; });
  ctx.every(1000, () => { if (dirty) { dirty = false; render(); } });
}
