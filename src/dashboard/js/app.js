// Router: #/overview, #/schedules, #/executions[/<id>], #/errors[/<id>].
import { el } from './dom.js';
import { api, setToken, whenUnauthorized } from './api.js';
import { connect, reconnect } from './live.js';
import { overview } from './overview.js';
import { schedules } from './schedules.js';
import { executions } from './executions.js';
import { errors } from './errors.js';

const views = { overview, schedules, executions, errors };
let cleanup = null;

function login() {
  const main = document.getElementById('view');
  const input = el('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const form = el('form', { class: 'panel', onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    reconnect();
    route();
  } },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'This server requires an API token.'),
    el('label', {}, 'API token', input),
    el('p', {}, el('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const [path] = location.hash.split('?');
  const [, name = 'overview', id] = path.split('/');
  const view = views[name] || overview;
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', a.dataset.view === (views[name] ? name : 'overview'));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  const main = document.getElementById('view');
  main.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  cleanup = await view(main, id);
}

whenUnauthorized(login);
window.addEventListener('hashchange', route);
connect();
// A first call tells whether a token is needed before rendering a view.
api('GET', '/api/scheduler/schedules?limit=1').then((r) => { if (r.status !== 401) route(); });
