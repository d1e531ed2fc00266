// The schedule page and the upcoming timeline, in Chromium: the page says in words when the
// schedule runs, marks next runs that a DST change touches, charts its runs by status (live),
// lists its error groups and its latest output; the overview draws the next 24 hours; both
// follow the system's dark mode and pass axe-core in light and dark.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { startService, launchBrowser, apiClient, waitFor, shots, T } from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let service, base, browser, page, api, flagDir;

before(async () => {
  service = await startService();
  ({ base } = service);
  api = apiClient(base);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(T);
  flagDir = mkdtempSync(join(tmpdir(), 'tf-pages-'));
});

after(async () => {
  await browser?.close();
  await service?.stop();
  if (flagDir) rmSync(flagDir, { recursive: true, force: true });
});

async function axe(where) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `${where}: accessibility violations`);
}

async function run(id) {
  const r = await api('POST', `/api/scheduler/schedules/${id}/trigger`, {});
  assert.equal(r.status, 202, JSON.stringify(r.data));
  await waitFor(async () => ['completed', 'failed'].includes((await api('GET', `/api/executions/${r.data.executionId}`)).data.status), 'the run to end');
}

let demo;

test('a schedule page says when it runs, marks DST, charts its runs by status and shows errors and output', async () => {
  const flag = join(flagDir, 'fail');
  // Sundays of March at 02:30 in Berlin: the last one falls in the hour DST skips.
  const r = await api('POST', '/api/scheduler/schedules', {
    name: 'page-demo', description: 'Shows the schedule page', taskType: 'shell', retryPolicy: { maxAttempts: 1 },
    taskConfig: { command: 'echo "hello from page-demo"; [ ! -e "$FLAG" ]', env: { FLAG: flag } },
    scheduleType: 'cron', scheduleConfig: { expression: '30 2 * 3 0', timezone: 'Europe/Berlin' }, tags: ['demo'],
  });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  demo = r.data;
  for (const fail of [false, true, false, false, true, false]) {
    if (fail) writeFileSync(flag, ''); else rmSync(flag, { force: true });
    await run(demo.id);
  }
  rmSync(flag, { force: true });

  // Reached from the schedules list by keyboard: the name is a link to the page.
  await page.goto(`${base}/#/schedules?q=page-demo`);
  const link = page.locator('tr[data-schedule="page-demo"] a.schedule-name');
  await link.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#/schedules/${demo.id}$`));
  await page.locator('#schedule-words').waitFor();
  assert.equal(await page.locator('#schedule-words').textContent(), 'At 02:30 on Sunday in March, Europe/Berlin time');
  await page.locator('#next-runs .badge.dst.gap').first().waitFor();
  assert.equal(await page.locator('.run-bar.completed').count(), 4);
  assert.equal(await page.locator('.run-bar.failed').count(), 2);
  assert.match(await page.locator('svg.runs-chart').getAttribute('aria-label'), /last 6 runs: .*4 completed/);
  assert.match(await page.locator('#schedule-groups tbody tr').first().textContent(), /exit code 1/);
  assert.match(await page.locator('#latest-output').textContent(), /hello from page-demo/);
  assert.match(await page.locator('#schedule-stats').textContent(), /66\.7 %/);

  // Live: a run started elsewhere appears without a reload.
  await run(demo.id);
  await waitFor(async () => (await page.locator('.run-bar.completed').count()) === 5, 'the new run on the chart');
  await axe('the schedule page');
  await page.screenshot({ path: join(shots, 'schedule-page.png') });
});

test('the overview draws the next 24 hours across schedules', async () => {
  for (const [name, secs] of [['every-hour', 3600], ['every-4h', 14400]]) {
    const r = await api('POST', '/api/scheduler/schedules', { name, taskType: 'shell', taskConfig: { command: 'true' }, scheduleType: 'interval', scheduleConfig: { intervalSeconds: secs } });
    assert.equal(r.status, 201, JSON.stringify(r.data));
  }
  await page.goto(`${base}/#/overview`);
  const chart = page.locator('#upcoming svg.timeline');
  await chart.waitFor();
  // 24 or 25 hourly runs and 6 or 7 four-hourly ones, by where "now" falls.
  const label = await chart.getAttribute('aria-label');
  const [, runs, schedules] = /^(\d+) runs of (\d+) schedules/.exec(label) || [];
  assert.equal(schedules, '2', label);
  assert.ok(Number(runs) >= 30 && Number(runs) <= 32, label);
  assert.equal(await chart.locator('.run-tick').count(), Number(runs));
  await page.locator('#upcoming summary').click();
  await page.locator('#upcoming li a', { hasText: 'every-hour' }).first().waitFor();
  await axe('the overview with its timeline');
  await page.screenshot({ path: join(shots, 'overview-upcoming.png') });
});

test('the colour scheme follows the system dark mode and stays accessible', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  for (const [hash, ready] of [['#/overview', '#upcoming svg'], [`#/schedules/${demo.id}`, '.run-bar'], ['#/schedules', 'tr[data-schedule]'], ['#/executions', 'tr[data-execution]'], ['#/errors', 'main h1']]) {
    await page.goto(`${base}/${hash}`);
    await page.locator(ready).first().waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 150, `${hash}: dark background, got ${bg}`);
    await axe(`${hash} in dark mode`);
  }
  await page.goto(`${base}/#/schedules/${demo.id}`);
  await page.locator('.run-bar').first().waitFor();
  await page.screenshot({ path: join(shots, 'schedule-page-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
});
