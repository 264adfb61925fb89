"""``crossover serve`` on a model exported with other package versions: a warning naming the
package and both versions, or a one-line refusal (exit 2) where loading would be wrong."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

import httpx
from typer.testing import CliRunner

from crossover.cli import app
from tests.serve.test_process import _free_port, served


def _recording(folder: Path, tmp_path: Path, name: str, value: str) -> Path:
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["versions"][name] = value
    from tests.manifests import reseal  # a manifest covers itself: seal the edit again

    reseal(copy, manifest)
    return copy


def test_serve_warns_naming_the_package_and_both_versions(tfidf_dir: Path, tmp_path: Path) -> None:
    running = version("scikit-learn")
    major, minor = running.split(".")[:2]
    then = f"{major}.{int(minor) + 1}.0"
    copy = _recording(tfidf_dir, tmp_path, "scikit-learn", then)
    with served(copy) as (base, process):
        answered = httpx.post(f"{base}/v1/predict", json={"inputs": "my parcel is late"})
    _, stderr = process.communicate()
    assert answered.status_code == 200  # a minor difference serves
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {copy} was exported with scikit-learn {then}; {running} runs here (its "
        "predictions may differ slightly; export the model again here to be sure)"
    ]


def test_serve_refuses_a_model_whose_saved_objects_may_load_wrong(
    tfidf_dir: Path, tmp_path: Path
) -> None:
    running = version("scikit-learn")
    then = f"{int(running.split('.')[0]) + 1}.0.0"
    copy = _recording(tfidf_dir, tmp_path, "scikit-learn", then)
    result = CliRunner().invoke(app, ["serve", str(copy), "--port", str(_free_port())])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {copy} was exported with scikit-learn {then} and {running} is installed: its "
        f"saved scikit-learn objects may load wrong across that release line; install "
        f"scikit-learn=={then} or export the model again here"
    ]


def test_serve_refuses_a_model_needing_a_package_that_is_not_installed(
    tfidf_dir: Path, tmp_path: Path
) -> None:
    copy = _recording(tfidf_dir, tmp_path, "crossover-test-absent-package", "1.2.0")
    result = CliRunner().invoke(app, ["serve", str(copy), "--port", str(_free_port())])
    assert result.exit_code == 2
    assert "needs crossover-test-absent-package (exported with 1.2.0)" in result.stderr
    assert "pip install 'crossover-test-absent-package==1.2.0'" in result.stderr
    assert "Traceback" not in result.output
