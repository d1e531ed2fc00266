// graphile-worker as a peer: `work DSN TARGET CONCURRENCY` runs jobs of task `get` (one HTTP
// GET of TARGET each); `enqueue DSN N DUE_ISO TASK` adds N jobs due at DUE_ISO in one call.
// Tuned as its docs advise for throughput: a local queue and batched completions.
import { run, makeWorkerUtils } from "graphile-worker";
import { request, Agent, setGlobalDispatcher } from "undici";

const [mode, dsn, ...rest] = process.argv.slice(2);

if (mode === "enqueue") {
  const [n, due, task] = rest;
  const utils = await makeWorkerUtils({ connectionString: dsn });
  await utils.migrate();
  const runAt = new Date(due);
  const specs = Array.from({ length: Number(n) }, () => ({ identifier: task, payload: {}, runAt }));
  for (let i = 0; i < specs.length; i += 10000) {
    await utils.addJobs(specs.slice(i, i + 10000));
  }
  await utils.release();
} else {
  const [target, concurrency] = rest;
  setGlobalDispatcher(new Agent({ connections: Number(concurrency) * 2 }));
  const get = async () => {
    const r = await request(target);
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
  };
  const runner = await run({
    connectionString: dsn,
    concurrency: Number(concurrency),
    pollInterval: 100,
    noHandleSignals: false,
    preset: {
      worker: {
        maxPoolSize: Number(concurrency) + 4,
        localQueue: { size: 200 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
    taskList: { get, warm: get },
  });
  console.log("ready");
  await runner.promise;
}
