"""Studies and models in MLflow: ``compare --mlflow URI`` and ``export --mlflow-register NAME``.

A study is logged as one MLflow run (:func:`log_study`) with a nested run per strategy:

- the study run: the plan's settings as parameters; tags for the data fingerprint
  (``crossover.fingerprint``), the task, the headline metric and the recommendation
  (``crossover.recommendation``, its reasons as the run's description); the report, summary,
  leaderboard, learning curve, decision, cost sheet and ``study.json`` as artifacts;
- a run per strategy (``mlflow.parentRunId`` names the study run): its key, kind and
  parameters; every metric with its 95 % interval and its difference to the best strategy
  (``accuracy``, ``accuracy.ci_low``, ``accuracy.ci_high``, ``accuracy.delta_vs_best``);
  timings (``fit_s``, ``latency_p50_ms``, ``latency_p95_ms``, ``throughput_rows_s``), size;
  the cost sheet (``cost.setup_usd``, ``cost.usd_per_million``, ``cost.monthly_usd``, ...);
  and the learning curve as metric histories whose step is the number of labelled rows
  (``curve.score_mean``, ``curve.score_ci_low``, ``curve.score_ci_high``, ``curve.fit_s_mean``).

:func:`register_model` logs an exported model folder as an MLflow pyfunc model whose loader is
``crossover.serve.mlflow_pyfunc`` (crossover's verifying loader: no pickle) and registers it, so
that ``mlflow models serve -m models:/NAME/VERSION`` answers as ``crossover serve`` does.

MLflow is an optional extra (``pip install 'crossover[mlflow]'``), imported only here.
"""

from __future__ import annotations

import json
import math
import os
import socket
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crossover.errors import ConfigError

if TYPE_CHECKING:
    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation
    from crossover.study import Study

__all__ = [
    "EXPERIMENT",
    "RECORD",
    "LoggedStudy",
    "RegisteredModel",
    "check_tracking_uri",
    "log_study",
    "register_model",
]

#: The MLflow experiment a study or model goes to unless told otherwise.
EXPERIMENT = "crossover"
#: The file, in a compare output folder, that records where its study was logged.
RECORD = "mlflow.json"
#: MLflow's limits on one log_batch call, and on a parameter's value.
_BATCH_METRICS = 1000
_BATCH_PARAMS = 100
_PARAM_CHARS = 6000
#: Leaderboard columns logged as metrics of a strategy's run.
_TIMINGS = ("fit_s", "latency_p50_ms", "latency_p95_ms", "throughput_rows_s", "size_mb")
_COSTS = (
    "setup_usd",
    "labels_to_buy",
    "usd_per_million",
    "monthly_usd",
    "horizon_usd",
    "days_to_production",
)
_CURVE = ("score_mean", "score_ci_low", "score_ci_high", "fit_s_mean")
_INSTALL = "pip install 'crossover[mlflow]'"


@dataclass(frozen=True)
class LoggedStudy:
    """Where a study went: its run and each strategy's nested run."""

    tracking_uri: str
    experiment_id: str
    run_id: str
    strategy_runs: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        """The run's page in the MLflow UI (for a server; None for a local store)."""
        return _run_url(self.tracking_uri, self.experiment_id, self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RegisteredModel:
    """A model version in MLflow's registry, and the run that logged it."""

    tracking_uri: str
    name: str
    version: str
    run_id: str
    model_uri: str

    @property
    def serve_command(self) -> str:
        return f"mlflow models serve -m models:/{self.name}/{self.version} --env-manager local"


def _mlflow() -> ModuleType:
    try:
        import mlflow
    except ImportError:
        raise ConfigError(f"MLflow is not installed: {_INSTALL}") from None
    return mlflow


def _run_url(uri: str, experiment_id: str, run_id: str) -> str | None:
    if urlsplit(uri).scheme not in ("http", "https"):
        return None
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def check_tracking_uri(uri: str, option: str = "--mlflow") -> str:
    """``uri`` if MLflow is installed and, for a server (``http(s)://``), something listens
    there; a ``ConfigError`` otherwise, at once (MLflow's own client retries for minutes).

    Called before a study starts, so that a wrong address costs nothing."""
    _mlflow()
    uri = uri.strip()
    if not uri:
        raise ConfigError(f"{option}: give a tracking URI, e.g. http://127.0.0.1:5000")
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError(f"{option} {uri}: the port is not a number") from None
        if not host:
            raise ConfigError(f"{option} {uri}: no host; give e.g. http://127.0.0.1:5000")
        try:
            socket.create_connection((host, port), timeout=5).close()
        except OSError as exc:
            raise ConfigError(
                f"{option} {uri}: no MLflow server answers at {host}:{port} "
                f"({exc.strerror or exc}); start one (mlflow server --host 127.0.0.1 --port "
                f"{port}) or give its address"
            ) from None
    return uri


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


@contextmanager
def _quiet() -> Iterator[None]:
    """No "View run ... at" lines on stdout for every run ended (crossover prints the study's
    link once), unless the user asked for them."""
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    before = os.environ.get(name)
    os.environ.setdefault(name, "true")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)


def _experiment_id(client: Any, name: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise ConfigError(
                f"the MLflow experiment {name!r} is deleted: restore it (mlflow experiments "
                f"restore --experiment-id {found.experiment_id}) or pick another name"
            )
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # created meanwhile by another run
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _number(value: Any) -> float | None:
    """A finite float, or None (MLflow metrics are numbers; missing figures are not logged)."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 3] + "..."


def _params(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flat ``name: text`` parameters of a nested mapping (``llm.model``); None left out."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_params(value, f"{name}."))
        elif value is not None:
            out[name] = _param_value(value)
    return out


def _log(
    client: Any,
    run_id: str,
    *,
    metrics: Iterable[tuple[str, float, int]] = (),
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Everything of a run in as few calls as MLflow's batch limits allow."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    metric_list = [Metric(k, v, now, step) for k, v, step in metrics]
    param_list = [Param(k, v) for k, v in (params or {}).items()]
    tag_list = [RunTag(k, v) for k, v in (tags or {}).items()]
    for start in range(0, max(len(param_list), len(tag_list), 1), _BATCH_PARAMS):
        chunk_params = param_list[start : start + _BATCH_PARAMS]
        chunk_tags = tag_list[start : start + _BATCH_PARAMS]
        if chunk_params or chunk_tags:
            client.log_batch(run_id, params=chunk_params, tags=chunk_tags)
    for start in range(0, len(metric_list), _BATCH_METRICS):
        client.log_batch(run_id, metrics=metric_list[start : start + _BATCH_METRICS])


def _strategy_metrics(
    study: Study, strategy: str, row: Mapping[str, Any], costs: Mapping[str, Any] | None
) -> list[tuple[str, float, int]]:
    out: list[tuple[str, float, int]] = []

    def add(name: str, value: Any, step: int = 0) -> None:
        number = _number(value)
        if number is not None:
            out.append((name, number, step))

    for metric, stats in sorted(study.statistics.get(strategy, {}).items()):
        add(metric, stats.get("score"))
        add(f"{metric}.ci_low", stats.get("ci_low"))
        add(f"{metric}.ci_high", stats.get("ci_high"))
        add(f"{metric}.delta_vs_best", stats.get("delta"))
    for column in _TIMINGS:
        add(column, row.get(column))
    for column in _COSTS:
        add(f"cost.{column}", (costs or {}).get(column))
    curve = study.learning_curve
    for point in curve[curve["strategy"] == strategy].to_dict("records"):
        step = _number(point.get("n_labels"))
        if step is None:
            continue
        for column in _CURVE:
            add(f"curve.{column}", point.get(column), int(step))
    return out


def _reasons(recommendation: Recommendation | None) -> str:
    if recommendation is None:
        return "No recommendation was made (no scenario was priced)."
    head = (
        f"**Recommended: {recommendation.choice}** ({recommendation.kind}; {recommendation.rule})"
        if recommendation.choice
        else f"**No strategy recommended** ({recommendation.rule})"
    )
    return "\n".join([head, "", *(f"- {reason}" for reason in recommendation.reasons)])


def log_study(
    study: Study,
    tracking_uri: str,
    *,
    experiment: str = EXPERIMENT,
    pricing: Pricing | None = None,
    recommendation: Recommendation | None = None,
    artifacts: Iterable[str | Path] = (),
    run_name: str | None = None,
    out: str | Path | None = None,
) -> LoggedStudy:
    """Log ``study`` to MLflow at ``tracking_uri``: a run, a nested run per strategy (see the
    module's docstring), the files in ``artifacts`` (``write_outputs``' paths) on the study's
    run. With ``out``, ``out/mlflow.json`` records the runs (``export --mlflow-register`` nests
    the model's run under the study's)."""
    import crossover

    check_tracking_uri(tracking_uri)
    from mlflow.exceptions import MlflowException

    with _quiet():
        client = _client(tracking_uri)
        try:
            experiment_id = _experiment_id(client, experiment)
            choice = recommendation.choice if recommendation is not None else None
            source = study.dataset.get("source")
            name = run_name or f"{Path(str(source)).stem if source else 'study'} ({study.task})"
            run = client.create_run(experiment_id, run_name=name)
            run_id = run.info.run_id
            _log(
                client,
                run_id,
                params={
                    "task": study.task,
                    "headline_metric": study.headline,
                    **_params(study.settings),
                },
                tags={
                    "crossover.fingerprint": str(study.dataset.get("fingerprint", "")),
                    "crossover.task": study.task,
                    "crossover.headline_metric": study.headline,
                    "crossover.recommendation": choice or "none",
                    "crossover.recommendation_kind": (recommendation.kind or "")
                    if recommendation
                    else "",
                    "crossover.version": crossover.__version__,
                    "mlflow.note.content": _reasons(recommendation),
                },
                metrics=[
                    (k, v, 0)
                    for k, v in (
                        ("duration_s", _number(study.duration_s)),
                        ("test_rows", _number(len(study.y_true))),
                        ("strategies", _number(len(study.leaderboard))),
                    )
                    if v is not None
                ],
            )
            costs: dict[str, dict[str, Any]] = {}
            if pricing is not None:
                costs = {
                    str(row["strategy"]): {str(k): v for k, v in row.items()}
                    for row in pricing.table().to_dict("records")
                }
            strategy_runs: dict[str, str] = {}
            by_key = {r.trial.strategy: r for r in study.leaderboard_results}
            for record in study.leaderboard.to_dict("records"):
                row = {str(k): v for k, v in record.items()}
                key = str(row["strategy"])
                child = client.create_run(
                    experiment_id,
                    run_name=key,
                    tags={"mlflow.parentRunId": run_id},
                )
                result = by_key.get(key)
                _log(
                    client,
                    child.info.run_id,
                    params={
                        "strategy": key,
                        "kind": str(row.get("kind")),
                        **_params(result.trial.params if result is not None else {}, "param."),
                    },
                    tags={
                        "crossover.strategy": key,
                        "crossover.kind": str(row.get("kind")),
                        "crossover.recommended": "true" if key == choice else "false",
                        "crossover.fingerprint": str(study.dataset.get("fingerprint", "")),
                    },
                    metrics=_strategy_metrics(study, key, row, costs.get(key)),
                )
                client.set_terminated(child.info.run_id)
                strategy_runs[key] = child.info.run_id
            for path in artifacts:
                if Path(path).is_file():
                    client.log_artifact(run_id, str(path))
            client.set_terminated(run_id)
        except MlflowException as exc:
            raise ConfigError(
                f"MLflow at {tracking_uri} refused the study: {exc.message}"
            ) from None
    logged = LoggedStudy(tracking_uri, experiment_id, run_id, strategy_runs)
    if out is not None:
        (Path(out) / RECORD).write_text(json.dumps(logged.to_dict(), indent=2))
    return logged


def _study_record(study_dir: str | Path | None, tracking_uri: str) -> dict[str, Any] | None:
    """The runs a compare folder's study was logged to, on this tracking server, if any."""
    if study_dir is None:
        return None
    folder = Path(study_dir)
    record = (folder.parent if folder.is_file() else folder) / RECORD
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tracking_uri") != tracking_uri:
        return None
    return data


def _signature(manifest: Mapping[str, Any]) -> Any:
    """The model's input columns for MLflow (strings for texts and images; each table column
    by its kind); None where MLflow has no fitting type (a recommender's ids)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    kind = manifest.get("input_kind") or "text"
    columns: list[Any]
    if kind == "text":
        columns = [ColSpec("string", "text")]
    elif kind == "image":
        columns = [ColSpec("string", "image")]
    elif kind == "table":
        props = (manifest.get("input_schema") or {}).get("properties") or {}
        types: dict[Any, str | None] = {
            "numeric": "double",
            "categorical": None,
            "text": "string",
            "datetime": None,
        }
        columns = []
        for column, prop in props.items():
            # A categorical or datetime column takes strings and numbers: no single MLflow type.
            kind_of = types.get(prop.get("x-kind")) if isinstance(prop, dict) else None
            if kind_of is None:
                return None
            columns.append(ColSpec(kind_of, column, required=False))
    else:
        return None
    return ModelSignature(inputs=Schema(columns))


def register_model(
    model_dir: str | Path,
    name: str,
    tracking_uri: str,
    *,
    experiment: str = EXPERIMENT,
    study_dir: str | Path | None = None,
) -> RegisteredModel:
    """Log the exported folder ``model_dir`` as an MLflow pyfunc model (loader
    ``crossover.serve.mlflow_pyfunc``; the folder copied as it is, hashes and all) and register
    it as ``name``: a new version of it if the name exists.

    The run is nested under the study's run when ``study_dir`` (the compare folder) was logged
    to the same server."""
    import crossover
    from crossover.artifacts.load import load_model, manifest_digest

    check_tracking_uri(tracking_uri)
    if not name.strip():
        raise ConfigError("--mlflow-register: give the registered model's name")
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    model = load_model(model_dir)  # refuses a folder that does not verify, before any upload
    manifest = model.manifest
    if model.forecasts:
        raise ConfigError(
            f"{manifest['strategy']} forecasts series; MLflow registration covers classifiers "
            f"and recommenders: serve it with crossover serve {model_dir}"
        )
    client = _client(tracking_uri)
    study = _study_record(study_dir, tracking_uri)
    tags = {
        "crossover.strategy": str(manifest["strategy"]),
        "crossover.kind": str(manifest.get("kind", "")),
        "crossover.manifest_sha256": manifest_digest(manifest),
        "crossover.version": crossover.__version__,
    }
    if study is not None:
        tags["mlflow.parentRunId"] = str(study["run_id"])
        tags["crossover.study_run_id"] = str(study["run_id"])
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        experiment_id = (
            str(study["experiment_id"]) if study is not None else _experiment_id(client, experiment)
        )
        run = client.create_run(experiment_id, run_name=f"export {manifest['strategy']}", tags=tags)
        with _quiet(), mlflow.start_run(run_id=run.info.run_id), warnings.catch_warnings():
            # No input example on purpose: it would copy a row of the user's data into the
            # model's artifacts. The signature names the input columns.
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            info = mlflow.pyfunc.log_model(
                name="model",
                loader_module="crossover.serve.mlflow_pyfunc",
                data_path=str(model_dir),
                pip_requirements=[f"crossover=={crossover.__version__}"],
                signature=_signature(manifest),
                registered_model_name=name,
                metadata={
                    "crossover_strategy": str(manifest["strategy"]),
                    "crossover_manifest_sha256": manifest_digest(manifest),
                },
            )
        version = info.registered_model_version
    except MlflowException as exc:
        raise ConfigError(f"MLflow at {tracking_uri} refused the model: {exc.message}") from None
    finally:
        mlflow.set_tracking_uri(previous)
    if version is None:  # pragma: no cover - MLflow registers when given a name
        raise ConfigError(f"MLflow at {tracking_uri} did not register {name!r}")
    return RegisteredModel(
        tracking_uri, name, str(version), run.info.run_id, f"models:/{name}/{version}"
    )


def default_tracking_uri() -> str | None:
    """``MLFLOW_TRACKING_URI`` when set: what ``--mlflow`` defaults to."""
    return os.environ.get("MLFLOW_TRACKING_URI") or None
