// Create/edit form for every field of a schedule, a "JSON" tab over the full definition, the
// API's validation messages next to their fields, and a live "next 5 runs" preview. An edit
// saves only what the user changed, on top of what the API returned.
import { el, debounce } from './dom.js';
import { api, errorMessage } from './api.js';
import { FIELDS, PREVIEW_KEYS, editable } from './schedule_fields.js';
import { cronDayWords } from './cron_words.js';

const idOf = (key) => `f-${key.replace(/\./g, '-')}`;

function control(f, value) {
  const id = idOf(f.key);
  if (f.kind === 'select') return el('select', { id, name: f.key }, f.options.map((o) => el('option', { value: o, selected: o === value }, o || '(none)')));
  if (f.kind === 'checkbox') return el('input', { id, name: f.key, type: 'checkbox', checked: value });
  if (f.kind === 'textarea') return el('textarea', { id, name: f.key, rows: f.key === 'description' ? 2 : 3 }, value);
  return el('input', { id, name: f.key, type: f.kind === 'number' ? 'number' : 'text', value, step: f.kind === 'number' ? 'any' : undefined });
}

const valueOf = (input) => (input.type === 'checkbox' ? input.checked : input.value);

export function scheduleForm(existing, onDone) {
  let base = editable(existing);
  const inputs = new Map();
  const initial = new Map();
  const sections = {};
  const formError = el('div', { class: 'form-error', role: 'alert' });
  const preview = el('ol', { class: 'runs', id: 'preview', 'aria-live': 'polite' });
  const previewError = el('div', { class: 'field-error', id: 'preview-error' });
  const previewWords = el('p', { class: 'muted', id: 'preview-words' });
  const json = el('textarea', { id: 'f-json', rows: 18, spellcheck: 'false' });
  const formPane = el('div', { id: 'pane-form' });
  const jsonPane = el('div', { id: 'pane-json', hidden: true }, el('label', { for: 'f-json' }, 'Full definition (JSON)', json),
    el('span', { class: 'field-error', id: 'err-json', role: 'alert' }));

  function build(source) {
    inputs.clear();
    initial.clear();
    for (const k of Object.keys(sections)) delete sections[k];
    for (const f of FIELDS) {
      const v = f.read(source);
      const input = control(f, v);
      inputs.set(f.key, input);
      initial.set(f.key, v);
      const label = el('label', { for: idOf(f.key), class: f.kind === 'checkbox' ? 'check' : null }, f.label, input,
        el('span', { class: 'field-error', id: `err-${f.key}`, role: 'alert' }));
      (sections[f.section] ||= el('div', { class: 'grid2', 'data-section': f.section })).append(label);
    }
    inputs.get('taskType').addEventListener('change', showSections);
    inputs.get('scheduleType').addEventListener('change', () => { showSections(); refreshPreview(); });
    for (const k of ['scheduleConfig.expression', 'scheduleConfig.timezone', 'scheduleConfig.intervalSeconds', 'scheduleConfig.startAt', 'scheduleConfig.runAt', ...PREVIEW_KEYS]) {
      inputs.get(k).addEventListener('input', refreshPreview);
    }
    formPane.replaceChildren(
      el('h3', {}, 'General'), sections.general,
      el('h3', {}, 'Task'), sections.task, sections.shell, sections.http, sections.conductor,
      el('h3', {}, 'When'), sections.schedule, sections.cron, sections.interval, sections.once,
      el('div', {}, el('strong', {}, 'Next 5 runs'), previewWords, preview, previewError),
      el('h3', {}, 'Limits and window'), sections.limits,
      el('h3', {}, 'Failures, overlaps and missed runs'), sections.policy);
    showSections();
  }

  function showSections() {
    const t = inputs.get('taskType').value;
    const s = inputs.get('scheduleType').value;
    for (const k of ['shell', 'http', 'conductor']) sections[k].hidden = k !== t;
    for (const k of ['cron', 'interval', 'once']) sections[k].hidden = k !== s;
  }

  // The definition to send: the base object with every changed field written into it. When the
  // task or schedule type changed, its config is rebuilt from the fields now shown.
  function definition() {
    const body = structuredClone(base);
    const changed = (f) => !existing || valueOf(inputs.get(f.key)) !== initial.get(f.key);
    const typeChanged = (k) => existing && changed(FIELDS.find((f) => f.key === k));
    if (!existing || typeChanged('taskType')) body.taskConfig = {};
    if (!existing || typeChanged('scheduleType')) body.scheduleConfig = {};
    const task = inputs.get('taskType').value;
    const sched = inputs.get('scheduleType').value;
    for (const f of FIELDS) {
      const shown = !['shell', 'http', 'conductor'].includes(f.section) || f.section === task;
      const shownSched = !['cron', 'interval', 'once'].includes(f.section) || f.section === sched;
      if (!shown || !shownSched) continue;
      const fresh = (f.key.startsWith('taskConfig.') && (!existing || typeChanged('taskType')))
        || (f.key.startsWith('scheduleConfig.') && (!existing || typeChanged('scheduleType')));
      if (fresh || changed(f)) f.write(body, valueOf(inputs.get(f.key)));
    }
    return body;
  }

  const refreshPreview = debounce(async () => {
    const def = definition();
    // The jitter depends on the name, so the preview shows the times this schedule will run.
    const rules = Object.fromEntries(PREVIEW_KEYS.filter((k) => def[k] !== undefined && def[k] !== null && def[k] !== '').map((k) => [k, def[k]]));
    const r = await api('POST', '/api/scheduler/preview', { scheduleType: def.scheduleType, scheduleConfig: def.scheduleConfig, count: 5, ...rules });
    previewWords.textContent = def.scheduleType === 'cron' ? cronDayWords(def.scheduleConfig?.expression) : '';
    if (r.ok) {
      previewError.textContent = '';
      preview.replaceChildren(...(r.data.runs.length ? r.data.runs.map((t) => el('li', {}, `${t}  (${new Date(t).toLocaleString()})`)) : [el('li', {}, 'no future runs')]));
    } else {
      preview.replaceChildren();
      previewError.textContent = errorMessage(r);
    }
  }, 250);

  const tabForm = el('button', { type: 'button', role: 'tab', id: 'tab-form', 'aria-selected': 'true', 'aria-controls': 'pane-form' }, 'Form');
  const tabJson = el('button', { type: 'button', role: 'tab', id: 'tab-json', 'aria-selected': 'false', 'aria-controls': 'pane-json' }, 'JSON');
  function select(toJson) {
    const err = jsonPane.querySelector('#err-json');
    if (toJson) {
      json.value = JSON.stringify(definition(), null, 2);
    } else {
      try { base = JSON.parse(json.value); } catch (e) { err.textContent = `not valid JSON: ${e.message}`; return; }
      err.textContent = '';
      build(base);
    }
    formPane.hidden = toJson;
    jsonPane.hidden = !toJson;
    tabForm.setAttribute('aria-selected', String(!toJson));
    tabJson.setAttribute('aria-selected', String(toJson));
  }
  tabForm.addEventListener('click', () => select(false));
  tabJson.addEventListener('click', () => select(true));

  async function submit(e) {
    e.preventDefault();
    const form = e.currentTarget;
    for (const s of form.querySelectorAll('.field-error')) s.textContent = '';
    formError.textContent = '';
    let body;
    if (!jsonPane.hidden) {
      try { body = JSON.parse(json.value); } catch (err) { jsonPane.querySelector('#err-json').textContent = `not valid JSON: ${err.message}`; return; }
    } else {
      body = definition();
    }
    const r = existing ? await api('PUT', `/api/scheduler/schedules/${existing.id}`, body) : await api('POST', '/api/scheduler/schedules', body);
    if (r.ok) { onDone(r.data); return; }
    formError.textContent = errorMessage(r);
    for (const d of r.data?.error?.details || []) {
      const slot = form.querySelector(`[id="err-${d.field}"]`) || form.querySelector(`[id="err-${d.field.split('.').slice(0, 2).join('.')}"]`) || form.querySelector(`[id="err-${d.field.split('.')[0]}"]`);
      if (slot) slot.textContent = d.message;
    }
  }

  build(base);
  refreshPreview();
  return el('form', { class: 'panel', id: 'schedule-form', onsubmit: submit, novalidate: true, 'aria-labelledby': 'form-title' },
    el('h2', { id: 'form-title' }, existing ? `Edit ${existing.name}` : 'New schedule'),
    el('div', { class: 'tabs', role: 'tablist' }, tabForm, tabJson),
    formPane, jsonPane, formError,
    el('div', { class: 'actions' }, el('button', { class: 'primary', type: 'submit' }, existing ? 'Save' : 'Create schedule'), el('button', { type: 'button', onclick: () => onDone(null) }, 'Cancel')));
}
