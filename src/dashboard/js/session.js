// Who is signed in (GET /api/whoami) and what that role may do, so views only offer the actions
// the server would accept (the server still decides: a refused action shows its 403 message).
import { api } from './api.js';

const RANK = { viewer: 1, operator: 2, admin: 3 };
let me = { actor: '', role: 'viewer', authEnabled: true };

export async function loadSession() {
  const r = await api('GET', '/api/whoami');
  if (r.ok) me = r.data;
  return r;
}

export function session() { return me; }

// True when the signed-in role is at least `role` (viewer < operator < admin).
export function can(role) { return (RANK[me.role] || 0) >= RANK[role]; }
