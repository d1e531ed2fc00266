"""PgQueuer as a peer: `work DSN TARGET BATCH` runs jobs of entrypoints `warm` and `burst`
(one HTTP GET of TARGET each, aiohttp); `enqueue DSN N DUE_ISO ENTRYPOINT` enqueues N jobs that
run after DUE_ISO; `install DSN` creates its tables."""

import asyncio
import sys
from datetime import datetime, timedelta, timezone

import aiohttp
import asyncpg
from pgqueuer import AsyncpgDriver, PgQueuer, Queries


async def main(mode: str, dsn: str, *rest: str) -> None:
    conn = await asyncpg.connect(dsn)
    driver = AsyncpgDriver(conn)
    if mode == "install":
        await Queries(driver).install()
        return
    if mode == "enqueue":
        n, due, entrypoint = int(rest[0]), datetime.fromisoformat(rest[1]), rest[2]
        after = due - datetime.now(timezone.utc)
        q = Queries(driver)
        for i in range(0, n, 10000):
            k = min(10000, n - i)
            await q.enqueue([entrypoint] * k, [None] * k, [0] * k, [after] * k)
        return
    target, batch = rest[0], int(rest[1])
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=batch))
    pgq = PgQueuer(driver)

    async def get(_job) -> None:
        async with session.get(target) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"status {r.status}")

    pgq.entrypoint("warm")(get)
    pgq.entrypoint("burst")(get)
    print("ready", flush=True)
    await pgq.run(batch_size=batch, dequeue_timeout=timedelta(milliseconds=100))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
