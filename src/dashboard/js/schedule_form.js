// Create/edit form for every schedule and task type, with the API's validation messages shown
// next to their fields and a live "next 5 runs" preview.
import { el, debounce } from './dom.js';
import { api, errorMessage } from './api.js';

function field(name, label, input, help) {
  return el('label', { for: `f-${name}` }, label, input, help ? el('span', { class: 'muted' }, help) : null,
    el('span', { class: 'field-error', id: `err-${name}`, role: 'alert' }));
}

function input(name, attrs = {}) {
  return el('input', { id: `f-${name}`, name, ...attrs });
}

function select(name, options, value) {
  return el('select', { id: `f-${name}`, name }, options.map((o) => el('option', { value: o, selected: o === value }, o)));
}

export function scheduleForm(existing, onDone) {
  const s = existing || {};
  const t = s.taskConfig || {};
  const c = s.scheduleConfig || {};
  const f = {
    name: input('name', { value: s.name || '', required: true }),
    taskType: select('taskType', ['shell', 'http', 'conductor'], s.taskType || 'shell'),
    command: el('textarea', { id: 'f-command', name: 'command' }, t.command || ''),
    workingDir: input('workingDir', { value: t.workingDir || '' }),
    method: select('method', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], t.method || 'GET'),
    url: input('url', { value: t.url || '', placeholder: 'https://…' }),
    body: el('textarea', { id: 'f-body', name: 'body' }, t.body === undefined ? '' : JSON.stringify(t.body)),
    message: el('textarea', { id: 'f-message', name: 'message' }, t.message || ''),
    threadId: input('threadId', { value: t.threadId || '' }),
    timeoutMs: input('timeoutMs', { type: 'number', min: 1, value: t.timeoutMs || '' }),
    scheduleType: select('scheduleType', ['cron', 'interval', 'once'], s.scheduleType || 'cron'),
    expression: input('expression', { value: c.expression || '*/5 * * * *' }),
    timezone: input('timezone', { value: c.timezone || 'UTC' }),
    intervalSeconds: input('intervalSeconds', { type: 'number', min: 1, value: c.intervalSeconds || 60 }),
    runAt: input('runAt', { value: c.runAt || new Date(Date.now() + 3600e3).toISOString() }),
    severity: select('severity', ['', 'low', 'medium', 'high', 'critical'], s.severity || ''),
    concurrencyPolicy: select('concurrencyPolicy', ['allow', 'forbid'], s.concurrencyPolicy || 'allow'),
    misfirePolicy: select('misfirePolicy', ['run_once', 'skip'], s.misfirePolicy || 'run_once'),
    maxAttempts: input('maxAttempts', { type: 'number', min: 1, max: 100, value: s.retryPolicy?.maxAttempts || 3 }),
  };
  const taskSections = {
    shell: el('div', { class: 'grid2' }, field('taskConfig.command', 'Command (/bin/sh -c)', f.command), field('taskConfig.workingDir', 'Working directory', f.workingDir)),
    http: el('div', { class: 'grid2' }, field('taskConfig.method', 'Method', f.method), field('taskConfig.url', 'URL', f.url), field('taskConfig.body', 'Body (JSON or text)', f.body)),
    conductor: el('div', { class: 'grid2' }, field('taskConfig.message', 'Message', f.message), field('taskConfig.threadId', 'Thread id (optional)', f.threadId)),
  };
  const scheduleSections = {
    cron: el('div', { class: 'grid2' }, field('scheduleConfig.expression', 'Cron expression', f.expression, 'minute hour day month weekday, or 6 fields with seconds; @daily…'), field('scheduleConfig.timezone', 'Time zone (IANA)', f.timezone)),
    interval: el('div', { class: 'grid2' }, field('scheduleConfig.intervalSeconds', 'Every (seconds)', f.intervalSeconds)),
    once: el('div', { class: 'grid2' }, field('scheduleConfig.runAt', 'Run at (RFC 3339)', f.runAt)),
  };
  const preview = el('ol', { class: 'runs', id: 'preview', 'aria-live': 'polite' });
  const previewError = el('div', { class: 'field-error', id: 'preview-error' });
  const formError = el('div', { class: 'form-error', role: 'alert' });

  function show() {
    for (const [k, sec] of Object.entries(taskSections)) sec.hidden = k !== f.taskType.value;
    for (const [k, sec] of Object.entries(scheduleSections)) sec.hidden = k !== f.scheduleType.value;
  }

  function scheduleConfig() {
    switch (f.scheduleType.value) {
      case 'cron': return { expression: f.expression.value, timezone: f.timezone.value || 'UTC' };
      case 'interval': return { intervalSeconds: Number(f.intervalSeconds.value) };
      default: return { runAt: f.runAt.value };
    }
  }

  function taskConfig() {
    const timeout = f.timeoutMs.value ? { timeoutMs: Number(f.timeoutMs.value) } : {};
    switch (f.taskType.value) {
      case 'shell': return { command: f.command.value, ...(f.workingDir.value ? { workingDir: f.workingDir.value } : {}), ...timeout };
      case 'http': {
        let body;
        if (f.body.value.trim()) { try { body = JSON.parse(f.body.value); } catch { body = f.body.value; } }
        return { method: f.method.value, url: f.url.value, ...(body !== undefined ? { body } : {}), ...timeout };
      }
      default: return { message: f.message.value, ...(f.threadId.value ? { threadId: f.threadId.value } : {}), ...timeout };
    }
  }

  const refreshPreview = debounce(async () => {
    const r = await api('POST', '/api/scheduler/preview', { scheduleType: f.scheduleType.value, scheduleConfig: scheduleConfig(), count: 5 });
    if (r.ok) {
      previewError.textContent = '';
      preview.replaceChildren(...(r.data.runs.length ? r.data.runs.map((t) => el('li', {}, `${t}  (${new Date(t).toLocaleString()})`)) : [el('li', {}, 'no future runs')]));
    } else {
      preview.replaceChildren();
      previewError.textContent = errorMessage(r);
    }
  }, 250);

  function clearErrors(form) {
    for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
    formError.textContent = '';
  }

  async function submit(e) {
    e.preventDefault();
    const form = e.currentTarget;
    clearErrors(form);
    const body = {
      name: f.name.value, taskType: f.taskType.value, taskConfig: taskConfig(),
      scheduleType: f.scheduleType.value, scheduleConfig: scheduleConfig(),
      concurrencyPolicy: f.concurrencyPolicy.value, misfirePolicy: f.misfirePolicy.value,
      retryPolicy: { maxAttempts: Number(f.maxAttempts.value) || 1 },
      enabled: s.enabled ?? true, tags: s.tags || [],
      ...(f.severity.value ? { severity: f.severity.value } : {}),
    };
    const r = existing ? await api('PUT', `/api/scheduler/schedules/${existing.id}`, body) : await api('POST', '/api/scheduler/schedules', body);
    if (r.ok) { onDone(r.data); return; }
    formError.textContent = errorMessage(r);
    for (const d of r.data?.error?.details || []) {
      const slot = form.querySelector(`#err-${CSS.escape(d.field)}`) || form.querySelector(`#err-${CSS.escape(d.field.split('.')[0])}`);
      if (slot) slot.textContent = d.message;
    }
  }

  for (const i of [f.scheduleType, f.expression, f.timezone, f.intervalSeconds, f.runAt]) i.addEventListener('input', () => { show(); refreshPreview(); });
  f.taskType.addEventListener('change', show);
  f.scheduleType.addEventListener('change', () => { show(); refreshPreview(); });
  show();
  refreshPreview();

  return el('form', { class: 'panel', id: 'schedule-form', onsubmit: submit, novalidate: true },
    el('h2', {}, existing ? `Edit ${existing.name}` : 'New schedule'),
    el('div', { class: 'grid2' }, field('name', 'Name', f.name), field('taskType', 'Task type', f.taskType), field('taskConfig.timeoutMs', 'Timeout (ms, optional)', f.timeoutMs)),
    ...Object.values(taskSections),
    el('div', { class: 'grid2' }, field('scheduleType', 'Schedule type', f.scheduleType)),
    ...Object.values(scheduleSections),
    el('div', {}, el('strong', {}, 'Next 5 runs'), preview, previewError),
    el('div', { class: 'grid2' }, field('severity', 'Severity override', f.severity), field('concurrencyPolicy', 'Concurrency', f.concurrencyPolicy), field('misfirePolicy', 'Missed runs', f.misfirePolicy), field('retryPolicy.maxAttempts', 'Max attempts', f.maxAttempts)),
    formError,
    el('div', { class: 'actions' }, el('button', { class: 'primary', type: 'submit' }, existing ? 'Save' : 'Create schedule'), el('button', { type: 'button', onclick: () => onDone(null) }, 'Cancel')));
}
