// Plain words for the day rules a cron line can hold beyond crontab: L, L-n, nW, LW in
// day-of-month and d#n, dL in day-of-week. Ordinary fields are left as written.
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const NTH = ['', 'first', 'second', 'third', 'fourth', 'fifth'];

function weekday(text) {
  const i = NAMES.indexOf(text.toUpperCase());
  const n = i >= 0 ? i : Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 7 ? DAYS[n % 7] : text;
}

function ordinal(n) {
  const s = n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th';
  return `${n}${s}`;
}

function monthDay(item) {
  const u = item.toUpperCase();
  if (u === 'L') return 'the last day of the month';
  if (u === 'LW') return 'the last weekday of the month';
  let m = /^L-(\d+)$/.exec(u);
  if (m) return m[1] === '0' ? 'the last day of the month' : m[1] === '1' ? 'the day before the last day of the month' : `${m[1]} days before the last day of the month`;
  m = /^(\d+)W$/.exec(u);
  if (m) return `the weekday nearest the ${ordinal(Number(m[1]))}`;
  return null;
}

function weekDay(item) {
  let m = /^([A-Za-z]+|\d)#(\d)$/.exec(item);
  if (m) return `the ${NTH[Number(m[2])] || `${m[2]}th`} ${weekday(m[1])} of the month`;
  m = /^([A-Za-z]+|\d)L$/i.exec(item);
  if (m && m[1].toUpperCase() !== 'L') return `the last ${weekday(m[1])} of the month`;
  return null;
}

// "on the last day of the month or the second Friday of the month", or '' without such rules.
export function cronDayWords(expression) {
  const f = String(expression || '').trim().split(/\s+/);
  if (f.length < 5) return '';
  const [dom, dow] = f.length === 6 ? [f[3], f[5]] : [f[2], f[4]];
  const words = [
    ...dom.split(',').map(monthDay),
    ...dow.split(',').map(weekDay),
  ].filter(Boolean);
  return words.length ? `on ${words.join(' or ')}` : '';
}
