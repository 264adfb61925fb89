"""Exporting a recommendation study: every interaction, a hashed pickle-free folder that loads
and recommends as the same strategy fitted directly; moved or changed files named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover
from crossover.artifacts import UNSAFE_SUFFIXES, export_model, load_model
from crossover.cli import app
from crossover.errors import ConfigError, DataError
from crossover.strategies import registry
from crossover.strategies.recsys._base import RecsysStrategy
from crossover.tasks.recommendation.compare import read_frame
from crossover.tasks.recommendation.task import prepare
from tests.conftest import FAST_MODEL
from tests.strategies.recsys.test_recommenders import make_shop


def make_recsys_study(root: Path) -> Path:
    """A recommendation study of the synthetic shop: ``root/out/study.json``; the data files
    are ``root/interactions.csv`` and ``root/items.csv``."""
    interactions, items = make_shop()
    interactions.to_csv(root / "interactions.csv", index=False)
    items.to_csv(root / "items.csv", index=False)
    study = crossover.compare(
        root / "interactions.csv",
        task="recommendation",
        items=root / "items.csv",
        user="user",
        item="item",
        time="t",
        model=FAST_MODEL,
        budgets="full",
        seeds=1,
        jobs=1,
        progress=False,
        measure_speed=False,
        n_resamples=1000,
        holdout=2,
    )
    (root / "out").mkdir()
    study.to_json(root / "out" / "study.json")
    return root / "out"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recsys_study(tmp_path_factory.mktemp("recsys-study"))


@pytest.fixture(scope="module")
def hybrid_dir(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_model(
        study_dir, tmp_path_factory.mktemp("recsys-model") / "m", strategy="recsys.hybrid"
    )


def _fit_directly(study_dir: Path, key: str) -> RecsysStrategy:
    """``key`` fitted as export does, by hand: the study's parameters, every interaction."""
    study = crossover.load_study(study_dir / "study.json")
    root = study_dir.parent
    options = {k: v for k, v in study.settings["load"].items() if k != "task"}
    prepared = prepare(
        read_frame(root / "interactions.csv", "interactions", []),
        items=read_frame(root / "items.csv", "items", []),
        **options,
    )
    params = next(r.trial.params for r in study.leaderboard_results if r.trial.strategy == key)
    strategy = registry.get(key)(**{k: v for k, v in params.items() if k != "cache_dir"})
    assert isinstance(strategy, RecsysStrategy)
    everything = pd.concat([prepared.train, prepared.test], ignore_index=True)
    return strategy.fit(everything, items=prepared.items)


def test_exported_hybrid_recommends_as_the_strategy_fitted_directly(
    study_dir: Path, hybrid_dir: Path
) -> None:
    model = load_model(hybrid_dir)
    direct = _fit_directly(study_dir, "recsys.hybrid")
    users = ["space-user-0", "kitchen-user-3", "space-user-17"]
    assert model.recommends and model.labels == []
    for user in users:
        assert model.knows_user(user)
        assert model.recommend(user, k=10) == direct.recommend([user], k=10)[user]
    session = ["kitchen-1", "kitchen-4"]
    assert model.recommend_items(session, k=5) == direct.recommend_items(session, k=5)
    assert sorted(model.catalogue) == sorted(direct.catalogue)


def test_manifest_describes_the_recommender_and_lists_every_file(
    study_dir: Path, hybrid_dir: Path
) -> None:
    manifest = json.loads((hybrid_dir / "manifest.json").read_text())
    study = crossover.load_study(study_dir / "study.json")
    files = {
        p.relative_to(hybrid_dir).as_posix()
        for p in hybrid_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert set(manifest["files"]) == files and all(len(h) == 64 for h in manifest["files"].values())
    assert not [p for p in hybrid_dir.rglob("*") if p.suffix in UNSAFE_SUFFIXES]
    assert not (hybrid_dir / "encoder").exists() and manifest["embedding_model"] is None
    assert manifest["task"] == "recommendation" and manifest["labels"] == []
    schema = manifest["input_schema"]
    assert set(schema["properties"]) == {"user", "items", "k", "exclude"}
    assert schema["properties"]["k"]["default"] == study.spec["k"]
    trained = manifest["trained_on"]
    n_rows = study.split["train_rows"] + study.split["test_rows"]
    assert trained["interactions"] == n_rows == study.dataset["interactions"]
    assert trained["users"] == study.dataset["users"]
    assert trained["data_fingerprint"] == study.dataset["fingerprint"]
    assert manifest["metrics"]["ndcg_at_10"]["score"] == pytest.approx(
        study.statistics["recsys.hybrid"]["ndcg_at_10"]["score"]
    )
    assert manifest["metrics"]["measured_on"] == (
        f"{study.split['test_rows']} held-out interactions of {study.split['test_users']} "
        "test users"
    )


def test_known_user_lists_leave_out_their_history_and_exclude(hybrid_dir: Path) -> None:
    model = load_model(hybrid_dir)
    interactions, _ = make_shop()
    history = set(interactions.loc[interactions["user"] == "space-user-0", "item"])
    top = model.recommend("space-user-0", k=10)
    assert len(top) == 10 and not history & set(top)
    without = model.recommend("space-user-0", k=10, exclude=top[:3])
    assert without[:7] == top[3:] and not set(top[:3]) & set(without)
    with pytest.raises(DataError, match="no history"):
        model.recommend("nobody", k=5)
    with pytest.raises(DataError, match="nope-1"):
        model.recommend_items(["space-1", "nope-1"], k=5)


def test_changed_or_moved_files_are_named(study_dir: Path, tmp_path: Path) -> None:
    interactions, items = make_shop()
    interactions.iloc[:-1].to_csv(tmp_path / "fewer.csv", index=False)
    with pytest.raises(DataError, match="differ from those the study measured"):
        export_model(study_dir, tmp_path / "a", strategy="recsys.als", data=tmp_path / "fewer.csv")
    items.assign(title=items["title"] + " new").to_csv(tmp_path / "items2.csv", index=False)
    with pytest.raises(DataError, match="fingerprint"):
        export_model(
            study_dir, tmp_path / "b", strategy="recsys.als", items=tmp_path / "items2.csv"
        )
    with pytest.raises(ConfigError, match="--data FILE"):
        export_model(study_dir, tmp_path / "c", strategy="recsys.als", data=tmp_path / "gone.csv")
    # The study's own files moved: named, with the option that points to their new place.
    moved = tmp_path / "moved"
    shutil.copytree(study_dir.parent, moved)
    (moved / "items.csv").unlink()
    with pytest.raises(ConfigError, match=r"items file.*--items FILE"):
        export_model(
            moved / "out",
            tmp_path / "d",
            strategy="recsys.als",
            data=moved / "interactions.csv",
            items=moved / "nowhere.csv",
        )
    with pytest.raises(ConfigError, match="--test is for classification"):
        export_model(study_dir, tmp_path / "e", strategy="recsys.als", test=tmp_path / "t.csv")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_cli_export_of_a_recommendation_study(study_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["export", str(study_dir), "--strategy", "recsys.als", "--out", str(tmp_path / "m")],
    )
    assert res.exit_code == 0, res.output
    study = crossover.load_study(study_dir / "study.json")
    n_rows = study.split["train_rows"] + study.split["test_rows"]
    assert f"trained on {n_rows} interactions of {study.dataset['users']} users" in res.stdout
    assert f"recommends from {study.dataset['items']} items" in res.stdout
    model = crossover.load_model(tmp_path / "m")
    assert model.manifest["strategy"] == "recsys.als"
    assert len(model.recommend("kitchen-user-0", k=4)) == 4
    missing = CliRunner().invoke(
        app,
        [
            "export",
            str(study_dir),
            "--strategy",
            "recsys.als",
            "--data",
            str(tmp_path / "gone.csv"),
            "--out",
            str(tmp_path / "m2"),
        ],
    )
    assert missing.exit_code == 2 and "--data" in missing.stderr and "gone.csv" in missing.stderr
