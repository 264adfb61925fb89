"""--mlflow and --mlflow-register against an MLflow tracking server on loopback.

An ``mlflow server`` (SQLite store, local artifact folder) is started for this module and
stopped after it. What crossover wrote is read back through MLflow's own client.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crossover.cli import app
from crossover.serve import create_app
from tests.conftest import FAST_MODEL, make_tickets
from tests.services import BIN, MLFLOW_ENV, free_port, mlflow_server, wait_for_http

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow

TEXTS = ["I was charged twice this month", "the app crashes when I log in", "where is my parcel"]
EXPORTED = "text.embedding-head"


@pytest.fixture(scope="module")
def uri() -> Iterator[str]:
    mp = pytest.MonkeyPatch()
    for name, value in MLFLOW_ENV.items():
        mp.setenv(name, value)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    with mlflow_server() as address:
        yield address
    mp.undo()


@pytest.fixture(scope="module")
def client(uri: str) -> Any:
    return mlflow.tracking.MlflowClient(tracking_uri=uri)


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.fixture(scope="module")
def study_dir(uri: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlflow")
    data = root / "tickets.csv"
    make_tickets(12).to_csv(data, index=False)
    out = root / "out"
    result = _invoke(
        "compare", str(data), "--model", FAST_MODEL, "--seeds", "2", "--budgets", "4,full",
        "--out", str(out), "--mlflow", uri, "--mlflow-experiment", "tickets",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "logged to MLflow: http://127.0.0.1" in result.output
    assert "View run" not in result.output  # MLflow's own line per run is kept quiet
    return out


def _runs(client: Any, study_dir: Path) -> tuple[Any, list[Any]]:
    record = json.loads((study_dir / "mlflow.json").read_text())
    parent = client.get_run(record["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{record['run_id']}'"
    )
    return parent, children


def test_study_is_one_run_with_a_nested_run_per_strategy(client: Any, study_dir: Path) -> None:
    study = json.loads((study_dir / "study.json").read_text())
    decision = json.loads((study_dir / "decision.json").read_text())
    parent, children = _runs(client, study_dir)
    assert client.get_experiment(parent.info.experiment_id).name == "tickets"
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert tags["crossover.fingerprint"] == study["dataset"]["fingerprint"]
    assert tags["crossover.recommendation"] == decision["recommendation"]["choice"]
    assert decision["recommendation"]["reasons"][0] in tags["mlflow.note.content"]
    assert parent.data.params["task"] == "text-classification"
    assert parent.data.params["model"] == FAST_MODEL
    assert parent.data.metrics["duration_s"] == pytest.approx(study["duration_s"])
    artifacts = {f.path for f in client.list_artifacts(parent.info.run_id)}
    wanted = {"report.html", "summary.md", "leaderboard.csv", "learning_curve.csv"}
    assert wanted | {"decision.json", "costs.csv", "study.json"} <= artifacts

    leaderboard = pd.read_csv(study_dir / "leaderboard.csv")
    costs = pd.read_csv(study_dir / "costs.csv").set_index("strategy")
    by_key = {run.data.tags["crossover.strategy"]: run for run in children}
    assert set(by_key) == set(leaderboard["strategy"])
    for row in leaderboard.to_dict("records"):
        run = by_key[row["strategy"]]
        metrics, metric = run.data.metrics, row["metric"]
        assert run.data.params["kind"] == row["kind"]
        assert metrics[metric] == pytest.approx(row["score"], rel=1e-5)
        assert metrics[f"{metric}.ci_low"] == pytest.approx(row["ci_low"], rel=1e-5)
        assert metrics[f"{metric}.ci_high"] == pytest.approx(row["ci_high"], rel=1e-5)
        assert metrics["fit_s"] == pytest.approx(row["fit_s"], rel=1e-5)
        assert metrics["latency_p95_ms"] == pytest.approx(row["latency_p95_ms"], rel=1e-5)
        sheet = costs.loc[row["strategy"]]
        assert metrics["cost.monthly_usd"] == pytest.approx(sheet["monthly_usd"], rel=1e-5)
        assert metrics["cost.setup_usd"] == pytest.approx(sheet["setup_usd"], rel=1e-5)
        assert (
            run.data.tags["crossover.recommended"]
            == str(row["strategy"] == decision["recommendation"]["choice"]).lower()
        )


def test_learning_curve_is_a_metric_history_by_labels(client: Any, study_dir: Path) -> None:
    curve = pd.read_csv(study_dir / "learning_curve.csv")
    _, children = _runs(client, study_dir)
    by_key = {run.data.tags["crossover.strategy"]: run for run in children}
    trained = curve[curve["kind"] != "pretrained"]
    assert not trained.empty
    for key, points in trained.groupby("strategy"):
        history = client.get_metric_history(by_key[key].info.run_id, "curve.score_mean")
        logged = {m.step: m.value for m in history}
        expected = dict(zip(points["n_labels"].astype(int), points["score_mean"], strict=True))
        assert logged == pytest.approx(expected, rel=1e-5)


def _exported(study_dir: Path, uri: str, name: str, out: Path) -> Any:
    result = _invoke(
        "export", str(study_dir), "--strategy", EXPORTED, "--out", str(out),
        "--mlflow", uri, "--mlflow-register", name,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def registered(study_dir: Path, uri: str) -> Path:
    model_dir = study_dir / "model"
    result = _exported(study_dir, uri, "tickets-router", model_dir)
    assert "registered models:/tickets-router/1" in result.output
    assert "mlflow models serve -m models:/tickets-router/1" in result.output
    return model_dir


def _crossover_serve(model_dir: Path) -> list[dict[str, Any]]:
    with TestClient(create_app(model_dir)) as test_client:
        response = test_client.post("/v1/predict", json={"inputs": TEXTS})
    assert response.status_code == 200, response.text
    return list(response.json()["predictions"])


def test_registered_model_loads_through_mlflow_and_predicts_as_crossover_serve(
    client: Any, registered: Path, study_dir: Path, uri: str
) -> None:
    version = client.get_model_version("tickets-router", "1")
    run = client.get_run(version.run_id)
    assert run.data.tags["crossover.strategy"] == EXPORTED
    study_run = json.loads((study_dir / "mlflow.json").read_text())["run_id"]
    assert run.data.tags["mlflow.parentRunId"] == study_run  # nested under the study
    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pyfunc.load_model("models:/tickets-router/1")
    finally:
        mlflow.set_tracking_uri(None)
    assert model.metadata.flavors["python_function"]["loader_module"] == (
        "crossover.serve.mlflow_pyfunc"
    )
    copy = model._model_impl.model.directory  # the folder MLflow downloaded and loaded
    assert not [p for p in Path(copy).rglob("*") if p.suffix in (".pkl", ".pickle")]
    predictions = model.predict(pd.DataFrame({"text": TEXTS}))
    assert predictions.to_dict("records") == _crossover_serve(registered)


def test_registering_again_adds_a_version(
    client: Any, registered: Path, study_dir: Path, uri: str
) -> None:
    _exported(study_dir, uri, "tickets-router", study_dir / "model-2")
    versions = client.search_model_versions("name = 'tickets-router'")
    assert sorted(int(v.version) for v in versions) == [1, 2]


def test_mlflow_models_serve_answers_as_crossover_serve(registered: Path, uri: str) -> None:
    port = free_port()
    log = registered.parent / "mlflow-serve.log"
    env = {**os.environ, **MLFLOW_ENV, "MLFLOW_TRACKING_URI": uri}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # as with the venv activated
    cmd = [
        str(BIN / "mlflow"), "models", "serve", "-m", "models:/tickets-router/1",
        "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", process, log, timeout=120)
        response = httpx.post(
            f"http://127.0.0.1:{port}/invocations",
            json={"dataframe_records": [{"text": t} for t in TEXTS]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == _crossover_serve(registered)
    finally:
        from tests.services import _kill_group, _stop

        _stop(process)
        _kill_group(process.pid)


def test_unreachable_server_fails_before_the_study(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    make_tickets(4).to_csv(data, index=False)
    address = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = _invoke("compare", str(data), "--out", str(tmp_path / "out"), "--mlflow", address)
    assert result.exit_code == 2, result.output
    assert f"--mlflow {address}: no MLflow server answers" in result.output
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out" / "trials").exists()  # nothing ran


def test_register_needs_a_tracking_uri(study_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = study_dir / "model-unregistered"
    result = _invoke(
        "export", str(study_dir), "--strategy", EXPORTED, "--out", str(out),
        "--mlflow-register", "x",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--mlflow-register needs a tracking server" in result.output
    assert not out.exists()  # refused before training


def test_tracking_uri_from_the_environment(
    uri: str, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "tickets.csv"
    make_tickets(6).to_csv(data, index=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    result = _invoke(
        "compare", str(data), "--strategies", "text.tfidf-linear", "--budgets", "full",
        "--seeds", "1", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "mlflow.json").read_text())
    assert record["tracking_uri"] == uri
    run = client.get_run(record["run_id"])
    assert client.get_experiment(run.info.experiment_id).name == "crossover"
    assert set(record["strategy_runs"]) == {"text.tfidf-linear"}


def test_log_study_from_python(client: Any, study_dir: Path, uri: str) -> None:
    import crossover

    study = crossover.load_study(study_dir / "study.json")
    pricing, choice = crossover.decide(study)
    logged = crossover.log_study(
        study, uri, experiment="notebook", pricing=pricing, recommendation=choice
    )
    run = client.get_run(logged.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "notebook"
    assert run.data.tags["crossover.recommendation"] == (choice.choice or "none")
    assert set(logged.strategy_runs) == set(study.leaderboard["strategy"])
    assert logged.url == f"{uri}/#/experiments/{run.info.experiment_id}/runs/{logged.run_id}"
    assert client.list_artifacts(logged.run_id) == []  # no files given, none uploaded
