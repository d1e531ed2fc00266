// Shared by the e2e suites: the real binary on its own embedded PostgreSQL, Debian's chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, chmodSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.TASKFORGE_BIN || join(here, '../../target/debug/taskforge');
export const shots = join(here, 'screenshots');
export const T = 30_000;

export async function waitFor(fn, what, timeout = T) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Starts taskforge with `env` added; resolves to { base, stop, dataDir }. `opts.dataDir`
// reuses a data directory (a restart), `opts.keep` leaves it in place on stop.
export async function startService(env = {}, opts = {}) {
  mkdirSync(shots, { recursive: true });
  const dataDir = opts.dataDir || mkdtempSync(join(tmpdir(), 'tf-e2e-'));
  chmodSync(dataDir, 0o755);
  const log = join(dataDir, `taskforge-${Date.now()}.log`);
  const service = spawn('sh', ['-c', `exec "${bin}" 2>"${log}"`], {
    env: { ...process.env, TASKFORGE_DATA_DIR: dataDir, TASKFORGE_BIND: '127.0.0.1:0', TASKFORGE_CONDUCTOR_URL: 'http://127.0.0.1:9', RUST_LOG: 'info', ...env },
    stdio: 'ignore',
  });
  const base = await waitFor(() => {
    let text = '';
    try { text = readFileSync(log, 'utf8'); } catch { return null; }
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(text);
    return m && m[1];
  }, 'taskforge to start', 90_000);
  const stop = async () => {
    service.kill('SIGTERM');
    await new Promise((r) => { service.on('exit', r); setTimeout(r, 30_000); });
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, stop, log, dataDir };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A JSON API client for `base`, with an optional bearer token.
export function apiClient(base, token) {
  return async (method, path, body) => {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const r = await fetch(`${base}${path}`, { method, headers, body: body && JSON.stringify(body) });
    return { status: r.status, data: r.status === 204 ? null : await r.json() };
  };
}

// A TCP port free right now on loopback (for a service that must come back on the same port).
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}
