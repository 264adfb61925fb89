"""The micro-batcher: concurrent requests share model calls, bounded in size and wait."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from crossover.serve.batching import BatcherStopped, MicroBatcher

T = TypeVar("T")


class Recorder:
    """A model function that upper-cases texts and records every call's texts."""

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.threads: set[str] = set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.threads.add(threading.current_thread().name)
        if self.fail_on in texts:
            raise ValueError("model failed")
        time.sleep(self.delay_s)
        return [t.upper() for t in texts]


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())


def test_batcher_groups_concurrent_requests_into_fewer_calls() -> None:
    model = Recorder()

    async def main() -> list[list[str]]:
        batcher = MicroBatcher(model, max_size=64, max_wait_s=0.05)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(20)))
        finally:
            await batcher.stop()

    results = run(main)
    assert results == [[f"T{i}"] for i in range(20)]  # each caller gets its own answer
    assert len(model.calls) < 20
    assert sum(len(c) for c in model.calls) == 20


def test_batcher_never_exceeds_max_size() -> None:
    model = Recorder()

    async def main() -> list[list[str]]:
        batcher = MicroBatcher(model, max_size=7, max_wait_s=0.05)
        batcher.start()
        try:
            requests = [[f"r{i}-{j}" for j in range(3)] for i in range(10)]
            return await asyncio.gather(*(batcher.submit(r) for r in requests))
        finally:
            await batcher.stop()

    results = run(main)
    assert results == [[f"R{i}-{j}" for j in range(3)] for i in range(10)]
    assert max(len(c) for c in model.calls) <= 7
    assert len(model.calls) >= 5  # 30 texts, at most two 3-text requests per call


def test_a_request_larger_than_max_size_runs_alone_and_whole() -> None:
    model = Recorder()

    async def main() -> list[str]:
        batcher = MicroBatcher(model, max_size=4, max_wait_s=0.0)
        batcher.start()
        try:
            return await batcher.submit([str(i) for i in range(10)])
        finally:
            await batcher.stop()

    assert run(main) == [str(i) for i in range(10)]
    assert model.calls == [[str(i) for i in range(10)]]


def test_requests_queued_during_a_call_share_the_next_one_without_waiting() -> None:
    model = Recorder(delay_s=0.2)

    async def main() -> None:
        batcher = MicroBatcher(model, max_size=64, max_wait_s=0.0)
        batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(["first"]))
            await asyncio.sleep(0.05)  # the first call is running now
            rest = [asyncio.create_task(batcher.submit([f"n{i}"])) for i in range(5)]
            await asyncio.gather(first, *rest)
        finally:
            await batcher.stop()

    run(main)
    assert model.calls == [["first"], [f"n{i}" for i in range(5)]]


def test_a_lone_request_waits_at_most_about_max_wait() -> None:
    model = Recorder()

    async def main() -> float:
        batcher = MicroBatcher(model, max_size=64, max_wait_s=0.05)
        batcher.start()
        try:
            start = time.monotonic()
            await batcher.submit(["alone"])
            return time.monotonic() - start
        finally:
            await batcher.stop()

    elapsed_s = run(main)
    assert model.calls == [["alone"]]
    assert 0.04 <= elapsed_s < 2.0  # it waited for company, then went alone


def test_a_full_batch_runs_before_max_wait() -> None:
    model = Recorder()

    async def main() -> float:
        batcher = MicroBatcher(model, max_size=4, max_wait_s=30.0)
        batcher.start()
        try:
            start = time.monotonic()
            await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(4)))
            return time.monotonic() - start
        finally:
            await batcher.stop()

    assert run(main) < 10.0  # far below the 30 s wait: a full batch goes at once
    assert model.calls == [["t0", "t1", "t2", "t3"]]


def test_a_failed_call_fails_its_callers_only_and_the_batcher_goes_on() -> None:
    model = Recorder(fail_on="boom")

    async def main() -> tuple[list[Any], list[str]]:
        batcher = MicroBatcher(model, max_size=64, max_wait_s=0.05)
        batcher.start()
        try:
            failed = await asyncio.gather(
                batcher.submit(["ok"]), batcher.submit(["boom"]), return_exceptions=True
            )
            return failed, await batcher.submit(["later"])
        finally:
            await batcher.stop()

    failed, later = run(main)
    assert all(isinstance(r, ValueError) for r in failed)  # they shared the failed call
    assert later == ["LATER"]


def test_model_calls_run_off_the_event_loop_thread() -> None:
    model = Recorder()

    async def main() -> None:
        batcher = MicroBatcher(model, max_size=8, max_wait_s=0.0)
        batcher.start()
        try:
            await batcher.submit(["x"])
        finally:
            await batcher.stop()

    run(main)
    assert threading.current_thread().name not in model.threads


def test_on_batch_sees_every_call_size() -> None:
    sizes: list[int] = []

    async def main() -> None:
        batcher = MicroBatcher(Recorder(), max_size=64, max_wait_s=0.05, on_batch=sizes.append)
        batcher.start()
        try:
            await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["c"]))
        finally:
            await batcher.stop()

    run(main)
    assert sum(sizes) == 3 and sizes


def test_a_cancelled_request_is_dropped_before_the_call() -> None:
    model = Recorder()

    async def main() -> list[str]:
        batcher = MicroBatcher(model, max_size=64, max_wait_s=0.1)
        batcher.start()
        try:
            gone = asyncio.create_task(batcher.submit(["gone"]))
            kept = asyncio.create_task(batcher.submit(["kept"]))
            await asyncio.sleep(0.01)
            gone.cancel()
            return await kept
        finally:
            await batcher.stop()

    assert run(main) == ["KEPT"]
    assert model.calls == [["kept"]]


def test_submit_before_start_and_after_stop_raises_stopped() -> None:
    async def main() -> None:
        batcher = MicroBatcher(Recorder(), max_size=4, max_wait_s=0.0)
        with pytest.raises(BatcherStopped):
            await batcher.submit(["early"])
        batcher.start()
        assert await batcher.submit(["x"]) == ["X"]
        await batcher.stop()
        with pytest.raises(BatcherStopped):
            await batcher.submit(["late"])

    run(main)


def test_stop_fails_the_requests_still_waiting() -> None:
    async def main() -> BaseException | list[str]:
        batcher = MicroBatcher(Recorder(), max_size=64, max_wait_s=30.0)
        batcher.start()
        waiting = asyncio.create_task(batcher.submit(["waiting"]))
        await asyncio.sleep(0.01)
        await batcher.stop()
        result = await asyncio.gather(waiting, return_exceptions=True)
        return result[0]

    assert isinstance(run(main), BatcherStopped)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="max_size"):
        MicroBatcher(Recorder(), max_size=0, max_wait_s=0.0)
