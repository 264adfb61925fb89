"""Model directories: export -> load -> identical predictions for every strategy; tampered,
truncated, unknown or unsafe folders refused; export from a study through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover
from crossover.artifacts import (
    FORMAT_VERSION,
    UNSAFE_SUFFIXES,
    export_strategy,
    input_kind,
    load_model,
)
from crossover.cli import app
from crossover.errors import ConfigError, DataError, ModelError
from crossover.strategies import Strategy, registry
from tests.conftest import FAST_MODEL, make_tickets
from tests.manifests import reseal


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return make_tickets(10).sample(frac=1.0, random_state=3).reset_index(drop=True)


def _fit(key: str, data: pd.DataFrame) -> Strategy:
    cls = registry.get(key)
    kwargs = {"model": FAST_MODEL} if "model" in cls._param_names() else {}
    if key == "text.setfit":
        kwargs.update(max_pairs=64, num_iterations=1)
    return cls(**kwargs).fit(data["text"].tolist(), data["label"].tolist())


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.slow) if k == "text.setfit" else k
        for k in registry.keys("text-classification")
        # Models behind an API answer through a provider: their tests are in tests/llm.
        if not registry.get(k).is_api
    ],
)
def test_export_then_load_gives_identical_predictions(
    key: str, tickets: pd.DataFrame, tmp_path: Path
) -> None:
    fitted = _fit(key, tickets)
    folder = export_strategy(fitted, tmp_path / "model", metrics={"accuracy": {"score": 0.9}})
    assert not [p for p in folder.rglob("*") if p.suffix in UNSAFE_SUFFIXES]
    model = load_model(folder)
    texts = tickets["text"].tolist()
    assert model.predict(texts) == [str(v) for v in fitted.predict(texts)]
    assert model.labels == [str(c) for c in fitted.classes_]
    if fitted.has_proba:
        np.testing.assert_allclose(model.predict_proba(texts), fitted.predict_proba(texts))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["strategy"] == key and manifest["format_version"] == FORMAT_VERSION == 2
    assert manifest["metrics"] == {"accuracy": {"score": 0.9}}
    assert set(manifest["files"]) == {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert manifest["versions"]["crossover"]
    if fitted.embedding_model():
        assert manifest["embedding_model"]["id"] == FAST_MODEL
        assert list((folder / "encoder").rglob("*.safetensors"))
        vectors = model.embed(["hello", "where is my parcel"])
        assert vectors.shape[0] == 2 and vectors.dtype == np.float32


@pytest.fixture(scope="module")
def exported(tickets: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_strategy(_fit("text.embedding-head", tickets), tmp_path_factory.mktemp("m") / "m")


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / "copy"))


def test_a_changed_byte_is_refused(exported: Path, tmp_path: Path) -> None:
    folder = _copy(exported, tmp_path)
    weights = next((folder / "encoder").rglob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its SHA-256"):
        load_model(folder)


def test_a_truncated_file_is_refused(exported: Path, tmp_path: Path) -> None:
    folder = _copy(exported, tmp_path)
    head = folder / "strategy" / "head.skops"
    head.write_bytes(head.read_bytes()[:100])
    with pytest.raises(ModelError, match=r"head\.skops does not match"):
        load_model(folder)


def test_a_missing_or_extra_file_is_refused(exported: Path, tmp_path: Path) -> None:
    folder = _copy(exported, tmp_path)
    (folder / "strategy" / "evil.pkl").write_bytes(b"cos\nsystem\n")
    with pytest.raises(ModelError, match=r"evil\.pkl is not in the manifest"):
        load_model(folder)
    (folder / "strategy" / "evil.pkl").unlink()
    (folder / "strategy" / "head.skops").unlink()
    with pytest.raises(ModelError, match=r"head\.skops is missing"):
        load_model(folder)


def test_a_pickle_listed_in_the_manifest_is_refused(exported: Path, tmp_path: Path) -> None:
    import hashlib

    folder = _copy(exported, tmp_path)
    payload = b"not really a pickle"
    (folder / "strategy" / "head.pkl").write_bytes(payload)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["strategy/head.pkl"] = hashlib.sha256(payload).hexdigest()
    reseal(folder, manifest)
    with pytest.raises(ModelError, match="pickle-based format"):
        load_model(folder)


def test_unknown_or_missing_manifest_is_refused(exported: Path, tmp_path: Path) -> None:
    folder = _copy(exported, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="format version 99 is unknown"):
        load_model(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelError, match=r"no manifest\.json"):
        load_model(folder)
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "nowhere")


def test_export_refuses_a_non_empty_folder(tickets: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        export_strategy(_fit("text.tfidf-linear", tickets), tmp_path / "busy")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    make_tickets(10).to_csv(root / "tickets.csv", index=False)
    res = CliRunner().invoke(
        app,
        [
            "compare",
            str(root / "tickets.csv"),
            "--model",
            FAST_MODEL,
            "--budgets",
            "full",
            "--out",
            str(root / "out"),
            "--jobs",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    return root


def test_export_from_a_study_trains_on_every_labelled_row(study_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "export",
            str(study_dir / "out"),
            "--strategy",
            "text.tfidf-linear",
            "--out",
            str(tmp_path / "model"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "exported text.tfidf-linear" in res.stdout
    model = crossover.load_model(tmp_path / "model")
    study = crossover.load_study(study_dir / "out" / "study.json")
    rows = study.split["train_rows"] + study.split["test_rows"]
    assert model.manifest["trained_on"]["rows"] == rows == len(make_tickets(10))
    assert model.manifest["metrics"]["accuracy"]["score"] == pytest.approx(
        study.statistics["text.tfidf-linear"]["accuracy"]["score"]
    )
    assert sorted(model.labels) == sorted(set(study.y_true))


def test_export_recommended_uses_the_recommendation(study_dir: Path, tmp_path: Path) -> None:
    study = crossover.load_study(study_dir / "out" / "study.json")
    _, recommendation = crossover.decide(study)
    path = crossover.export_model(study_dir / "out", tmp_path / "m", recommended=True)
    assert crossover.load_model(path).manifest["strategy"] == recommendation.choice


def test_export_errors_name_what_to_do(study_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--strategy KEY or --recommended"):
        crossover.export_model(study_dir / "out", tmp_path / "a")
    with pytest.raises(ConfigError, match=r"'text\.nope' is not in this study"):
        crossover.export_model(study_dir / "out", tmp_path / "a", strategy="text.nope")
    changed = make_tickets(11)
    changed.to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="differ from those the study measured"):
        crossover.export_model(
            study_dir / "out",
            tmp_path / "b",
            strategy="text.tfidf-linear",
            data=tmp_path / "other.csv",
        )
    res = CliRunner().invoke(
        app,
        [
            "export",
            str(study_dir / "out"),
            "--strategy",
            "text.tfidf-linear",
            "--data",
            str(tmp_path / "gone.csv"),
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert res.exit_code == 2 and "gone.csv" in res.stderr


def _with_loader(folder: Path, tmp_path: Path, loader: str | None) -> Path:
    copy = _copy(folder, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    if loader is None:
        del manifest["loader"]
    else:
        manifest["loader"] = loader
    reseal(copy, manifest)
    return copy


def test_the_manifest_names_the_loader_of_its_strategy(exported: Path) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["loader"] == "crossover.strategies.text.embedding_head:EmbeddingHead"


def test_a_folder_without_a_loader_loads_through_the_registry(
    exported: Path, tmp_path: Path, tickets: pd.DataFrame
) -> None:
    copy = _with_loader(exported, tmp_path, None)  # as exported before manifests named it
    texts = tickets["text"].tolist()
    assert load_model(copy).predict(texts) == load_model(exported).predict(texts)


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        ("crossover.strategies.text.tfidf_linear:TfidfLinear", "reads text.tfidf-linear"),
        ("crossover.strategies.text.nowhere:Nothing", "cannot be imported"),
        ("crossover.strategies.registry:Registry", "is not a strategy"),
    ],
)
def test_a_loader_that_does_not_read_the_folder_is_refused(
    exported: Path, tmp_path: Path, loader: str, message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        load_model(_with_loader(exported, tmp_path, loader))


def test_a_loader_outside_crossovers_strategies_is_never_imported(
    exported: Path, tmp_path: Path
) -> None:
    # The registry decides instead: a manifest cannot make serving import a module of its
    # choosing.
    copy = _with_loader(exported, tmp_path, "antigravity:fly")
    import sys

    assert load_model(copy).labels
    assert "antigravity" not in sys.modules


def test_the_manifest_records_what_the_model_takes(exported: Path, tmp_path: Path) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["input_kind"] == "text" == input_kind(manifest)
    assert load_model(exported).input_kind == "text"


@pytest.mark.parametrize(
    "loader", ["crossover.strategies.tabular.linear:TabularLinear", None, "antigravity:fly"]
)
def test_a_manifest_without_input_kind_takes_what_its_strategy_takes(
    tmp_path: Path, loader: str | None
) -> None:
    # As exported before manifests recorded it: the class its loader names says, or the
    # registry's class of its key for a folder that names no loader or one outside crossover.
    from tests.serve.test_tabular_serve import make_table

    frame, labels = make_table(60)
    fitted = registry.get("tabular.linear")().fit(frame, labels)
    copy = _with_loader(export_strategy(fitted, tmp_path / "model"), tmp_path, loader)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["input_kind"]
    reseal(copy, manifest)
    assert input_kind(manifest) == "table"
    assert load_model(copy).input_kind == "table"
    assert input_kind({}) == "text"  # a manifest that names no strategy
