"""Thread counts of the libraries strategies train with."""

from __future__ import annotations

import os

__all__ = ["lgbm_threads"]


def lgbm_threads(n_jobs: int | None, default: int | None = None) -> int:
    """LightGBM's thread count: ``n_jobs`` when given, else ``OMP_NUM_THREADS`` when set (a
    study's worker processes set it to 1), else ``default``, or every CPU when that is None.

    LightGBM's own ``num_threads`` overrides the OpenMP limit a worker sets, and two workers
    each running two LightGBM threads on two cores made fits 10-50x slower (OpenMP threads
    spin while they wait), so a worker's limit has to reach LightGBM explicitly.
    """
    if n_jobs is not None:
        return n_jobs
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if limit.isdigit() and int(limit) > 0:
        return int(limit)
    return default if default is not None else (os.cpu_count() or 1)
