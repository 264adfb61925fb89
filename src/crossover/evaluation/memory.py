"""Peak resident memory of this process during a block, sampled by a background thread."""

from __future__ import annotations

import threading
from types import TracebackType

__all__ = ["PeakMemory"]


class PeakMemory:
    """``with PeakMemory() as m: ...`` then ``m.peak_mb`` is the highest resident set size
    seen (sampled every ``interval_s``) minus the size at entry: the memory the block added.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.start_mb = 0.0
        self.max_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _rss_mb() -> float:
        import psutil

        return float(psutil.Process().memory_info().rss) / 1e6

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.max_mb = max(self.max_mb, self._rss_mb())

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.max_mb = self._rss_mb()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.max_mb = max(self.max_mb, self._rss_mb())

    @property
    def peak_mb(self) -> float:
        return round(self.max_mb - self.start_mb, 1)
