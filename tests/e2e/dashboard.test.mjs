// Dashboard end to end, in real headless Chromium: the service runs as the real binary on an
// embedded PostgreSQL; the browser only uses what a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startService, launchBrowser, apiClient, waitFor, shots, T } from './harness.mjs';

let service, base, browser, page, api;

before(async () => {
  service = await startService();
  base = service.base;
  api = apiClient(base);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(T);
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  await browser?.close();
  await service?.stop();
});

test('overview shows counts and the live connection', async () => {
  await page.goto(`${base}/#/overview`);
  await page.locator('#live[data-state="open"]').waitFor();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.equal(await page.locator('[data-count="completed"] .n').textContent(), '0');
  await page.screenshot({ path: join(shots, 'overview-empty.png') });
});

test('a bad cron expression gets an inline validation message', async () => {
  await page.goto(`${base}/#/schedules`);
  await page.locator('#new-schedule').click();
  await page.locator('#f-name').fill('bad-cron');
  await page.locator('#f-taskConfig-command').fill('true');
  await page.locator('#f-scheduleConfig-expression').fill('61 * * * *');
  await waitFor(async () => (await page.locator('#preview-error').textContent()).includes('61 is outside 0-59'), 'preview error');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  const msg = page.locator('[id="err-scheduleConfig.expression"]');
  await waitFor(async () => (await msg.textContent()).includes('minute field'), 'field error');
  await page.screenshot({ path: join(shots, 'schedule-validation.png') });
  await page.getByRole('button', { name: 'Cancel' }).click();
});

test('Quartz day rules are described in words, and a bad one names itself', async () => {
  await page.goto(`${base}/#/schedules`);
  await page.locator('#new-schedule').click();
  await page.locator('#f-name').fill('second-friday');
  await page.locator('#f-taskConfig-command').fill('true');
  await page.locator('#f-scheduleConfig-expression').fill('0 9 * * FRI#2');
  await waitFor(async () => (await page.locator('#preview li').count()) === 5, 'next 5 runs');
  assert.match(await page.locator('#preview-words').textContent(), /second Friday of the month/);
  for (const li of await page.locator('#preview li').allTextContents()) {
    const day = new Date(li.split(' ')[0]);
    assert.equal(day.getUTCDay(), 5, li);
    assert.ok(day.getUTCDate() >= 8 && day.getUTCDate() <= 14, li);
  }
  await page.locator('#f-scheduleConfig-expression').fill('0 9 L-40 * *');
  await waitFor(async () => (await page.locator('#preview-error').textContent()).includes('`L-n` counts at most 30'), 'preview error');
  await page.locator('#f-scheduleConfig-expression').fill('0 9 LW * *');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  const row = page.locator('tr[data-schedule="second-friday"]');
  await waitFor(async () => (await row.textContent()).includes('on the last weekday of the month'), 'described in the list');
  const made = (await api('GET', '/api/scheduler/schedules?q=second-friday')).data.items[0];
  assert.equal(made.scheduleConfig.expression, '0 9 LW * *');
  assert.equal((await api('DELETE', `/api/scheduler/schedules/${made.id}`)).status, 204);
});

test('create a schedule through the form and see its executions appear live', async () => {
  await page.goto(`${base}/#/schedules`);
  await page.locator('#new-schedule').click();
  await page.locator('#f-name').fill('e2e-every-second');
  await page.locator('#f-taskConfig-command').fill('echo hello from e2e');
  await page.locator('#f-scheduleConfig-expression').fill('* * * * * *');
  await waitFor(async () => (await page.locator('#preview li').count()) === 5, 'next 5 runs');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await page.locator('tr[data-schedule="e2e-every-second"]').waitFor();
  await page.screenshot({ path: join(shots, 'schedules.png') });

  await page.goto(`${base}/#/executions`);
  const rows = page.locator('tr[data-execution]');
  const first = await rows.count();
  // No reload from here on: rows must arrive over the WebSocket.
  await waitFor(async () => (await rows.count()) >= first + 3, 'live rows');
  await waitFor(async () => (await page.locator('tr[data-execution] .badge.completed').count()) >= 2, 'completed rows');
  await page.screenshot({ path: join(shots, 'executions.png') });
  await rows.first().click();
  await waitFor(async () => (await page.locator('#stdout').textContent().catch(() => '')).includes('hello from e2e'), 'stdout in detail');
  await page.screenshot({ path: join(shots, 'execution-detail.png') });
});

test('pause with a reason and an end, resume, and pause again', async () => {
  await page.goto(`${base}/#/schedules`);
  const row = page.locator('tr[data-schedule="e2e-every-second"]');
  await row.getByRole('button', { name: 'Pause' }).click();
  await page.locator('#pause-reason').fill('database maintenance');
  // An end in the past is refused by name.
  await page.locator('#pause-until').fill('2020-01-01T10:00');
  await page.getByRole('button', { name: 'Confirm pause' }).click();
  await waitFor(async () => (await page.locator('#pause-error').textContent()).includes('until: must be in the future'), 'until refused');
  const later = new Date(Date.now() + 3 * 3600 * 1000);
  const local = new Date(later.getTime() - later.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.locator('#pause-until').fill(local);
  await page.getByRole('button', { name: 'Confirm pause' }).click();
  await row.locator('.badge.paused').waitFor();
  await waitFor(async () => (await row.locator('.pause-note').textContent()).includes('database maintenance'), 'reason shown');
  assert.match(await row.locator('.pause-note').textContent(), /until/);
  const s = (await api('GET', '/api/scheduler/schedules?q=e2e-every-second')).data.items[0];
  assert.equal(s.pausedReason, 'database maintenance');
  assert.ok(Math.abs(new Date(s.pausedUntil) - later) < 61000, s.pausedUntil);
  await page.screenshot({ path: join(shots, 'paused-with-reason.png') });
  await row.getByRole('button', { name: 'Resume' }).click();
  await row.locator('.badge.enabled').waitFor();
  assert.equal(await row.locator('.pause-note').count(), 0);
  await row.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Confirm pause' }).click();
  await row.locator('.badge.paused').waitFor();
});

test('backfill: a dry run lists the slots, and only the confirm runs them', async () => {
  const created = await api('POST', '/api/scheduler/schedules', {
    name: 'e2e-backfill', enabled: false, taskType: 'shell', taskConfig: { command: 'true' },
    scheduleType: 'cron', scheduleConfig: { expression: '*/10 * * * *' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.data));
  const id = created.data.id;
  await page.goto(`${base}/#/schedules?q=e2e-backfill`);
  const row = page.locator('tr[data-schedule="e2e-backfill"]');
  await row.getByRole('button', { name: 'Backfill' }).click();
  // One whole hour of local time, yesterday: six slots of */10 in any whole-hour zone.
  const start = new Date(Date.now() - 86400e3);
  start.setMinutes(0, 0, 0);
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.locator('#backfill-from').fill(local(start));
  await page.locator('#backfill-to').fill(local(new Date(start.getTime() + 3600e3)));
  assert.equal(await page.locator('#backfill-confirm').isDisabled(), true, 'no confirm before the dry run');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await waitFor(async () => (await page.locator('#backfill-plan li').count()) === 6, 'six slots planned');
  assert.match(await page.locator('#backfill-summary').textContent(), /6 slot\(s\) would run; 0 already ran/);
  const none = await api('GET', `/api/executions?scheduleId=${id}`);
  assert.equal(none.data.items.length, 0, 'the dry run ran nothing');
  await page.screenshot({ path: join(shots, 'backfill-dry-run.png') });
  await page.getByRole('button', { name: 'Confirm backfill' }).click();
  await page.locator('#backfill-form').waitFor({ state: 'detached' });
  await waitFor(async () => {
    const r = await api('GET', `/api/executions?scheduleId=${id}&status=completed`);
    return r.data.items.length === 6 && r.data.items.every((e) => e.trigger === 'backfill');
  }, 'six backfill runs completed');
});

test('an error appears on the errors view and is resolved there', async () => {
  const created = await api('POST', '/api/scheduler/schedules', {
    name: 'e2e-fails', taskType: 'shell', taskConfig: { command: 'echo broken >&2; exit 3' },
    scheduleType: 'cron', scheduleConfig: { expression: '0 0 1 1 *' },
  });
  assert.equal(created.status, 201);
  await page.goto(`${base}/#/errors`);
  await page.getByRole('heading', { name: 'Errors' }).waitFor();
  await api('POST', `/api/scheduler/schedules/${created.data.id}/trigger`, {});
  const row = page.locator('tr[data-error]').first();
  await row.waitFor();
  assert.match(await row.textContent(), /exit code 3/);
  await page.screenshot({ path: join(shots, 'errors.png') });
  await row.click();
  await page.locator('#note').fill('fixed the script');
  await page.getByRole('button', { name: 'Resolve' }).click();
  await page.locator('h1 .badge.resolved').waitFor();
  await page.screenshot({ path: join(shots, 'error-resolved.png') });

  await page.goto(`${base}/#/overview`);
  await page.locator('[data-count="completed"]').waitFor();
  await waitFor(async () => Number(await page.locator('[data-count="completed"] .n').textContent()) >= 3, 'overview counts');
  await page.screenshot({ path: join(shots, 'overview.png') });
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${base}/#/executions`);
  await phone.locator('tr[data-execution]').first().waitFor();
  await phone.screenshot({ path: join(shots, 'executions-phone.png') });
  await phone.close();
});
