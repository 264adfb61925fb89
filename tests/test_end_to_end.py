"""The whole study as a user runs it: the bundled demo and banking77 (slow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover
from crossover.cli import app
from tests.conftest import FAST_MODEL, make_tickets, shared_data


def test_cli_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"crossover {crossover.__version__}"


def test_compare_no_cache_leaves_the_cache_empty(tmp_path: Path) -> None:
    cache = Path(os.environ["CROSSOVER_CACHE_DIR"]) / "embeddings"
    before = sorted(cache.glob("*")) if cache.exists() else []
    data = make_tickets(8)
    data["text"] = data["text"] + " (no-cache run)"
    data.to_csv(tmp_path / "t.csv", index=False)
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(tmp_path / "t.csv"),
            "--model",
            FAST_MODEL,
            "--no-cache",
            "--strategies",
            "text.embedding-head",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    after = sorted(cache.glob("*")) if cache.exists() else []
    assert after == before
    study = json.loads((tmp_path / "out" / "study.json").read_text())
    assert study["settings"]["use_cache"] is False


def test_compare_uses_label_descriptions(tmp_path: Path) -> None:
    descriptions = {
        "refund_request": "the customer wants their money back",
        "login_access": "the customer cannot sign in to their account",
        "delivery_status": "the customer asks where their parcel is",
    }
    study = crossover.compare(
        make_tickets(8),
        strategies="text.zero-shot-embeddings",
        model=FAST_MODEL,
        label_descriptions=descriptions,
        budgets="full",
        progress=False,
        measure_speed=False,
    )
    assert study.spec["label_descriptions"] == descriptions
    assert study.results[0].n_train == 0


@pytest.mark.slow
def test_demo_writes_study_and_leaderboard(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "demo" / "leaderboard.csv")
    assert set(board.kind) == {"pretrained", "custom", "hybrid"}
    assert (board.score > 0.5).all()
    assert "text.embedding-head" in result.output
    decision = json.loads((tmp_path / "demo" / "decision.json").read_text())
    choice = decision["recommendation"]["choice"]
    assert choice in set(board.strategy)
    assert f"Recommended: {choice}" in result.output
    assert (tmp_path / "demo" / "costs.csv").exists()
    html = (tmp_path / "demo" / "report.html").read_text()
    assert f"Recommended: {choice}" in html
    assert (tmp_path / "demo" / "summary.md").read_text().count(choice) >= 2


@pytest.mark.slow
def test_banking77_accuracy_floors(tmp_path: Path) -> None:
    folder = shared_data("banking77")
    study = crossover.compare(
        folder / "train.csv",
        test=folder / "test.csv",
        text="text",
        label="category",
        budgets="full",
        progress=False,
    )
    scores = dict(zip(study.leaderboard.strategy, study.leaderboard.score, strict=True))
    assert scores["text.tfidf-linear"] >= 0.88
    assert scores["text.embedding-head"] >= 0.90
    # Issue 3's full-data target (BERT fine-tuned, published: 93.66); measured 0.944.
    assert scores["text.ensemble"] >= 0.937
    assert scores["text.zero-shot-embeddings"] >= 0.55
    assert study.split["test_rows"] == 3080
    # The hybrid beats the pretrained baseline beyond test-set noise.
    assert study.statistics["text.zero-shot-embeddings"]["accuracy"]["significant"] is True
    assert any("leakage" in w for w in study.dataset["warnings"])
