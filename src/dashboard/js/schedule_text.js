// A schedule in words: when it runs (in its zone) and what "next run" says.
import { el } from './dom.js';
import { stamp } from './time.js';
import { cronDayWords, cronWords } from './cron_words.js';

// The short form for tables: "cron 0 9 * * 1-5 (Europe/Berlin)", "every 90 s".
export function describe(s) {
  const c = s.scheduleConfig || {};
  if (s.scheduleType === 'cron') {
    const words = cronDayWords(c.expression);
    return `cron ${c.expression} (${c.timezone || 'UTC'})${words ? ` · ${words}` : ''}`;
  }
  if (s.scheduleType === 'interval') return `every ${c.intervalSeconds} s${c.startAt ? ` from ${c.startAt}` : ''}`;
  return `once at ${c.runAt}`;
}

// A sentence: "At 09:00 on Monday to Friday, Europe/Berlin time", "Every 90 seconds", "Once, at ...".
export function inWords(s) {
  const c = s.scheduleConfig || {};
  const up = (t) => t.charAt(0).toUpperCase() + t.slice(1);
  if (s.scheduleType === 'cron') {
    const words = cronWords(c.expression) || `on the cron line ${c.expression}`;
    return `${up(words)}, ${c.timezone || 'UTC'} time`;
  }
  if (s.scheduleType === 'interval') {
    const n = Number(c.intervalSeconds);
    const [k, unit] = n % 3600 === 0 ? [n / 3600, 'hour'] : n % 60 === 0 ? [n / 60, 'minute'] : [n, 'second'];
    const every = k === 1 ? unit : `${k} ${unit}s`;
    return `Every ${every}${c.startAt ? `, counted from ${c.startAt}` : ''}`;
  }
  return `Once, at ${c.runAt}`;
}

// What "next run" says: the time in the schedule's zone, or why there is none.
export function nextRun(s) {
  if (!s.enabled) return el('span', { class: 'muted' }, 'paused');
  if (!s.nextRunAt) return el('span', { class: 'muted' }, s.scheduleType === 'once' && s.lastRunAt ? 'done (ran once)' : 'nothing left to run');
  return stamp(s.nextRunAt, s.scheduleType === 'cron' ? s.scheduleConfig?.timezone : undefined);
}
