"""The versions a model folder records, and what loading it does when the running ones differ."""

from __future__ import annotations

import json
import logging
import platform
import shutil
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest

from crossover.artifacts import export_strategy, load_model
from crossover.errors import ModelError
from crossover.strategies import registry
from crossover.versions import PYTHON, STATE_PACKAGES, check_versions, installed_versions
from tests.conftest import FAST_MODEL, make_tickets
from tests.manifests import reseal


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return make_tickets(8)


@pytest.fixture(scope="module")
def tfidf_dir(tickets: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fitted = registry.get("text.tfidf-linear")().fit(tickets.text.tolist(), tickets.label.tolist())
    return export_strategy(fitted, tmp_path_factory.mktemp("versions") / "tfidf")


def _with_versions(folder: Path, tmp_path: Path, **changes: str | None) -> Path:
    """A copy of ``folder`` whose manifest records other versions (None: drop the entry)."""
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            manifest["versions"].pop(name, None)
        else:
            manifest["versions"][name] = value
    reseal(copy, manifest)
    return copy


def _other_minor(text: str) -> str:
    major, minor = text.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


def _other_major(text: str) -> str:
    return f"{int(text.split('.')[0]) + 1}.0.0"


# ----- what a manifest records ---------------------------------------------------------------


def test_manifest_records_the_packages_the_strategy_loads_with(tfidf_dir: Path) -> None:
    recorded = json.loads((tfidf_dir / "manifest.json").read_text())["versions"]
    for name in ("crossover", "numpy", "scikit-learn", "skops", "scipy"):
        assert recorded[name] == version(name)
    assert recorded[PYTHON] == platform.python_version()
    # A TF-IDF model runs without an encoder: torch is not one of its requirements.
    assert "torch" not in recorded and "sentence-transformers" not in recorded


def test_an_encoder_strategy_records_what_runs_its_encoder(
    tickets: pd.DataFrame, tmp_path: Path
) -> None:
    fitted = registry.get("text.embedding-head")(model=FAST_MODEL)
    fitted.fit(tickets.text.tolist(), tickets.label.tolist())
    requirements = fitted.requirements()
    assert {"scikit-learn", "skops", "sentence-transformers", "torch", "transformers"} <= set(
        requirements
    )
    assert "model2vec" in requirements  # the fast test model is a model2vec static model
    folder = export_strategy(fitted, tmp_path / "m")
    recorded = json.loads((folder / "manifest.json").read_text())["versions"]
    assert recorded["torch"] == version("torch")
    assert recorded["sentence-transformers"] == version("sentence-transformers")


def test_every_strategy_names_only_installed_distributions() -> None:
    # A typo in a strategy's ``packages`` would make every export of it unloadable.
    names = set()
    for key in registry.keys(None):
        cls = registry.get(key)
        for klass in cls.__mro__:
            names.update(vars(klass).get("packages", ()))
    optional = {"tabpfn"}  # listed as unavailable, with the reason, when it is not installed
    missing = sorted(n for n in names - optional if n not in installed_versions(names))
    assert missing == []


def test_a_gbm_table_model_records_lightgbm() -> None:
    assert "lightgbm" in registry.get("tabular.gbm")().requirements()
    assert "implicit" in registry.get("recsys.als")().requirements()


# ----- the comparison ---------------------------------------------------------------------------


def test_same_versions_and_patch_releases_are_silent() -> None:
    found = check_versions(
        {"scikit-learn": "1.9.1", "torch": "2.13.0+cpu", PYTHON: "3.11.7"},
        {"scikit-learn": "1.9.4", "torch": "2.13.1", PYTHON: "3.11.9"},
    )
    assert found.refusals == [] and found.warnings == []


def test_a_minor_difference_warns_with_both_versions() -> None:
    found = check_versions(
        {"scikit-learn": "1.8.0", "torch": "2.12.1", PYTHON: "3.12.1"},
        {"scikit-learn": "1.9.1", "torch": "2.13.0+cpu", PYTHON: "3.11.7"},
        where="model/",
    )
    assert found.refusals == []
    assert len(found.warnings) == 3
    text = "\n".join(found.warnings)
    assert "scikit-learn 1.8.0; 1.9.1 runs here" in text
    assert "torch 2.12.1; 2.13.0+cpu runs here" in text
    assert "Python 3.12.1; 3.11.7 runs here" in text
    assert all(w.startswith("model/ was exported with") for w in found.warnings)


def test_a_major_difference_of_a_package_outside_the_state_formats_warns() -> None:
    assert "torch" not in STATE_PACKAGES
    found = check_versions({"torch": "2.13.0"}, {"torch": "3.0.0"})
    assert found.refusals == [] and "torch 2.13.0; 3.0.0 runs here" in found.warnings[0]


@pytest.mark.parametrize(
    ("name", "then", "now"),
    [
        ("scikit-learn", "1.9.1", "2.0.0"),
        ("lightgbm", "4.7.0", "5.0.0"),
        ("lightgbm", "5.0.0", "4.7.0"),
        ("implicit", "0.7.3", "0.8.0"),  # below 1.0 the minor is the release line
    ],
)
def test_a_state_package_from_another_release_line_is_refused(
    name: str, then: str, now: str
) -> None:
    found = check_versions({name: then}, {name: now}, where="model/")
    assert found.warnings == []
    assert found.refusals == [
        f"model/ was exported with {name} {then} and {now} is installed: its saved {name} "
        f"objects may load wrong across that release line; install {name}=={then} or export "
        "the model again here"
    ]


def test_a_missing_package_is_refused_with_the_install_line() -> None:
    found = check_versions({"lightgbm": "4.7.0"}, {"lightgbm": None}, where="model/")
    assert found.refusals == [
        "model/ needs lightgbm (exported with 4.7.0), which is not installed here; install it "
        "(pip install 'lightgbm==4.7.0') and start again"
    ]


def test_unreadable_recorded_versions_are_ignored() -> None:
    found = check_versions({"numpy": "not a version", "scipy": 3}, {"numpy": "2.4.6"})
    assert found.refusals == [] and found.warnings == []


# ----- loading a folder -------------------------------------------------------------------------


def test_load_model_warns_and_loads_on_a_minor_difference(
    tfidf_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    then = _other_minor(version("scikit-learn"))
    copy = _with_versions(tfidf_dir, tmp_path, scikit_learn=then)
    with caplog.at_level(logging.WARNING, logger="crossover"):
        model = load_model(copy)
    expected = f"scikit-learn {then}; {version('scikit-learn')} runs here"
    assert len(model.version_warnings) == 1 and expected in model.version_warnings[0]
    assert any(expected in r.getMessage() for r in caplog.records)
    assert model.predict(["my parcel is late"])  # it still answers


def test_load_model_refuses_a_state_package_a_major_version_apart(
    tfidf_dir: Path, tmp_path: Path
) -> None:
    copy = _with_versions(tfidf_dir, tmp_path, scikit_learn=_other_major(version("scikit-learn")))
    with pytest.raises(ModelError, match="may load wrong across that release line"):
        load_model(copy)


def test_load_model_refuses_a_model_needing_a_package_not_installed(
    tfidf_dir: Path, tmp_path: Path
) -> None:
    copy = _with_versions(tfidf_dir, tmp_path, crossover_test_absent_package="1.0.0")
    with pytest.raises(ModelError, match=r"needs crossover-test-absent-package .*not installed"):
        load_model(copy)


def test_a_folder_without_recorded_versions_loads_silently(tfidf_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tfidf_dir, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["versions"]
    reseal(copy, manifest)
    assert load_model(copy).version_warnings == []
