// Router: #/overview, #/schedules, #/executions[/<id>], #/errors[/<id>], #/audit.
import { el } from './dom.js';
import { setToken, token, whenUnauthorized } from './api.js';
import { connect, reconnect, onReconnect } from './live.js';
import { loadSession, session, can } from './session.js';
import { viewContext } from './view.js';
import { startTicker } from './time.js';
import { overview } from './overview.js';
import { schedules } from './schedules.js';
import { executions } from './executions.js';
import { errors } from './errors.js';
import { audit } from './audit.js';

const views = { overview, schedules, executions, errors, audit };
// The view on screen. It is closed (timers, subscriptions, pending loads) before the next one
// renders, so a slow load of the view just left can never paint over the new one.
let current = null;

function login() {
  const main = document.getElementById('view');
  const input = el('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const form = el('form', { class: 'panel', onsubmit: async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    await start();
  } },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'This server requires an API token.'),
    el('label', { for: 'token' }, 'API token', input),
    el('p', {}, el('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  main.replaceChildren(form);
  input.focus();
}

function signOut() {
  setToken('');
  reconnect();
  login();
  showWho();
}

// The header says who is signed in; the Audit view is offered to admins only.
function showWho() {
  const who = document.getElementById('who');
  const me = session();
  const signedIn = token() && me.actor;
  who.replaceChildren(...(signedIn ? [
    el('span', { id: 'who-name' }, `${me.actor} (${me.role})`),
    el('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'),
  ] : []));
  document.querySelector('nav a[data-view="audit"]').hidden = !can('admin');
}

async function route() {
  if (current) current.close();
  const ctx = viewContext();
  current = ctx;
  const [path] = location.hash.split('?');
  const [, name = 'overview', id] = path.split('/');
  const known = views[name] && (name !== 'audit' || can('admin'));
  const view = known ? views[name] : overview;
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', a.dataset.view === (known ? name : 'overview'));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  const main = document.getElementById('view');
  main.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    await view(ctx, main, id);
  } catch (e) {
    if (ctx.alive()) main.replaceChildren(el('p', { class: 'form-error', role: 'alert' }, `This view failed: ${e.message}`));
  }
}

// Who we are decides which actions the views offer; a 401 means a token is needed first.
async function start() {
  const r = await loadSession();
  if (r.status === 401) return;
  showWho();
  reconnect();
  route();
}

whenUnauthorized(login);
window.addEventListener('hashchange', route);
onReconnect(route);
startTicker();
connect();
start();
