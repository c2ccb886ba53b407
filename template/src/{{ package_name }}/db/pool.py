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
from sqlalchemy.util.queue import Empty, Full, QueueCommon


class HandoffQueue(QueueCommon[ConnectionPoolEntry]):
    """Idle connections, and the requests waiting for one, first come first served.

    A connection put back while a request waits goes straight to the longest waiter, so
    none sits idle for a newcomer to take: an idle connection exists only while nobody
    waits. `put` raises `Full` past `maxsize` idle connections (the pool then closes the
    connection: it was an overflow one); `get` raises `Empty` when there is none and it
    may not wait, or when it waited longer than its timeout (seconds), which the pool
    turns into its TimeoutError (a 503, web/errors.py).
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[ConnectionPoolEntry] = deque()
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put(
        self, item: ConnectionPoolEntry, block: bool = True, timeout: float | None = None
    ) -> None:
        # The pool never waits to return a connection: it closes the one that finds
        # the queue full.
        self.put_nowait(item)

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        if self._handed_to_a_waiter(item):
            return
        if self.full():
            raise Full
        self._idle.append(item)

    def get_nowait(self) -> ConnectionPoolEntry:
        if not self._idle:
            raise Empty
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

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
            self._leave_the_line(waiter)
            if isinstance(error, TimeoutError):
                raise Empty from error
            raise

    def _handed_to_a_waiter(self, item: ConnectionPoolEntry) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # one that timed out or was cancelled is skipped
                waiter.set_result(item)
                return True
        return False

    def _leave_the_line(self, waiter: asyncio.Future[ConnectionPoolEntry]) -> None:
        """After a wait that ended in an error (its timeout, or its request cancelled)."""
        if waiter.done() and not waiter.cancelled():
            # Handed a connection just as the wait ended: it goes to the next in line,
            # or back among the idle ones, even past maxsize (another connection may
            # have been returned meanwhile). Raising Full here would lose it; one idle
            # too many is closed at a later return, as any overflow connection is.
            item = waiter.result()
            if not self._handed_to_a_waiter(item):
                self._idle.append(item)
        else:
            with suppress(ValueError):  # not there when a return skipped it already
                self._waiters.remove(waiter)


class FairQueuePool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` on a `HandoffQueue`: the same settings (`pool_size`,
    `max_overflow`, `pool_timeout`, `pool_use_lifo`), connections handed out in the order
    asked for."""

    _queue_class = HandoffQueue
