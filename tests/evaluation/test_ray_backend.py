"""--backend ray: learning-curve trials as Ray tasks give what the local backend gives.

A Ray head is started on loopback for this module (``ray start --head --num-cpus 2``) and
stopped after it; one test starts a local Ray of its own through the CLI.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover
from crossover import tasks
from crossover.cli import app
from crossover.errors import ConfigError
from crossover.evaluation.backends import InProcessBackend, TrialWork
from crossover.evaluation.budgets import FULL
from crossover.evaluation.runner import TrialData, is_timed, plan
from crossover.evaluation.trials import Trial
from crossover.models.embeddings import _SEEDED, EmbeddingCache, seed_cache
from crossover.tasks import Split
from tests.conftest import FAST_MODEL, make_tickets
from tests.services import QUIET_ENV, ray_head

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

TASK = tasks.get("text-classification")
STRATEGIES = ["text.tfidf-linear", "text.embedding-head"]


@pytest.fixture(scope="module", autouse=True)
def _quiet_ray() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    for name, value in QUIET_ENV.items():
        mp.setenv(name, value)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def ray_address(_quiet_ray: None) -> Iterator[str]:
    with ray_head(num_cpus=2) as address:
        yield address


@pytest.fixture(autouse=True)
def _disconnect() -> Iterator[None]:
    """Each test connects (or starts a Ray) itself, as a study does."""
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _study(tmp_path: Path, name: str, **backend: object) -> crossover.Study:
    frame = make_tickets(16)
    return crossover.compare(
        frame,
        text="text",
        label="label",
        strategies=STRATEGIES,
        model=FAST_MODEL,
        budgets=[2, 4, "full"],
        seeds=2,
        n_resamples=1000,
        progress=False,
        measure_speed=False,
        trials_dir=tmp_path / name,
        **backend,  # type: ignore[arg-type]
    )


def test_a_study_on_a_ray_cluster_equals_the_local_study(tmp_path: Path, ray_address: str) -> None:
    local = _study(tmp_path, "local", backend="local", jobs=2)
    on_ray = _study(tmp_path, "ray", backend="ray", ray_address=ray_address)

    columns = ["strategy", "score", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(on_ray.leaderboard[columns], local.leaderboard[columns])
    scores = ["strategy", "budget_per_class", "n_labels", "score_mean", "score_ci_low"]
    pd.testing.assert_frame_equal(on_ray.learning_curve[scores], local.learning_curve[scores])
    here = {r.trial.hash: r for r in local.results}
    assert sorted(here) == sorted(r.trial.hash for r in on_ray.results)
    for result in on_ray.results:
        assert result.metrics == here[result.trial.hash].metrics
        assert result.predictions == here[result.trial.hash].predictions
    curve_results = [r for r in on_ray.results if not is_timed(r.trial)]
    assert curve_results and all(r.execution["backend"] == "ray" for r in curve_results)
    # The embedding head's trials read the features the study put in the object store:
    # no worker loaded the encoder.
    assert all(r.execution["models_loaded"] == 0 for r in curve_results)
    assert on_ray.settings["backend"] == "ray"


def test_a_worker_killed_mid_study_loses_nothing(ray_address: str) -> None:
    import psutil

    from crossover.evaluation.ray_backend import TASK_NAME, RayBackend

    frame = make_tickets(40)
    split = Split(frame.iloc[::2], frame.iloc[1::2], "halves", "halves")
    trials, _ = plan(
        ["text.tfidf-linear"], {}, split, seed=0, label="label", budgets=[2, 4, 8, 16], seeds=6
    )
    curve = [t for t in trials if not is_timed(t)]
    work = TrialWork({"halves": TrialData.from_split(split, "text", "label", None)}, TASK, {})
    here = {r.trial.hash: r for r in InProcessBackend().map(curve, work)}

    killed: list[int] = []

    def kill_one_running_trial() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for proc in psutil.process_iter(["pid", "cmdline"]):
                title = " ".join(proc.info["cmdline"] or [])
                if f"ray::{TASK_NAME}" in title:
                    os.kill(proc.info["pid"], signal.SIGKILL)
                    killed.append(proc.info["pid"])
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_running_trial)
    killer.start()
    results = list(RayBackend(ray_address).map(curve, work))
    killer.join()

    assert killed, "no trial was seen running on a Ray worker"
    assert sorted(r.trial.hash for r in results) == sorted(here)
    assert killed[0] not in {r.execution["pid"] for r in results}
    for result in results:
        assert result.metrics == here[result.trial.hash].metrics
        assert result.predictions == here[result.trial.hash].predictions


def test_the_cli_starts_a_local_ray_and_resumes_from_the_trial_store(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    make_tickets(12).to_csv(data, index=False)
    out = tmp_path / "out"
    args = [
        "compare", str(data), "--text", "text", "--label", "label", "--model", FAST_MODEL,
        "--strategies", "text.tfidf-linear", "--budgets", "2,4,full", "--seeds", "2",
        "--out", str(out), "--backend", "ray", "--jobs", "2",
    ]  # fmt: skip
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "learning-curve trials (a local Ray)" in first.output
    study = json.loads((out / "study.json").read_text())
    assert study["settings"]["backend"] == "ray"
    assert {r["execution"].get("backend") for r in study["results"] if r["trial"]["budget"] != FULL}

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "resumed 5 finished trial(s)" in again.output


def test_a_ray_address_without_the_ray_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--ray-address 127\.0\.0\.1:1: .* add --backend ray"):
        _study(tmp_path, "x", ray_address="127.0.0.1:1")


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    from crossover.evaluation.ray_backend import RayError

    with pytest.raises(RayError, match=r"could not connect to the Ray cluster at 127\.0\.0\.1:1"):
        _study(tmp_path, "x", backend="ray", ray_address="127.0.0.1:1")


def test_seeded_vectors_are_served_before_the_cache_file(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "elsewhere" / "embeddings" / "m.sqlite")
    keys = [b"a" * 20, b"b" * 20]
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    try:
        # Seeded under another machine's cache folder: the folder and file name are what count.
        seed_cache("/other/cache/embeddings/m.sqlite", keys, vectors)
        found = cache.get_many([*keys, b"c" * 20])
        assert set(found) == set(keys)
        np.testing.assert_array_equal(found[keys[1]], vectors[1])
    finally:
        _SEEDED.clear()
        cache.close()
    assert EmbeddingCache(tmp_path / "elsewhere" / "embeddings" / "m.sqlite").get_many(keys) == {}


def test_trials_ask_ray_for_what_their_strategy_declares() -> None:
    from crossover.evaluation.ray_backend import _task_options

    setfit = Trial("text.setfit", {}, 4, 0, "s")
    assert _task_options(setfit, has_gpu=False) == {"num_cpus": 2}
    tfidf = Trial("text.tfidf-linear", {}, 4, 0, "s")
    assert _task_options(tfidf, has_gpu=True) == {"num_cpus": 1}


class _Stages:
    """A reporter that keeps each stage's description and its last progress."""

    def __init__(self) -> None:
        self.stages: dict[str, tuple[int, int | None]] = {}

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Any]:
        self.stages[description] = (0, total)

        def advance(completed: int, new_total: int | None = None) -> None:
            self.stages[description] = (completed, new_total or total)

        yield advance

    def message(self, text: str) -> None:
        pass


def test_a_cluster_encodes_the_texts_with_ray_data(tmp_path: Path, ray_address: str) -> None:
    from crossover.evaluation.ray_backend import RayBackend
    from crossover.models.embeddings import get_embedder

    frame = make_tickets(40)
    split = Split(frame.iloc[::2], frame.iloc[1::2], "halves", "halves")
    cache_dir = str(tmp_path / "cache")
    trials, _ = plan(
        ["text.embedding-head"],
        {"text.embedding-head": {"model": FAST_MODEL, "cache_dir": cache_dir}},
        split,
        seed=0,
        label="label",
        budgets=[2, 4],
        seeds=1,
    )
    texts = [*split.train["text"], *split.test["text"]]
    expected = get_embedder(FAST_MODEL, use_cache=False).encode(texts)

    assert (
        RayBackend(ray_address, encode_on_cluster=False).prefetch_embeddings(
            trials, texts, _Stages()
        )
        == {}
    )
    reporter = _Stages()
    spent = RayBackend(ray_address).prefetch_embeddings(trials, texts, reporter)
    ((model, _),) = spent.items()
    assert model.startswith(FAST_MODEL)
    ((description, (done, total)),) = reporter.stages.items()
    assert description == f"embedding texts with {model} on Ray Data"
    assert done == total == len(set(texts))
    embedder = get_embedder(FAST_MODEL, cache_dir=Path(cache_dir))
    cached = embedder.cache.get_many(embedder.cache_keys(texts))
    assert len(cached) == len(set(texts))
    got = np.stack([cached[k] for k in embedder.cache_keys(texts)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # A second pass finds every vector cached: no job.
    again = _Stages()
    assert RayBackend(ray_address).prefetch_embeddings(trials, texts, again) == {}
    assert again.stages == {}
