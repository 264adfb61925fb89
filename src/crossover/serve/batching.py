"""``MicroBatcher``: concurrent requests share one model call.

Each request puts its items (texts, or the rows of a table) in a queue and awaits a future. One
worker task takes the oldest request, waits at most ``max_wait_s`` (counted from when that
request arrived) for others to fill the micro-batch up to ``max_size`` items, runs the model
once on all of them in a thread (so the event loop keeps accepting requests meanwhile), and
hands every request its own slice of the results. Under light load a request waits at most
``max_wait_s``; under heavy load the queue fills during each model call, batches grow toward
``max_size``, and throughput rises because a model costs far less per item in a batch than
one item at a time (an embedding model's encoder; a table model's per-call preprocessing).

A request larger than ``max_size`` is never split: it runs as its own batch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatcherStopped", "MicroBatcher"]

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger("crossover.serve")


class BatcherStopped(RuntimeError):
    """The batcher is not running (not started yet, or shutting down)."""


@dataclass
class _Pending(Generic[T, R]):
    items: list[T]
    future: asyncio.Future[list[R]]
    arrived: float = field(default_factory=time.monotonic)


class MicroBatcher(Generic[T, R]):
    """Group the items of concurrent ``submit`` calls into calls of ``fn``.

    Parameters
    ----------
    fn : callable
        Takes a list of items (texts, table rows) and returns one result per item, in order.
        It runs in a worker thread, one call at a time.
    max_size : int
        Most items in one call of ``fn`` (a single larger request runs alone).
    max_wait_s : float
        Longest the oldest waiting request is held back to let the batch fill.
    on_batch : callable, optional
        Called with the number of items of every call of ``fn`` (for metrics).
    executor : Executor, optional
        Where ``fn`` runs; default: asyncio's default thread pool. Batchers that share one
        model should share a one-thread executor, so that the model never runs twice at once.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_size: int,
        max_wait_s: float,
        on_batch: Callable[[int], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        if max_size < 1 or max_wait_s < 0:
            raise ValueError("max_size must be >= 1 and max_wait_s >= 0")
        self.fn = fn
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self.executor = executor
        self._queue: collections.deque[_Pending[T, R]] = collections.deque()
        self._queued = 0  # items in the queue
        self._arrived = asyncio.Event()  # set while the queue is not empty
        self._full = asyncio.Event()  # set while the queue holds max_size items or more
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the worker task on the running event loop."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker; requests still queued fail with ``BatcherStopped``."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(BatcherStopped("the server is shutting down"))
        self._queued = 0

    async def submit(self, items: list[T]) -> list[R]:
        """Results of ``fn`` for ``items``, computed together with other waiting requests."""
        if not self.running:
            raise BatcherStopped("the model is not being served (starting or shutting down)")
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        pending: _Pending[T, R] = _Pending(list(items), future)
        self._queue.append(pending)
        self._queued += len(pending.items)
        self._arrived.set()
        if self._queued >= self.max_size:
            self._full.set()
        return await pending.future

    def _take(self) -> list[_Pending[T, R]]:
        """The oldest requests that fit in one batch (always at least one if any is queued)."""
        batch: list[_Pending[T, R]] = []
        size = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # its caller went away (cancelled)
                self._queue.popleft()
                self._queued -= len(head.items)
                continue
            if batch and size + len(head.items) > self.max_size:
                break
            self._queue.popleft()
            self._queued -= len(head.items)
            batch.append(head)
            size += len(head.items)
        if not self._queue:
            self._arrived.clear()
        if self._queued < self.max_size:
            self._full.clear()
        return batch

    async def _work(self) -> None:
        while True:
            await self._arrived.wait()
            if not self._queue:
                self._arrived.clear()
                continue
            wait_s = self._queue[0].arrived + self.max_wait_s - time.monotonic()
            if wait_s > 0 and self._queued < self.max_size:
                try:
                    async with asyncio.timeout(wait_s):
                        await self._full.wait()
                except TimeoutError:
                    pass
            batch = self._take()
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Pending[T, R]]) -> None:
        items = [item for pending in batch for item in pending.items]
        if self.on_batch is not None:
            self.on_batch(len(items))
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self.fn, items)
            if len(results) != len(items):
                raise RuntimeError(f"the model gave {len(results)} results for {len(items)} items")
        except asyncio.CancelledError:  # stopped during the call: nobody may wait forever
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(BatcherStopped("the server is shutting down"))
            raise
        except Exception as exc:  # every waiting caller gets the failure, the worker goes on
            logger.error("model call failed", extra={"fields": {"error": type(exc).__name__}})
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        start = 0
        for pending in batch:
            end = start + len(pending.items)
            if not pending.future.done():
                pending.future.set_result(list(results[start:end]))
            start = end
