// Roles in the dashboard: a viewer sees no create/edit/delete controls, an operator
// can pause and resolve, and the WebSocket never carries the token in its URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startService, launchBrowser, apiClient, waitFor, shots, T } from './harness.mjs';

const ADMIN = 'e2e-admin-token';
let service, base, browser, admin, viewerToken, operatorToken;

before(async () => {
  service = await startService({ TASKFORGE_API_TOKEN: ADMIN });
  base = service.base;
  admin = apiClient(base, ADMIN);
  const v = await admin('POST', '/api/tokens', { name: 'e2e-viewer', role: 'viewer' });
  const o = await admin('POST', '/api/tokens', { name: 'e2e-operator', role: 'operator' });
  assert.equal(v.status, 201);
  assert.equal(o.status, 201);
  viewerToken = v.data.token;
  operatorToken = o.data.token;
  const s = await admin('POST', '/api/scheduler/schedules', {
    name: 'e2e-role-target', taskType: 'shell', taskConfig: { command: 'echo role; exit 2' },
    scheduleType: 'cron', scheduleConfig: { expression: '0 0 1 1 *' },
  });
  assert.equal(s.status, 201);
  const run = await admin('POST', `/api/scheduler/schedules/${s.data.id}/trigger`, {});
  assert.equal(run.status, 202);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.stop();
});

// A fresh page signed in with `token`; records every WebSocket URL it opens.
async function signIn(token) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(T);
  page.on('dialog', (d) => d.accept());
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`${base}/#/schedules`);
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live[data-state="open"]').waitFor();
  return { page, sockets };
}

test('a viewer sees schedules but no controls to change them', async () => {
  const { page, sockets } = await signIn(viewerToken);
  await page.locator('#who-name').filter({ hasText: 'e2e-viewer (viewer)' }).waitFor();
  const row = page.locator('tr[data-schedule="e2e-role-target"]');
  await row.waitFor();
  assert.equal(await page.locator('#new-schedule').count(), 0);
  for (const name of ['Edit', 'Delete', 'Pause', 'Run now']) {
    assert.equal(await row.getByRole('button', { name }).count(), 0, name);
  }
  assert.equal(await page.locator('nav a[data-view="audit"]').isVisible(), false);
  await page.screenshot({ path: join(shots, 'viewer-schedules.png') });
  await page.goto(`${base}/#/errors`);
  const err = page.locator('tr[data-error]').first();
  await err.waitFor();
  await err.click();
  await page.getByRole('heading', { name: /Error/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Resolve' }).count(), 0);
  assert.ok(sockets.length > 0, 'a WebSocket was opened');
  for (const url of sockets) {
    assert.ok(!url.includes(viewerToken) && !url.includes('token='), `token in WebSocket URL: ${url}`);
  }
  await page.close();
});

test('an operator pauses a schedule and resolves an error, but cannot edit', async () => {
  const { page, sockets } = await signIn(operatorToken);
  const row = page.locator('tr[data-schedule="e2e-role-target"]');
  await row.waitFor();
  assert.equal(await row.getByRole('button', { name: 'Edit' }).count(), 0);
  assert.equal(await page.locator('#new-schedule').count(), 0);
  await row.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Confirm pause' }).click();
  await row.locator('.badge.paused').waitFor();
  await page.goto(`${base}/#/errors`);
  const err = page.locator('tr[data-error]').first();
  await err.waitFor();
  await err.click();
  await page.locator('#note').fill('operator checked it');
  await page.getByRole('button', { name: 'Resolve' }).click();
  await page.locator('h1 .badge.resolved').waitFor();
  await page.screenshot({ path: join(shots, 'operator-resolved.png') });
  for (const url of sockets) assert.ok(!url.includes(operatorToken), url);
  await page.close();
});

test('an admin sees the audit trail of those changes', async () => {
  const { page } = await signIn(ADMIN);
  await page.locator('nav a[data-view="audit"]').click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await waitFor(async () => (await page.locator('tr[data-audit]').count()) >= 3, 'audit rows');
  const text = await page.locator('table').textContent();
  assert.match(text, /schedule\.pause/);
  assert.match(text, /error\.resolve/);
  assert.match(text, /e2e-operator/);
  assert.doesNotMatch(text, new RegExp(operatorToken));
  await page.screenshot({ path: join(shots, 'audit.png') });
  await page.close();
});
