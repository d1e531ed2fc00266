// The list view every page shares: load a page from the API, "Load more" with its cursor,
// live updates that patch rows in place (the row element stays, so keyboard focus stays),
// and a banner with Retry when the server cannot be reached.
import { el } from './dom.js';
import { api, errorMessage } from './api.js';

// `base?limit=…&<filters>&cursor=…`, leaving out empty filters.
export function apiPath(base, filters, cursor, limit = 50) {
  const q = new URLSearchParams({ limit: String(limit) });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  if (cursor) q.set('cursor', cursor);
  return `${base}?${q}`;
}

export function banner(message, retry) {
  return el('div', { class: 'banner', role: 'alert' }, el('span', {}, message),
    retry ? el('button', { type: 'button', class: 'retry', onclick: retry }, 'Retry') : null);
}

// opts: { ctx, path(cursor) → url, head: [labels], row(item) → [cells], key(item), attrs(item),
//         empty: string | (() => string), onRow(tr, item) }
export function listView(opts) {
  const wrap = el('div', { class: 'table-wrap' });
  const more = el('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const status = el('div', { class: 'list-status' });
  const rows = new Map();
  let tbody = null;
  let cursor = null;

  function fill(tr, item) {
    tr.replaceChildren(...opts.row(item).map((c) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', {}, c))));
    for (const [k, v] of Object.entries(opts.attrs ? opts.attrs(item) : {})) tr.setAttribute(k, v);
  }

  function rowFor(item) {
    const tr = el('tr', {});
    fill(tr, item);
    if (opts.onRow) opts.onRow(tr, item);
    rows.set(opts.key(item), tr);
    return tr;
  }

  function render(items, append) {
    if (!append) {
      rows.clear();
      if (!items.length) {
        wrap.replaceChildren(el('div', { class: 'empty' }, typeof opts.empty === 'function' ? opts.empty() : opts.empty));
        tbody = null;
        return;
      }
      tbody = el('tbody', {});
      wrap.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, opts.head.map((h) => el('th', { scope: 'col' }, h)))), tbody));
    }
    for (const item of items) tbody.append(rowFor(item));
  }

  async function load(append = false) {
    const r = await api('GET', opts.path(append ? cursor : null));
    if (!opts.ctx.alive()) return;
    if (!r.ok) {
      status.replaceChildren(banner(r.status === 0 ? 'Cannot reach the server.' : errorMessage(r), () => load(append)));
      return;
    }
    status.replaceChildren();
    render(r.data.items, append);
    cursor = r.data.nextCursor;
    more.hidden = !cursor;
  }

  // A live item: patched in place when shown, else added on top when `isNew` says it belongs.
  function upsert(item, isNew) {
    const tr = rows.get(opts.key(item));
    if (tr) { fill(tr, item); return; }
    if (!isNew || !isNew(item)) return;
    if (!tbody) { render([item], false); return; }
    tbody.prepend(rowFor(item));
  }

  more.addEventListener('click', () => load(true));
  return { element: el('div', { class: 'list' }, status, wrap, more), load, upsert };
}
