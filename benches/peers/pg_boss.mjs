// pg-boss as a peer: `work DSN TARGET BATCH` fetches jobs of queues `warm` and `burst` in
// batches of BATCH and runs them at once (one HTTP GET of TARGET each); `enqueue DSN N DUE_ISO
// QUEUE` inserts N jobs that start after DUE_ISO.
import { PgBoss } from "pg-boss";
import { request, Agent, setGlobalDispatcher } from "undici";

const [mode, dsn, ...rest] = process.argv.slice(2);
const boss = new PgBoss({ connectionString: dsn, max: 10, supervise: mode !== "enqueue", schedule: false });
boss.on("error", (e) => console.error(e));
await boss.start();
for (const q of ["warm", "burst"]) {
  if (!(await boss.getQueue(q))) await boss.createQueue(q);
}

if (mode === "enqueue") {
  const [n, due, queue] = rest;
  const startAfter = new Date(due);
  const jobs = Array.from({ length: Number(n) }, () => ({ data: {}, startAfter }));
  for (let i = 0; i < jobs.length; i += 10000) {
    await boss.insert(queue, jobs.slice(i, i + 10000));
  }
  await boss.stop({ graceful: false, wait: true });
} else {
  const [target, batch] = rest;
  setGlobalDispatcher(new Agent({ connections: Number(batch) }));
  const get = async () => {
    const r = await request(target);
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
  };
  const opts = { batchSize: Number(batch), pollingIntervalSeconds: 0.5, burstWhenBatchFull: true };
  for (const q of ["warm", "burst"]) {
    await boss.work(q, opts, async (jobs) => {
      await Promise.all(jobs.map(get));
    });
  }
  console.log("ready");
}
