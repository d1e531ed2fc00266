// One schedule's page (#/schedules/<id>): its state, when it runs in words, its next runs
// with DST marks, its last 50 runs as a chart coloured by status, its stats of the last 24 h,
// its error groups and what its latest run printed. It follows schedule:<id> and redraws
// (at most once a second) when anything of the schedule changes.
import { show, el, badge, empty } from './dom.js';
import { api, errorMessage } from './api.js';
import { can } from './session.js';
import { stamp, inZone } from './time.js';
import { banner } from './list.js';
import { describe, inWords, nextRun } from './schedule_text.js';

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs) => {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
};

// The last runs, oldest left and newest right: a bar each, as tall as it took (log scale), coloured by status.
function runChart(runs) {
  const counts = {};
  for (const x of runs) counts[x.status] = (counts[x.status] || 0) + 1;
  const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ');
  // Fifty slots, the newest run at the right end; bars stretch with the page's width.
  const chart = svg('svg', { class: 'chart runs-chart', viewBox: '0 0 600 120', preserveAspectRatio: 'none', role: 'img', 'aria-label': `last ${runs.length} runs: ${summary}` });
  const ordered = [...runs].reverse();
  const w = 580 / 50;
  const left = 10 + (50 - ordered.length) * w;
  const max = Math.log10(10 + Math.max(0, ...ordered.map((x) => x.durationMs || 0)));
  ordered.forEach((x, i) => {
    const h = 8 + 92 * (Math.log10(10 + (x.durationMs || 0)) - 1) / Math.max(0.001, max - 1);
    const bar = svg('rect', { x: left + i * w, y: 110 - h, width: Math.max(2, w - 3), height: h, class: `run-bar ${x.status}`, 'data-status': x.status });
    const t = svg('title', {});
    t.textContent = `${x.status} · ${x.scheduledFor} · ${x.durationMs == null ? '—' : `${x.durationMs} ms`}`;
    bar.append(t);
    chart.append(bar);
  });
  return chart;
}

function statsCards(st) {
  const pct = st.successRate == null ? '—' : `${Math.round(st.successRate * 1000) / 10} %`;
  const ms = (v) => (v == null ? '—' : `${Math.round(v)} ms`);
  const skipped = Object.values(st.skipped || {}).reduce((a, b) => a + b, 0);
  return el('div', { class: 'cards', id: 'schedule-stats' }, [
    ['success rate', pct], ['completed', st.completed], ['failed', st.failed], ['skipped', skipped],
    ['expected slots', st.expected], ['failures in a row', st.consecutiveFailures],
    ['duration p50', ms(st.durationP50Ms)], ['start lag p99', ms(st.lagP99Ms)],
  ].map(([l, n]) => el('div', { class: 'card' }, el('div', { class: 'n' }, n), el('div', { class: 'l' }, l))));
}

function nextRuns(s, details) {
  const zone = s.scheduleType === 'cron' ? s.scheduleConfig?.timezone : undefined;
  if (!s.enabled) return el('p', { class: 'muted' }, 'Paused: no runs are planned until it is resumed.');
  if (!details.length) return el('p', { class: 'muted' }, 'Nothing left to run.');
  return el('ol', { class: 'runs', id: 'next-runs' }, details.map((d) => el('li', {},
    stamp(d.at, zone),
    d.dst ? el('span', { class: `badge dst ${d.dst}`, title: d.dst === 'gap' ? 'a DST change skipped the local time before it' : 'in the hour that DST repeats; fires at its first occurrence' }, `DST ${d.dst}`) : null)));
}

function groups(items) {
  if (!items.length) return empty('No errors recorded for this schedule.');
  return el('table', { id: 'schedule-groups' }, el('thead', {}, el('tr', {}, ['Problem', 'Type', 'Open', 'Total', 'Last seen'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, items.map((g) => el('tr', {},
      el('td', {}, el('a', { href: `#/errors/${g.lastErrorId}` }, g.sampleMessage)), el('td', {}, g.errorType),
      el('td', {}, String(g.openCount)), el('td', {}, String(g.count)), el('td', {}, stamp(g.lastSeenAt))))));
}

async function latestOutput(last) {
  if (!last) return empty('It has not run yet.');
  const head = el('p', {}, 'Run ', el('a', { href: `#/executions/${last.id}` }, last.id.slice(0, 8)), ' ', badge(last.status), ' ', stamp(last.scheduledFor));
  if (last.taskType !== 'shell') return el('div', {}, head, el('pre', { id: 'latest-output' }, JSON.stringify(last.result ?? null, null, 2)));
  const out = await api('GET', `/api/executions/${last.id}/output`);
  const text = out.ok ? [out.data.stdout, out.data.stderr].filter(Boolean).join('\n') : errorMessage(out);
  return el('div', {}, head, el('pre', { id: 'latest-output' }, text || '(no output)'));
}

export async function schedulePage(ctx, main, id) {
  const status = el('p', { class: 'form-error', role: 'alert' });
  async function render() {
    const base = `/api/scheduler/schedules/${id}`;
    const [r, next, runs, stats, errs] = await Promise.all([
      api('GET', base), api('GET', `${base}/next-runs?count=10&detail=true`), api('GET', `/api/executions?scheduleId=${id}&limit=50`),
      api('GET', `${base}/stats`), api('GET', `/api/errors/groups?status=all&scheduleId=${id}&limit=20`),
    ]);
    if (!ctx.alive()) return;
    if (!r.ok) { show(main, banner(errorMessage(r), r.status === 0 ? render : null)); return; }
    const s = r.data;
    const history = runs.ok ? runs.data.items : [];
    const output = await latestOutput(history.find((x) => x.status !== 'skipped' && x.status !== 'pending'));
    if (!ctx.alive()) return;
    // A redraw keeps keyboard focus on the control that had it.
    const focused = main.contains(document.activeElement) ? document.activeElement.id : '';
    const act = async (what) => {
      const res = await api('POST', `${base}/${what}`, {});
      if (!res.ok) status.textContent = errorMessage(res);
      else if (what === 'trigger') location.hash = `#/executions/${res.data.executionId}`;
      else render();
    };
    show(main,
      el('h1', {}, s.name, ' ', badge(s.enabled ? 'enabled' : 'paused'), ' ', s.lastStatus ? badge(s.lastStatus) : null),
      s.description ? el('p', { id: 'schedule-description' }, s.description) : null,
      el('div', { class: 'panel' },
        el('p', { id: 'schedule-words' }, el('strong', {}, inWords(s))),
        el('p', { class: 'muted' }, describe(s), ' · ', s.taskType, s.managedBy ? ` · managed by ${s.managedBy}` : '', s.tags.length ? ` · tags: ${s.tags.join(', ')}` : ''),
        !s.enabled && s.pausedReason ? el('p', {}, `Paused: ${s.pausedReason}`) : null,
        el('p', {}, 'Next run: ', nextRun(s)),
        el('div', { class: 'actions' },
          can('operator') && el('button', { type: 'button', id: 'page-trigger', onclick: () => act('trigger') }, 'Run now'),
          can('operator') && el('button', { type: 'button', id: 'page-toggle', onclick: () => act(s.enabled ? 'pause' : 'resume') }, s.enabled ? 'Pause' : 'Resume'),
          el('a', { href: `#/executions?scheduleId=${s.id}` }, 'All runs →')),
        status),
      el('div', { class: 'grid2' },
        el('section', { 'aria-labelledby': 'h-next' }, el('h2', { id: 'h-next' }, 'Next runs', s.scheduleType === 'cron' ? ` (${s.scheduleConfig.timezone || 'UTC'})` : ''),
          next.ok ? nextRuns(s, next.data.details || next.data.runs.map((at) => ({ at }))) : el('p', { class: 'form-error' }, errorMessage(next))),
        el('section', { 'aria-labelledby': 'h-stats' }, el('h2', { id: 'h-stats' }, 'Last 24 hours'),
          stats.ok ? statsCards(stats.data) : el('p', { class: 'form-error' }, errorMessage(stats)))),
      el('h2', {}, `Last ${history.length} runs`),
      history.length ? runChart(history) : empty('No runs yet.'),
      el('h2', {}, 'Error groups'), errs.ok ? groups(errs.data.items) : el('p', { class: 'form-error' }, errorMessage(errs)),
      el('h2', {}, 'Latest output'), output,
      el('p', { class: 'muted' }, `Created ${inZone(s.createdAt, 'UTC')} UTC · updated ${inZone(s.updatedAt, 'UTC')} UTC`));
    if (focused) document.getElementById(focused)?.focus();
  }
  await render();
  let dirty = false;
  ctx.follow(`schedule:${id}`, () => { dirty = true; });
  ctx.onEvent((e) => { if (e.data?.id === id || e.data?.scheduleId === id) dirty = true; });
  ctx.every(1000, () => { if (dirty) { dirty = false; render(); } });
}
