"""The connection pool: SQLAlchemy's async QueuePool, with connections handed out in the
order requests asked for them.

SQLAlchemy's own queue (`AsyncAdaptedQueue`, on `asyncio.Queue`) puts a returned
connection back in the queue and wakes the longest waiter; until that waiter runs again,
any request that arrives takes the connection, and the waiter goes back to the end of the
line (sqlx calls it cutting in line: launchbadge/sqlx#453). Under a load past the pool,
some requests lose that race lap after lap. Measured with benchmarks/compare (`GET
/items/{id}`, 64 users on 2 workers of a 20-connection pool, after a warm-up): p95
260-320 ms and p99 440-560 ms with SQLAlchemy's queue, 140-150 ms and 160-190 ms with
this one, at the same throughput; the minimal Starlette + asyncpg app's p99 was 100-120 ms.

No maintained library offers a fair queue for SQLAlchemy's pool, hence this one. It uses
QueuePool's `_queue_class`, the seam by which SQLAlchemy's `AsyncAdaptedQueuePool` swaps
in its asyncio queue: tests/integration/test_pool_fairness.py fails if an upgrade of
SQLAlchemy changes it.
"""

import asyncio
from collections import deque
from contextlib import suppress

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty


class HandoffQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    """Idle connections, and the requests waiting for one, first come first served.

    A connection put back while a request waits goes straight to the longest waiter, so
    none sits in the queue for a newcomer to take: an idle connection exists only while
    nobody waits. Raises `Empty` when `get` waits longer than its timeout (seconds), which
    the pool turns into its TimeoutError (a 503, web/errors.py).
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is skipped
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        try:
            return self.get_nowait()
        except Empty:
            if not block:
                raise
        waiter: asyncio.Future[ConnectionPoolEntry] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(asyncio.wait_for(waiter, timeout))
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection just as its wait ended (the timeout, or the request
                # was cancelled): it goes to the next in line, not out of the pool.
                self.put_nowait(waiter.result())
            else:
                with suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                raise Empty from error
            raise


class FairQueuePool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` on a `HandoffQueue`: the same settings (`pool_size`,
    `max_overflow`, `pool_timeout`), connections handed out in the order asked for."""

    _queue_class = HandoffQueue
