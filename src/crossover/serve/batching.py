"""``MicroBatcher``: concurrent requests share one model call.

Each request puts its texts in a queue and awaits a future. One worker task takes the oldest
request, waits at most ``max_wait_s`` (counted from when that request arrived) for others to
fill the micro-batch up to ``max_size`` texts, runs the model once on all of them in a thread
(so the event loop keeps accepting requests meanwhile), and hands every request its own slice
of the results. Under light load a request waits at most ``max_wait_s``; under heavy load the
queue fills during each model call, batches grow toward ``max_size``, and throughput rises
because an embedding model costs far less per text in a batch than one text at a time.

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

R = TypeVar("R")
logger = logging.getLogger("crossover.serve")


class BatcherStopped(RuntimeError):
    """The batcher is not running (not started yet, or shutting down)."""


@dataclass
class _Pending(Generic[R]):
    texts: list[str]
    future: asyncio.Future[list[R]]
    arrived: float = field(default_factory=time.monotonic)


class MicroBatcher(Generic[R]):
    """Group the texts of concurrent ``submit`` calls into calls of ``fn``.

    Parameters
    ----------
    fn : callable
        Takes a list of texts and returns one result per text, in order. It runs in a worker
        thread, one call at a time.
    max_size : int
        Most texts in one call of ``fn`` (a single larger request runs alone).
    max_wait_s : float
        Longest the oldest waiting request is held back to let the batch fill.
    on_batch : callable, optional
        Called with the number of texts of every call of ``fn`` (for metrics).
    executor : Executor, optional
        Where ``fn`` runs; default: asyncio's default thread pool. Batchers that share one
        model should share a one-thread executor, so that the model never runs twice at once.
    """

    def __init__(
        self,
        fn: Callable[[list[str]], Sequence[R]],
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
        self._queue: collections.deque[_Pending[R]] = collections.deque()
        self._queued_texts = 0
        self._arrived = asyncio.Event()  # set while the queue is not empty
        self._full = asyncio.Event()  # set while the queue holds max_size texts or more
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
        self._queued_texts = 0

    async def submit(self, texts: list[str]) -> list[R]:
        """Results of ``fn`` for ``texts``, computed together with other waiting requests."""
        if not self.running:
            raise BatcherStopped("the model is not being served (starting or shutting down)")
        pending: _Pending[R] = _Pending(list(texts), asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        self._queued_texts += len(pending.texts)
        self._arrived.set()
        if self._queued_texts >= self.max_size:
            self._full.set()
        return await pending.future

    def _take(self) -> list[_Pending[R]]:
        """The oldest requests that fit in one batch (always at least one if any is queued)."""
        batch: list[_Pending[R]] = []
        size = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # its caller went away (cancelled)
                self._queue.popleft()
                self._queued_texts -= len(head.texts)
                continue
            if batch and size + len(head.texts) > self.max_size:
                break
            self._queue.popleft()
            self._queued_texts -= len(head.texts)
            batch.append(head)
            size += len(head.texts)
        if not self._queue:
            self._arrived.clear()
        if self._queued_texts < self.max_size:
            self._full.clear()
        return batch

    async def _work(self) -> None:
        while True:
            await self._arrived.wait()
            if not self._queue:
                self._arrived.clear()
                continue
            wait_s = self._queue[0].arrived + self.max_wait_s - time.monotonic()
            if wait_s > 0 and self._queued_texts < self.max_size:
                try:
                    async with asyncio.timeout(wait_s):
                        await self._full.wait()
                except TimeoutError:
                    pass
            batch = self._take()
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Pending[R]]) -> None:
        texts = [text for pending in batch for text in pending.texts]
        if self.on_batch is not None:
            self.on_batch(len(texts))
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self.fn, texts)
            if len(results) != len(texts):
                raise RuntimeError(f"the model gave {len(results)} results for {len(texts)} texts")
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
            end = start + len(pending.texts)
            if not pending.future.done():
                pending.future.set_result(list(results[start:end]))
            start = end
