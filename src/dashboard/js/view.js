// The life of one rendered view: timers, event subscriptions and in-flight loads belong to it
// and end when the router moves on, before the next view renders. A load that finishes after
// that (`alive()` false) renders nothing.
import { onEvent, follow } from './live.js';

export function viewContext() {
  let alive = true;
  const cleanups = [];
  return {
    alive: () => alive,
    onCleanup(fn) { cleanups.push(fn); },
    every(ms, fn) { const t = setInterval(fn, ms); cleanups.push(() => clearInterval(t)); },
    later(ms, fn) { const t = setTimeout(fn, ms); cleanups.push(() => clearTimeout(t)); },
    onEvent(fn) { cleanups.push(onEvent(fn)); },
    follow(topic, onActive) { cleanups.push(follow(topic, () => { if (alive) onActive?.(); })); },
    close() {
      alive = false;
      for (const fn of cleanups.splice(0)) { try { fn(); } catch { /* a cleanup must not stop the others */ } }
    },
  };
}

// The current hash's query parameters, and a way to change them without re-rendering (the
// URL stays shareable: back, refresh and a copied link keep the filters).
export function params() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

export function setParams(values) {
  const [path] = location.hash.split('?');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', `${path}${s ? `?${s}` : ''}`);
}
