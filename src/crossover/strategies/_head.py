"""The linear head of the embedding-head strategies (texts, images): a multinomial logistic
regression on frozen features, its ``C`` chosen by stratified cross-validation on the training
rows (see ``crossover.strategies.text.embedding_head`` for why, and what it measured)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from crossover.strategies._threads import lgbm_threads

__all__ = ["C_GRID", "DEFAULT_C", "choose_C", "in_cv_threads", "new_head", "one_blas_thread"]

T = TypeVar("T")
R = TypeVar("R")

#: Candidate values of ``C``, ascending (of equal held-out accuracies the first wins).
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: Used when the rows are too few to cross-validate (some class has fewer than
#: ``_MIN_ROWS_PER_CLASS`` rows: a fold would train on one row of it, or none): the fixed value
#: this strategy used before the search, which suited banking77 (benchmarks/RESULTS.md).
DEFAULT_C = 20.0
#: Three rows of every class: each of three folds trains on two and holds one out.
_MIN_ROWS_PER_CLASS = 3


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread: a logistic regression on a few thousand
    rows gains nothing from more, and loses much when the cores are shared (fitting the image
    head on 1,000 rows: 0.24 s on one thread against 1.39 s on two while other work ran)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def new_head(C: float, max_iter: int, random_state: int) -> Any:
    """A logistic regression with the settings every embedding head uses."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)


def choose_C(
    vectors: np.ndarray, y: np.ndarray, *, cv_folds: int, max_iter: int, random_state: int
) -> tuple[float, dict[str, float]]:
    """The grid's ``C`` with the best held-out accuracy (the smallest of equals: the
    stronger regularisation), and every candidate's accuracy."""
    from sklearn.model_selection import StratifiedKFold

    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2 or int(counts.min()) < _MIN_ROWS_PER_CLASS:
        return DEFAULT_C, {}
    folds = min(cv_folds, int(counts.min()))
    correct = np.zeros(len(C_GRID))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    _search(vectors, y, splitter, correct, max_iter, random_state)
    accuracy = correct / len(y)
    best = int(np.argmax(accuracy))  # the first of equals: the smallest C
    scores = {f"{c:g}": round(float(a), 6) for c, a in zip(C_GRID, accuracy, strict=True)}
    return float(C_GRID[best]), scores


def _search(
    vectors: np.ndarray,
    y: np.ndarray,
    splitter: Any,
    correct: np.ndarray,
    max_iter: int,
    random_state: int,
) -> None:
    """Add each grid value's correct held-out predictions of every fold to ``correct``.

    The fits are independent: they run on ``cv_threads()`` threads (each with one BLAS
    thread; lbfgs spends its time in numpy, which releases the GIL): on banking77's 10,003
    rows, 10.8 s on one thread against 6.4 s on two, the same accuracies."""
    from sklearn.exceptions import ConvergenceWarning

    def held_out_correct(train: np.ndarray, held: np.ndarray, c: float) -> int:
        # Each fit starts cold. Warm-started from the previous C, lbfgs stops at once
        # at the larger ones (scikit-learn scales the loss by the row count, and the
        # penalty's change moves the gradient less than its tolerance), so C=30 and
        # C=100 scored exactly as C=10 (measured on banking77 and sms_spam).
        head = new_head(c, max_iter, random_state)
        with warnings.catch_warnings():
            # A fold's head only scores its held-out rows; an unconverged one at a
            # large C scores what it scores, and the final fit still warns.
            warnings.simplefilter("ignore", ConvergenceWarning)
            head.fit(vectors[train], y[train])
        return int(np.sum(head.predict(vectors[held]) == y[held]))

    jobs = [
        (train, held, i, c)
        for train, held in splitter.split(vectors, y)
        for i, c in enumerate(C_GRID)
    ]
    counts = in_cv_threads(lambda job: held_out_correct(job[0], job[1], job[3]), jobs)
    for (_, _, i, _), count in zip(jobs, counts, strict=True):
        correct[i] += count


def in_cv_threads(work: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
    """``work`` of each job, in order, on up to ``cv_threads()`` threads, BLAS on one thread
    in each (set here, around them all, so that no job's own setting undoes another's)."""
    threads = min(cv_threads(), len(jobs))
    with one_blas_thread():
        if threads <= 1:
            return [work(job) for job in jobs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(work, jobs))


def cv_threads() -> int:
    """Threads a head's cross-validation uses: ``OMP_NUM_THREADS`` when set (a study's worker
    processes set it to 1: they share the cores already), else every CPU, at most 4."""
    return max(1, min(4, lgbm_threads(None)))
