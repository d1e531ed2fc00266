// One WebSocket to /ws for the whole page, reconnecting with backoff; views subscribe by type.
// The token travels as a `bearer.<token>` subprotocol, never in the URL (which proxies log).
import { token } from './api.js';

const handlers = new Set();
let socket = null;
let delay = 500;

export function onEvent(fn) { handlers.add(fn); return () => handlers.delete(fn); }

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
  socket.onopen = () => { delay = 500; setState('open', 'live'); };
  socket.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === 'ping') return;
    for (const h of handlers) h(msg);
  };
  socket.onclose = () => {
    setState('closed', 'offline — reconnecting');
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10000);
  };
}

export function reconnect() { if (socket) socket.close(); }
