// Times with their zone, and relative times ("in 22 s", "3 min ago") that tick without a reload.
const UNITS = [[86400, 'd'], [3600, 'h'], [60, 'min'], [1, 's']];

export function relative(iso, now = Date.now()) {
  const d = (new Date(iso).getTime() - now) / 1000;
  const a = Math.abs(d);
  if (a < 1) return 'now';
  for (const [n, u] of UNITS) {
    if (a >= n) {
      const v = Math.floor(a / n);
      return d > 0 ? `in ${v} ${u}` : `${v} ${u} ago`;
    }
  }
  return 'now';
}

const formats = new Map();
function format(zone) {
  if (!formats.has(zone)) {
    formats.set(zone, new Intl.DateTimeFormat('sv-SE', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
    }));
  }
  return formats.get(zone);
}

// `2026-12-01 02:00:00` in `zone` (an IANA name; the browser's own zone when omitted).
export function inZone(iso, zone) {
  const tz = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  try { return format(tz).format(new Date(iso)); } catch { return iso; }
}

function el(tag, attrs, text) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  n.textContent = text;
  return n;
}

// An instant labelled with its zone: the schedule's zone when given (and UTC beside it),
// else UTC with the browser's local time beside it; plus a ticking relative time.
export function stamp(iso, zone) {
  if (!iso) return el('span', { class: 'time' }, '—');
  const wrap = document.createElement('span');
  wrap.className = 'time';
  wrap.title = `${iso} (UTC)`;
  const main = zone && zone !== 'UTC'
    ? `${inZone(iso, zone)} ${zone} · ${inZone(iso, 'UTC').slice(11, 16)} UTC`
    : `${inZone(iso, 'UTC')} UTC`;
  wrap.append(el('time', { datetime: iso }, main), ' ', el('span', { class: 'rel', 'data-rel': iso }, `(${relative(iso)})`));
  return wrap;
}

let ticking = null;
// Keeps every relative time current (one timer for the page).
export function startTicker() {
  if (ticking) return;
  ticking = setInterval(() => {
    for (const e of document.querySelectorAll('[data-rel]')) e.textContent = `(${relative(e.dataset.rel)})`;
  }, 1000);
}
