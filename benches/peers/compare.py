#!/usr/bin/env python3
"""B2 against PostgreSQL job queues, in one sitting: the same PostgreSQL cluster (default
settings, fsync and synchronous_commit on), the same nginx stub, one HTTP GET per job.

    cargo build --release && python3 benches/peers/compare.py [--sizes 10000,50000,100000]
        [--runs 3] [--systems taskforge,graphile-worker,pg-boss,pgqueuer]

The peers are installed from npm and PyPI into $PEERS_CACHE (default /tmp/taskforge-peers);
nginx is installed with apt-get when missing. Nothing is committed but these scripts.

Every system gets the same shape of work: N jobs (for taskforge, N one-time schedules) written
a few seconds ahead, all due at one instant T, with the workers already running and warmed
by 1,000 jobs. An observer on its own connection polls every 25 ms whether any of the N is not
yet durably finished (a row still queued or running, read from PostgreSQL: an EXISTS, so the
poll stays cheap at every size) and reports the first poll that sees none, minus T. Runs are interleaved (each round runs every system once), so
drift of the shared machine falls on all of them alike.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = Path(os.environ.get("PEERS_CACHE", "/tmp/taskforge-peers"))
PORT = 5499
NODE_PACKAGES = ["graphile-worker@0.18.0", "pg-boss@12.38.0", "undici@7.30.2", "pg@8"]
PY_PACKAGES = ["pgqueuer==1.6.0", "asyncpg==0.32.0", "aiohttp==3.14.5"]
POLL = 0.025


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def install_peers():
    node = CACHE / "node"
    if not (node / "node_modules" / "graphile-worker").exists():
        node.mkdir(parents=True, exist_ok=True)
        (node / "package.json").write_text('{"name": "peers", "private": true, "type": "module"}')
        sh(["npm", "install", "--no-audit", "--no-fund", "--silent", *NODE_PACKAGES], cwd=node)
    for f in ("graphile_worker.mjs", "pg_boss.mjs"):
        shutil.copy(HERE / f, node / f)
    venv = CACHE / "venv"
    if not (venv / "bin" / "python").exists():
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", *PY_PACKAGES])
    if shutil.which("nginx") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"], env=env)
    return node, venv


def pg_bindir():
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        d = Path(out.stdout.strip())
        if (d / "postgres").exists():
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "postgres").exists():
            return d
    return Path(shutil.which("postgres")).parent


def as_postgres(cmd):
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Cluster:
    """A PostgreSQL cluster of its own, on a unix socket, default settings."""

    def __init__(self, work: Path):
        self.dir = work / "pg"
        self.sock = work / "sock"
        self.sock.mkdir()
        work.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.sock, "postgres")
            self.dir.mkdir()
            shutil.chown(self.dir, "postgres")
        bindir = pg_bindir()
        sh(as_postgres([str(bindir / "initdb"), "-D", str(self.dir), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8"]), stdout=subprocess.DEVNULL)
        self.proc = subprocess.Popen(
            as_postgres([str(bindir / "postgres"), "-D", str(self.dir), "-k", str(self.sock),
                         "-p", str(PORT), "-c", "listen_addresses=",
                         *os.environ.get("PEERS_PG_OPTS", "").split()]),
            stdout=subprocess.DEVNULL, stderr=open(work / "pg.log", "w"))
        deadline = time.time() + 60
        while not (self.sock / f".s.PGSQL.{PORT}").exists():
            if time.time() > deadline:
                raise SystemExit("PostgreSQL did not start; see pg.log")
            time.sleep(0.1)
        time.sleep(0.5)

    def dsn(self, db):
        return f"postgresql://postgres@/{db}?host={self.sock}&port={PORT}"

    def node_dsn(self, db):
        return f"postgresql://postgres@{str(self.sock).replace('/', '%2F')}:{PORT}/{db}"

    def cpu(self):
        """CPU seconds of the postmaster (with its reaped children) and its live backends."""
        master = int((self.dir / "postmaster.pid").read_text().split()[0])
        return sum(cpu_of(p, children=True) for p in [master] + children_of(master))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def stat_fields(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children_of(pid):
    out = []
    for e in Path("/proc").iterdir():
        if e.name.isdigit():
            f = stat_fields(e.name)
            if f and int(f[1]) == pid:
                out.append(int(e.name))
    return out


def cpu_of(pid, children=False):
    f = stat_fields(pid)
    if not f:
        return 0.0
    ticks = sum(float(x) for x in f[11:15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


class Stub:
    """nginx answering 200 `{}` to every request, one worker."""

    def __init__(self, work: Path):
        d = work / "nginx"
        d.mkdir()
        (d / "nginx.conf").write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:18099 backlog=4096;
    location / {{ default_type application/json; return 200 '{{}}'; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(d / "nginx.conf"), "-p", str(d),
                                      "-g", "daemon off;"])
        self.url = "http://127.0.0.1:18099/ok"
        time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Workers:
    """Worker processes of one system; stopped (with their children) on close."""

    def __init__(self, cmds, cwd, env=None, ready="ready"):
        self.procs = []
        for cmd in cmds:
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True,
                                 start_new_session=True)
            self.procs.append(p)
            # One at a time: each migrates or checks its schema on start.
            for line in p.stdout:
                if ready in line:
                    break

    def pids(self):
        out = []
        for p in self.procs:
            out.append(p.pid)
            out += children_of(p.pid)
        return out

    def cpu(self):
        return sum(cpu_of(p, children=True) for p in self.pids())

    def close(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()


async def scalar(conn, sql):
    return await conn.fetchval(sql)


class System:
    name = ""

    def __init__(self, cluster, stub, node, venv):
        self.cluster, self.stub, self.node, self.venv = cluster, stub, node, venv

    def extra(self, conn, due):
        return {}


class NodePeer(System):
    """A Node.js peer: `SCRIPT work DSN TARGET ARG` in two processes, `SCRIPT enqueue DSN N DUE NAME`."""
    script, arg, names = "", "", {}

    def start(self, db):
        cmd = ["node", self.script, "work", self.cluster.node_dsn(db), self.stub.url, self.arg]
        return Workers([cmd, cmd], self.node)

    def enqueue(self, db, n, due, kind):
        sh(["node", self.script, "enqueue", self.cluster.node_dsn(db), str(n), due.isoformat(),
            self.names.get(kind, kind)], cwd=self.node)


class GraphileWorker(NodePeer):
    name, script, arg, names = "graphile-worker", "graphile_worker.mjs", "24", {"burst": "get"}
    remaining = "SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs)"
    failed = "SELECT count(*) FROM graphile_worker._private_jobs WHERE attempts > 0"


class PgBoss(NodePeer):
    name, script, arg = "pg-boss", "pg_boss.mjs", "100"
    remaining = ("SELECT EXISTS (SELECT 1 FROM pgboss.job WHERE name IN ('burst', 'warm') "
                 "AND state IN ('created', 'retry', 'active'))")
    failed = "SELECT count(*) FROM pgboss.job WHERE state = 'failed'"


class PgQueuerSystem(System):
    name = "pgqueuer"

    def start(self, db):
        py = str(self.venv / "bin" / "python")
        script = str(HERE / "pgqueuer_worker.py")
        sh([py, script, "install", self.cluster.dsn(db)])
        cmd = [py, script, "work", self.cluster.dsn(db), self.stub.url, "100"]
        return Workers([cmd, cmd], HERE)

    def enqueue(self, db, n, due, kind):
        sh([str(self.venv / "bin" / "python"), str(HERE / "pgqueuer_worker.py"), "enqueue",
            self.cluster.dsn(db), str(n), due.isoformat(), kind])

    remaining = "SELECT EXISTS (SELECT 1 FROM pgqueuer)"
    failed = "SELECT count(*) FROM pgqueuer_log WHERE status = 'exception'"


class Taskforge(System):
    name = "taskforge"

    def start(self, db):
        self.log = Path(tempfile.mkstemp(prefix=f"tf-{db}-", suffix=".log")[1])
        env = dict(os.environ, DATABASE_URL=self.cluster.dsn(db), TASKFORGE_BIND="127.0.0.1:0",
                   RUST_LOG="warn,taskforge::app=info")
        binary = ROOT / "target" / "release" / "taskforge"
        p = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL,
                             stderr=open(self.log, "w"), start_new_session=True)
        w = Workers([], ROOT)
        w.procs.append(p)
        deadline = time.time() + 120
        while "listening on" not in self.log.read_text():
            if time.time() > deadline or p.poll() is not None:
                raise SystemExit(f"taskforge did not start: {self.log.read_text()}")
            time.sleep(0.05)
        return w

    def enqueue(self, db, n, due, kind):
        sql = (
            "INSERT INTO task_schedules (id, name, task_type, task_config, schedule_type, "
            "schedule_config, retry_policy, next_run_at, anchor_at) "
            f"SELECT gen_random_uuid(), '{kind}-' || g, 'http', "
            f"jsonb_build_object('url', '{self.stub.url}', 'method', 'GET'), 'once', "
            f"jsonb_build_object('runAt', '{due.isoformat()}'), "
            "'{\"maxAttempts\": 1, \"backoffBaseMs\": 1000, \"backoffMaxMs\": 3600000}', "
            f"'{due.isoformat()}', now() FROM generate_series(1, {n}) g")
        asyncio.run(run_sql(self.cluster.dsn(db), sql))

    remaining = ("SELECT EXISTS (SELECT 1 FROM task_schedules WHERE enabled AND next_run_at IS NOT NULL)"
                 " OR EXISTS (SELECT 1 FROM task_executions WHERE status IN ('pending', 'running'))")
    failed = "SELECT count(*) FROM task_executions WHERE status <> 'completed'"

    async def extra(self, conn, due):
        phase = lambda col: conn.fetchval(
            f"SELECT EXTRACT(EPOCH FROM (max({col}) - $1::timestamptz))::float8 FROM task_executions "
            "WHERE schedule_name LIKE 'burst-%'", due)
        return {"last_claimed": await phase("created_at"), "last_started": await phase("started_at"),
                "stamp": await phase("finished_at")}


async def run_sql(dsn, sql):
    import asyncpg
    c = await asyncpg.connect(dsn)
    try:
        await c.execute(sql)
    finally:
        await c.close()


TRACE = os.environ.get("PEERS_TRACE")
TRACE_SQL = ("SELECT (SELECT count(*) FROM task_schedules WHERE enabled AND next_run_at IS NOT NULL) u, "
             "(SELECT count(*) FROM task_executions WHERE status = 'pending') p, "
             "(SELECT count(*) FROM task_executions WHERE status = 'running') r")


async def wait_done(dsn, sql, until, deadline, then=None):
    """Polls `sql` (work not yet finished) until it answers 0 at or after `until`; then runs
    `then(conn, end)` on the same connection and answers (end, what it answered).
    PEERS_TRACE=FILE (taskforge only) appends unclaimed/pending/running counts per poll."""
    import asyncpg
    c = await asyncpg.connect(dsn)
    trace = open(TRACE, "a") if TRACE and "task_executions" in sql and then else None
    try:
        while True:
            left = await c.fetchval(sql)
            now = datetime.now(timezone.utc)
            if trace:
                r = await c.fetchrow(TRACE_SQL)
                trace.write(f"{(now - until).total_seconds():+.3f} unclaimed={r['u']} pending={r['p']} running={r['r']}\n")
            if not left and now >= until:
                return now, (await then(c, now) if then else None)
            if time.time() > deadline:
                raise RuntimeError(f"{left} jobs still unfinished at the deadline")
            await asyncio.sleep(POLL)
    finally:
        await c.close()


async def statements(cluster, reset):
    """With PEERS_TRACE and PEERS_PG_OPTS="-c shared_preload_libraries=pg_stat_statements":
    the statements that took PostgreSQL's time, appended to the trace."""
    import asyncpg
    c = await asyncpg.connect(cluster.dsn("postgres"))
    try:
        await c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if reset:
            await c.execute("SELECT pg_stat_statements_reset()")
            return
        rows = await c.fetch("SELECT calls, rows, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) q "
                             "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15")
        with open(TRACE, "a") as f:
            for r in rows:
                f.write(f"{r['total_exec_time']:9.0f} ms {r['calls']:6} calls {r['rows']:7} rows  {r['q']}\n")
    finally:
        await c.close()


def one_run(system, cluster, n, label):
    db = f"{system.name.replace('-', '_')}_{n}_{label}"
    asyncio.run(run_sql(cluster.dsn("postgres"), f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    asyncio.run(run_sql(cluster.dsn("postgres"), f"CREATE DATABASE {db}"))
    if system.name == "taskforge":
        sh([str(ROOT / "target" / "release" / "taskforge"), "migrate"],
           env=dict(os.environ, DATABASE_URL=cluster.dsn(db)), stdout=subprocess.DEVNULL)
    workers = system.start(db)
    try:
        warm_due = datetime.now(timezone.utc) + timedelta(seconds=1)
        system.enqueue(db, 1000, warm_due, "warm")
        asyncio.run(wait_done(cluster.dsn(db), system.remaining, warm_due, time.time() + 120))
        lead = 3 + n / 10000
        due = datetime.now(timezone.utc) + timedelta(seconds=lead)
        system.enqueue(db, n, due, "burst")
        if datetime.now(timezone.utc) > due - timedelta(seconds=0.5):
            raise RuntimeError("enqueueing took longer than the lead")
        if TRACE:
            asyncio.run(statements(cluster, reset=True))
        w0, p0 = workers.cpu(), cluster.cpu()

        async def after(c, _end):
            w1, p1 = workers.cpu(), cluster.cpu()
            failed = await c.fetchval(system.failed)
            extra = await system.extra(c, due) if system.name == "taskforge" else {}
            return w1, p1, failed, extra

        end, (w1, p1, failed, extra) = asyncio.run(
            wait_done(cluster.dsn(db), system.remaining, due, time.time() + 900, after))
    finally:
        workers.close()
    if TRACE:
        asyncio.run(statements(cluster, reset=False))
    secs = (end - due).total_seconds()
    asyncio.run(run_sql(cluster.dsn("postgres"), f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    return {"system": system.name, "n": n, "secs": secs, "rate": n / secs, "failed": failed,
            "cpu_workers_us": (w1 - w0) * 1e6 / n, "cpu_pg_us": (p1 - p0) * 1e6 / n, **extra}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--systems", default="taskforge,graphile-worker,pg-boss,pgqueuer")
    ap.add_argument("--json", help="also write every run here")
    args = ap.parse_args()
    node, venv = install_peers()
    sys.path.insert(0, str(next((venv / "lib").glob("*/site-packages"))))
    work = Path(tempfile.mkdtemp(prefix="tf-peers-"))
    cluster, stub = Cluster(work), Stub(work)
    kinds = {c.name: c for c in (Taskforge, GraphileWorker, PgBoss, PgQueuerSystem)}
    systems = [kinds[s](cluster, stub, node, venv) for s in args.systems.split(",")]
    results = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            for r in range(args.runs):
                for s in systems:
                    res = one_run(s, cluster, n, f"r{r}")
                    results.append(res)
                    print(json.dumps(res), flush=True)
    finally:
        stub.stop()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print("\n| burst | " + " | ".join(s.name for s in systems) + " | taskforge / best peer |")
    print("|---|" + "---|" * (len(systems) + 1))
    for n in sorted({r["n"] for r in results}):
        cells, medians = [], {}
        for s in systems:
            rates = sorted(r["rate"] for r in results if r["n"] == n and r["system"] == s.name)
            medians[s.name] = statistics.median(rates)
            cells.append(f"{rates[0]:,.0f} / **{medians[s.name]:,.0f}** / {rates[-1]:,.0f}")
        peers = [v for k, v in medians.items() if k != "taskforge"]
        ratio = f"{medians['taskforge'] / max(peers):.2f}×" if peers and "taskforge" in medians else ""
        print(f"| {n:,} | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
