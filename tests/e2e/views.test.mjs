// the dashboard never loses an edit and never shows the wrong thing — the view race
// under live events, unchanged saves that change nothing, schedule names on rows, the
// needs-attention default, errors grouped by problem with bulk resolve, the auto-pause reason
// and the history timeline, load-more and URL filters, focus during live updates, recovery
// after an outage, and an axe-core accessibility check of every view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startService, launchBrowser, apiClient, waitFor, shots, T, freePort } from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let service, base, browser, page, api, port, dataDir;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  port = await freePort();
  service = await startService({ TASKFORGE_BIND: `127.0.0.1:${port}` }, { keep: true });
  ({ base, dataDir } = service);
  api = apiClient(base);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(T);
  page.on('dialog', (d) => d.accept());
  assert.equal((await api('POST', '/api/secrets', { name: 'e2e-key', value: 'hidden-value' })).status, 201);
});

after(async () => {
  await browser?.close();
  await service?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function create(body) {
  const r = await api('POST', '/api/scheduler/schedules', {
    taskType: 'shell', taskConfig: { command: 'true' }, scheduleType: 'cron', scheduleConfig: { expression: '0 0 1 1 *' }, ...body,
  });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data;
}

test('switching views quickly while events stream never shows the view left behind', async () => {
  await create({ name: 'ticker', scheduleConfig: { expression: '* * * * * *' } });
  const views = [['schedules', 'Schedules'], ['executions', 'Executions'], ['errors', 'Errors']];
  for (let round = 0; round < 4; round += 1) {
    for (const [view, title] of views) {
      await page.goto(`${base}/#/overview`);
      await page.locator('[data-count="completed"]').waitFor();
      await sleep(300 + round * 200);
      await page.locator(`nav a[data-view="${view}"]`).click();
      await page.getByRole('heading', { level: 1, name: title }).waitFor();
      await sleep(1500);
      assert.equal(await page.locator('main h1').first().textContent(), title, `${view} was painted over`);
      assert.equal(await page.locator('main [data-count="completed"]').count(), 0, `overview content in ${view}`);
    }
  }
});

test('saving an unchanged schedule of every kind changes nothing, in the form and in the JSON tab', async () => {
  const at = new Date(Date.now() + 86400e3).toISOString();
  const kinds = [
    { name: 'rt-shell-cron', description: 'nightly backup', tags: ['ops', 'backup'], severity: 'high', concurrencyPolicy: 'forbid', misfirePolicy: 'skip',
      retryPolicy: { maxAttempts: 2, backoffBaseMs: 2000, backoffMaxMs: 60000 },
      taskConfig: { command: 'echo "$A"', workingDir: '/tmp', env: { A: '1', TOKEN: { $secret: 'e2e-key' } }, timeoutMs: 5000 },
      scheduleConfig: { expression: '30 2 * * 1-5', timezone: 'Europe/Berlin' } },
    { name: 'rt-http-interval', taskType: 'http', enabled: false,
      taskConfig: { method: 'POST', url: 'http://127.0.0.1:9/hook', headers: { Authorization: 'Bearer abc', 'X-Key': { $secret: 'e2e-key' } },
        body: { a: [1, 2], b: 'x' }, expectedStatus: [200, 204], followRedirects: true, timeoutMs: 2500 },
      scheduleType: 'interval', scheduleConfig: { intervalSeconds: 90, startAt: '2026-01-01T00:00:00Z' } },
    { name: 'rt-rules', misfirePolicy: 'run_all', catchupMax: 7, catchupWindowSeconds: 3600, jitterSeconds: 20, startDeadlineSeconds: 60,
      activeFrom: '2026-01-01T00:00:00Z', activeUntil: '2099-01-01T00:00:00Z', maxRuns: 5000, maxConcurrent: 3, scheduleConfig: { expression: '*/10 * * * *' } },
    { name: 'rt-queue', concurrencyPolicy: 'queue', scheduleConfig: { expression: '*/5 * * * *' } },
    { name: 'rt-http-text', taskType: 'http', taskConfig: { url: 'http://127.0.0.1:9/t', body: 'plain text' }, scheduleType: 'interval', scheduleConfig: { intervalSeconds: 3600 } },
    { name: 'rt-http-secret-body', taskType: 'http', taskConfig: { method: 'PUT', url: 'http://127.0.0.1:9/s', body: { $secret: 'e2e-key' } }, scheduleType: 'once', scheduleConfig: { runAt: at } },
    { name: 'rt-conductor-once', taskType: 'conductor', taskConfig: { message: 'summarize the night', threadId: 'thread-7', timeoutMs: 120000 },
      scheduleType: 'once', scheduleConfig: { runAt: at } },
  ];
  for (const k of kinds) {
    const s = await create(k);
    for (const tab of ['form', 'json']) {
      const before = JSON.stringify((await api('GET', `/api/scheduler/schedules/${s.id}`)).data);
      await page.goto(`${base}/#/schedules?q=${k.name}`);
      const row = page.locator(`tr[data-schedule="${k.name}"]`);
      await row.getByRole('button', { name: 'Edit' }).click();
      await page.locator('#schedule-form').waitFor();
      if (tab === 'json') {
        await page.locator('#tab-json').click();
        await page.locator('#f-json').waitFor();
        await page.locator('#tab-form').click();
        await page.locator('#tab-json').click();
      }
      if (k.name === 'rt-shell-cron' && tab === 'form') await page.screenshot({ path: join(shots, 'edit-form.png'), fullPage: true });
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#schedule-form').waitFor({ state: 'detached' });
      const after = JSON.stringify((await api('GET', `/api/scheduler/schedules/${s.id}`)).data);
      assert.equal(after, before, `${k.name} (${tab}) changed by an unchanged save`);
    }
  }
  // An edit of one field keeps everything else.
  const s = (await api('GET', '/api/scheduler/schedules?q=rt-shell-cron')).data.items[0];
  await page.goto(`${base}/#/schedules?q=rt-shell-cron`);
  await page.locator('tr[data-schedule="rt-shell-cron"]').getByRole('button', { name: 'Edit' }).click();
  await page.locator('#f-description').fill('weekly backup');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#schedule-form').waitFor({ state: 'detached' });
  const edited = (await api('GET', `/api/scheduler/schedules/${s.id}`)).data;
  assert.equal(edited.description, 'weekly backup');
  assert.deepEqual({ ...edited, description: s.description, updatedAt: s.updatedAt }, s);
});

test('every execution and error row names its schedule', async () => {
  const s = await create({ name: 'named-failure', taskConfig: { command: 'exit 4' }, retryPolicy: { maxAttempts: 1 } });
  const run = await api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {});
  await page.goto(`${base}/#/executions/${run.data.executionId}`);
  await page.locator('h1 .badge.failed').waitFor();
  assert.match(await page.locator('h1').textContent(), /named-failure/);
  await page.goto(`${base}/#/executions?scheduleId=${s.id}`);
  await page.getByRole('heading', { name: 'Executions of named-failure' }).waitFor();
  const row = page.locator(`tr[data-execution="${run.data.executionId}"]`);
  assert.equal(await row.locator('.schedule-name').textContent(), 'named-failure');
  await page.goto(`${base}/#/errors?recoveryStatus=all`);
  const err = page.locator('tr[data-error]').filter({ hasText: 'named-failure' }).first();
  await err.waitFor();
  await page.screenshot({ path: join(shots, 'errors-named.png') });
});

test('a chained run links back to the run that started it, and a schedule shows what it triggers', async () => {
  const next = await create({ name: 'chain-next' });
  const first = await create({ name: 'chain-first', onSuccess: [next.id] });
  const run = await api('POST', `/api/scheduler/schedules/${first.id}/trigger`, { payload: { ticket: 42 } });
  assert.equal(run.status, 202, JSON.stringify(run.data));
  let chained;
  await waitFor(async () => {
    chained = (await api('GET', `/api/executions?scheduleId=${next.id}`)).data.items[0];
    return chained?.status === 'completed';
  }, 'the chained run');
  await page.goto(`${base}/#/executions/${chained.id}`);
  const back = page.locator('.chained-from a');
  await back.waitFor();
  assert.match(await page.locator('#payload').textContent(), new RegExp(run.data.executionId));
  await back.click();
  await page.locator('h1').filter({ hasText: 'chain-first' }).waitFor();
  assert.match(await page.locator('#payload').textContent(), /"ticket": 42/);
  await page.screenshot({ path: join(shots, 'chained-from.png') });
  await page.goto(`${base}/#/schedules?q=chain-first`);
  const link = page.locator('tr[data-schedule="chain-first"] .chain-links a');
  await link.waitFor();
  assert.equal(await link.getAttribute('title'), next.id);
});

test('a running task\'s output is tailed live and the view stays at its end', async () => {
  const gate = join(dataDir, `tail-gate-${Date.now()}`);
  const s = await create({ name: 'tailed', taskConfig: { command: `i=0; while [ $i -lt 150 ]; do echo line$i; i=$((i+1)); done; while [ ! -e '${gate}' ]; do sleep 0.05; done; echo after-gate` } });
  const run = await api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {});
  assert.equal(run.status, 202, JSON.stringify(run.data));
  const id = run.data.executionId;
  try {
    await page.goto(`${base}/#/executions/${id}`);
    const text = (sel) => page.evaluate((q) => document.querySelector(q)?.textContent || '', sel);
    await waitFor(async () => /line149/.test(await text('pre#stdout[data-live="true"]')), 'the output so far, while it runs');
    // Still going (its running state may not be stored yet): the task waits for the gate.
    assert.ok(['pending', 'running'].includes((await api('GET', `/api/executions/${id}`)).data.status));
    const live = page.locator('pre#stdout[data-live="true"]');
    const atEnd = await live.evaluate((pre) => pre.scrollHeight > pre.clientHeight && pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4);
    assert.ok(atEnd, 'the live block is scrolled to its end');
    await page.screenshot({ path: join(shots, 'live-output.png') });
  } finally {
    writeFileSync(gate, '');
  }
  await waitFor(async () => /after-gate/.test(await page.evaluate(() => document.querySelector('pre#stdout:not([data-live])')?.textContent || '')), 'the final output');
});

test('an admin sees a webhook URL and a curl line that signs the body', async () => {
  const s = await create({ name: 'hooked-ui', webhook: { enabled: true } });
  await page.goto(`${base}/#/schedules?q=hooked-ui`);
  const row = page.locator('tr[data-schedule="hooked-ui"]');
  await row.locator('.webhook-note summary').click();
  assert.equal(await row.locator('.webhook-url').textContent(), `${base}${s.webhookUrl}`);
  const curl = await row.locator('.webhook-curl').textContent();
  assert.ok(curl.includes(`-hmac '${s.webhookSecret}'`) && curl.includes('X-Taskforge-Signature: sha256='), curl);
  await page.screenshot({ path: join(shots, 'webhook.png') });
});

test('the errors view opens on what needs attention and never hides an escalated record', async () => {
  await create({ name: 'escalates', taskConfig: { command: 'exit 9' }, severity: 'high', retryPolicy: { maxAttempts: 1 } })
    .then((s) => api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {}));
  await waitFor(async () => (await api('GET', '/api/errors/errors?recoveryStatus=escalated')).data.items.length > 0, 'an escalated record');
  await page.goto(`${base}/#/errors`);
  await page.locator('tr[data-status="escalated"]').first().waitFor();
  assert.equal(await page.locator('#filter-recovery').inputValue(), 'unresolved,escalated');
  assert.match(await page.locator('#error-counts').textContent(), /escalated \d+/);
  assert.doesNotMatch(await page.locator('main').textContent(), /Nothing needs attention/);
  await page.screenshot({ path: join(shots, 'errors-attention.png') });
});

test('lists load more with their cursor and keep filters in the URL', async () => {
  const s = await create({ name: 'many-runs', taskConfig: { command: 'true' } });
  for (let i = 0; i < 55; i += 1) await api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {});
  await waitFor(async () => (await api('GET', `/api/executions?scheduleId=${s.id}&status=completed&limit=100`)).data.items.length === 55, '55 runs');
  await page.goto(`${base}/#/executions?scheduleId=${s.id}`);
  const rows = page.locator('tr[data-execution]');
  await waitFor(async () => (await rows.count()) === 50, 'first page of 50');
  await page.getByRole('button', { name: 'Load more' }).click();
  await waitFor(async () => (await rows.count()) === 55, 'all 55 after load more');
  await page.locator('#filter-status').selectOption('completed');
  await waitFor(async () => page.url().includes('status=completed'), 'the filter in the URL');
  await page.reload();
  await page.locator('tr[data-execution]').first().waitFor();
  assert.equal(await page.locator('#filter-status').inputValue(), 'completed');
  assert.match(page.url(), new RegExp(`scheduleId=${s.id}`));
});

test('keyboard focus stays on a row while live updates patch it', async () => {
  await create({ name: 'focus-ticker', taskConfig: { command: 'sleep 0.2' }, scheduleConfig: { expression: '* * * * * *' } });
  await page.goto(`${base}/#/executions`);
  const first = page.locator('tr[data-execution]').first();
  await first.waitFor();
  const id = await first.getAttribute('data-execution');
  await page.evaluate((x) => document.querySelector(`tr[data-execution="${x}"]`).focus(), id);
  const events = await page.evaluate(() => new Promise((resolve) => {
    let n = 0;
    const obs = new MutationObserver(() => { n += 1; });
    obs.observe(document.querySelector('tbody'), { childList: true, subtree: true });
    setTimeout(() => { obs.disconnect(); resolve(n); }, 3500);
  }));
  assert.ok(events > 0, 'no live updates arrived');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-execution')), id, 'focus was lost');
});

test('after an outage the view comes back by itself', async () => {
  await page.goto(`${base}/#/schedules`);
  await page.locator('tr[data-schedule]').first().waitFor();
  await service.stop();
  await page.locator('#live[data-state="closed"]').waitFor();
  // Moving on while the server is away shows a banner with Retry, not a blank view.
  await page.evaluate(() => { location.hash = '#/executions'; });
  await page.locator('.banner').filter({ hasText: 'Cannot reach the server' }).waitFor();
  assert.equal(await page.locator('.banner button', { hasText: 'Retry' }).count(), 1);
  service = await startService({ TASKFORGE_BIND: `127.0.0.1:${port}` }, { dataDir, keep: true });
  api = apiClient(service.base);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 60_000 });
  await page.locator('tr[data-execution]').first().waitFor();
  assert.equal(await page.locator('main h1').first().textContent(), 'Executions');
  await page.screenshot({ path: join(shots, 'after-outage.png') });
});

async function axe(where) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `${where}: accessibility violations`);
}

test('errors grouped by problem show one row, its last 24 hours, and resolve the whole group at once', async () => {
  const s = await create({ name: 'grouped-flood', taskConfig: { command: 'echo disk full >&2; exit 3' }, retryPolicy: { maxAttempts: 1 } });
  for (let i = 0; i < 3; i += 1) await api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {});
  const groupOf = async () => (await api('GET', '/api/errors/groups?status=open&limit=100')).data.items.find((g) => g.scheduleId === s.id);
  await waitFor(async () => (await groupOf())?.openCount === 3, 'one group of three open records');
  const g = await groupOf();
  assert.equal(g.hourly.length, 24);
  assert.equal(g.hourly.reduce((a, n) => a + n, 0), 3, 'the last 24 hours count the three failures');
  await page.goto(`${base}/#/errors?view=groups`);
  const row = page.locator(`tr[data-group="${g.fingerprint}"]`);
  await row.waitFor();
  assert.equal(await page.locator('tr[data-group]').filter({ hasText: 'grouped-flood' }).count(), 1, 'one row for the three records');
  assert.equal(await row.locator('.schedule-name').textContent(), 'grouped-flood');
  assert.match(await row.locator('.spark').getAttribute('aria-label'), /^3 failures in the last 24 hours/);
  assert.match(await row.locator('.spark').textContent(), /█$/, 'the newest hour is the busiest');
  await page.screenshot({ path: join(shots, 'errors-groups.png') });
  await row.locator('[data-bulk="resolve"]').click();
  await waitFor(async () => /^resolve: 3 changed, 0 skipped/.test(await page.locator('#bulk-result').textContent()), 'the bulk result');
  await waitFor(async () => (await row.count()) === 0, 'the resolved group to leave the open view');
  const closed = (await api('GET', `/api/errors/errors?scheduleId=${s.id}&recoveryStatus=resolved&limit=100`)).data.items;
  assert.equal(closed.length, 3, 'all three records resolved');
});

test('an auto-paused schedule says why, and an error record shows its history in order', async () => {
  const s = await create({ name: 'auto-paused', taskConfig: { command: 'exit 5' }, retryPolicy: { maxAttempts: 1 }, autoPauseAfterFailures: 1 });
  await api('POST', `/api/scheduler/schedules/${s.id}/trigger`, {});
  await waitFor(async () => (await api('GET', `/api/scheduler/schedules/${s.id}`)).data.enabled === false, 'the schedule auto-paused');
  await page.goto(`${base}/#/schedules`);
  const note = page.locator('tr[data-schedule="auto-paused"] .pause-note');
  await note.waitFor();
  assert.match(await note.textContent(), /auto-paused after 1 consecutive failures/);
  const rec = (await api('GET', `/api/errors/errors?scheduleId=${s.id}`)).data.items[0];
  assert.equal((await api('POST', `/api/errors/errors/${rec.id}/resolve`, { note: 'disk cleaned' })).status, 200);
  await page.goto(`${base}/#/errors/${rec.id}`);
  const rows = page.locator('#error-history tbody tr');
  await waitFor(async () => (await rows.count()) >= 2, 'the history rows');
  const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.action));
  assert.equal(actions[actions.length - 1], 'resolve', `newest change last: ${actions}`);
  assert.match(await rows.first().textContent(), /system/, 'the automatic change is by system');
  assert.match(await rows.last().textContent(), /disk cleaned/);
});

test('every view passes an axe-core check with no serious violations', async () => {
  const exec = (await api('GET', '/api/executions?limit=1')).data.items[0];
  const err = (await api('GET', '/api/errors/errors?limit=1')).data.items[0];
  for (const [hash, ready] of [
    ['#/overview', '[data-count="completed"]'], ['#/schedules', 'tr[data-schedule]'], ['#/executions', 'tr[data-execution]'],
    [`#/executions/${exec.id}`, 'main h1 .badge'], ['#/errors', 'main h1'], ['#/errors?view=groups&open=0', 'tr[data-group]'], [`#/errors/${err.id}`, 'main h1 .badge'], ['#/audit', 'main h1'],
  ]) {
    await page.goto(`${base}/${hash}`);
    await page.locator(ready).first().waitFor();
    await axe(hash);
  }
  await page.goto(`${base}/#/schedules`);
  await page.locator('#new-schedule').click();
  await page.locator('#schedule-form').waitFor();
  await axe('the schedule form');
  await page.screenshot({ path: join(shots, 'schedule-form.png'), fullPage: true });
});
