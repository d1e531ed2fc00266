// One WebSocket to /ws for the whole page, reconnecting with backoff; views subscribe by type.
// The token travels as a `bearer.<token>` subprotocol, never in the URL (which proxies log).
import { token } from './api.js';

const handlers = new Set();
const reconnected = new Set();
let socket = null;
let delay = 500;
let wasOpen = false;
let lost = false;

export function onEvent(fn) { handlers.add(fn); return () => handlers.delete(fn); }

// Everything (`*`) plus the topics views follow now, such as one execution's live output
// (which `*` leaves out). Sent again whenever the socket (re)opens. `onActive` runs each time
// the server confirms the topic: what happened before that was not sent, so the view reloads.
const followed = new Map();
function sendSubscriptions() {
  if (socket?.readyState !== WebSocket.OPEN) return;
  const topics = [...new Set([...followed.values()].map((f) => f.topic))];
  socket.send(JSON.stringify({ type: 'subscribe', subscriptions: ['*', ...topics] }));
}
export function follow(topic, onActive) {
  const key = Symbol(topic);
  followed.set(key, { topic, onActive });
  sendSubscriptions();
  return () => { followed.delete(key); sendSubscriptions(); };
}
function confirmed(topics) {
  for (const f of followed.values()) if (topics.includes(f.topic)) f.onActive?.();
}

// Called when the connection comes back after it was lost (the server restarted, the network
// returned): what a view shows may be stale, so it reloads.
export function onReconnect(fn) { reconnected.add(fn); return () => reconnected.delete(fn); }

function setState(state, text) {
  const badge = document.getElementById('live');
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = text;
}

export function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const protocols = token() ? ['taskforge', `bearer.${token()}`] : ['taskforge'];
  try {
    socket = new WebSocket(`${proto}://${location.host}/ws`, protocols);
  } catch {
    setState('closed', 'offline — this token cannot be sent over WebSocket');
    return;
  }
  setState('connecting', 'connecting…');
  socket.onopen = () => {
    delay = 500;
    setState('open', 'live');
    if (followed.size) sendSubscriptions();
    if (wasOpen && lost) for (const fn of reconnected) fn();
    wasOpen = true;
    lost = false;
  };
  socket.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === 'ping') return;
    if (msg.type === 'subscribed' && Array.isArray(msg.subscriptions)) confirmed(msg.subscriptions);
    for (const h of handlers) h(msg);
  };
  socket.onclose = () => {
    lost = !deliberate;
    deliberate = false;
    setState('closed', 'offline — reconnecting');
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10000);
  };
}

let deliberate = false;
// Reconnects with the current token (after signing in); not an outage, so views stay.
export function reconnect() { if (socket) { deliberate = true; socket.close(); } }
