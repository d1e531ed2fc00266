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

const MONTHS = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const MACROS = {
  '@yearly': 'at 00:00 on 1 January', '@annually': 'at 00:00 on 1 January', '@monthly': 'at 00:00 on the 1st of every month',
  '@weekly': 'at 00:00 every Sunday', '@daily': 'every day at 00:00', '@midnight': 'every day at 00:00', '@hourly': 'at the start of every hour',
};
const two = (n) => String(n).padStart(2, '0');
const isNum = (s) => /^\d+$/.test(s);
const step = (s) => (/^\*\/(\d+)$/.exec(s) || [])[1];

function list(items) {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function dayOfWeek(field) {
  return list(field.split(',').map((item) => weekDay(item) || (item.includes('-')
    ? `${weekday(item.split('-')[0])} to ${weekday(item.split('-')[1])}` : weekday(item))));
}

function dayOfMonth(field) {
  return list(field.split(',').map((item) => monthDay(item) || (item.includes('-') ? `days ${item} of the month` : `the ${ordinal(Number(item))}`)));
}

function month(field) {
  return list(field.split(',').map((m) => (isNum(m) ? MONTHS[Number(m)] || m : m)));
}

function timeOfDay(sec, min, hour) {
  const s = sec === '0' ? '' : isNum(sec) ? `:${two(sec)}` : null;
  if (isNum(min) && isNum(hour) && s !== null) return `at ${two(hour)}:${two(min)}${s}`;
  if (isNum(min) && /^[\d,]+$/.test(hour) && s !== null) return `at ${list(hour.split(',').map((h) => `${two(h)}:${two(min)}`))}`;
  if (isNum(min) && hour === '*') return `at minute ${min} of every hour`;
  if (isNum(min) && step(hour)) return `at minute ${min} of every ${step(hour)}th hour`;
  if (step(min) && hour === '*' && sec === '0') return `every ${step(min)} minutes`;
  if (min === '*' && hour === '*') return sec === '*' ? 'every second' : step(sec) ? `every ${step(sec)} seconds` : 'every minute';
  return `at ${sec === '0' ? '' : `second ${sec}, `}minute ${min} of hour ${hour}`;
}

// A cron line in words: "at 09:00 on Monday to Friday", "every 15 minutes", "at 00:00 on the
// 1st"; '' when it is not a cron line. Crontab's rule holds: with both day fields restricted,
// either one matching fires.
export function cronWords(expression) {
  const e = String(expression || '').trim();
  if (MACROS[e.toLowerCase()]) return MACROS[e.toLowerCase()];
  const f = e.split(/\s+/);
  if (f.length !== 5 && f.length !== 6) return '';
  const [sec, min, hour, dom, mon, dow] = f.length === 6 ? f : ['0', ...f];
  const days = [];
  if (dom !== '*' && dom !== '?') days.push(`on ${dayOfMonth(dom)}`);
  if (dow !== '*' && dow !== '?') days.push(`on ${dayOfWeek(dow)}`);
  const when = [timeOfDay(sec, min, hour), days.length ? days.join(' or ') : (isNum(min) && isNum(hour) ? 'every day' : '')];
  if (mon !== '*') when.push(`in ${month(mon)}`);
  return when.filter(Boolean).join(' ');
}
