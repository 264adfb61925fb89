"""Writing a model directory: a fitted strategy, or a study's chosen strategy trained again on
all its rows, exported with everything it needs to answer requests (see ``crossover.artifacts``).

This half may import the training side (studies, data loading, the decision); serving never
imports it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crossover.artifacts.load import (
    ENCODER_NAMES,
    ENCODER_SUFFIXES,
    FORECAST_MAX_HORIZON,
    FORECAST_MAX_POINTS,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_DIGEST,
    RECOMMEND_MAX_K,
    UNSAFE_SUFFIXES,
    _files,
    _sha256,
    manifest_digest,
)
from crossover.errors import ConfigError, DataError, ModelError
from crossover.versions import installed_versions

if TYPE_CHECKING:
    from crossover.strategies.base import Strategy
    from crossover.study import Study

__all__ = ["export_model", "export_strategy"]


def _copy_encoder(source: Path, target: Path) -> None:
    """Copy a sentence-embedding model folder, safe formats only, as plain files (a link in
    the source, such as the Hugging Face cache's, is copied as the file it points to)."""
    copied = 0
    for path in _files(source):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts):
            continue  # caches and lock files of the hub client
        if relative.parts[0] == "runtimes":
            continue  # converted copies (a model exported before): the one used is added
        if path.suffix in UNSAFE_SUFFIXES:
            continue  # a pickle-based duplicate of the weights; safetensors is required below
        if path.suffix not in ENCODER_SUFFIXES and path.name not in ENCODER_NAMES:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied += path.suffix == ".safetensors"
    if not copied:
        raise ModelError(
            f"{source}: the embedding model has no safetensors weights; crossover exports only "
            "safe weight formats (convert it with `safetensors` first)"
        )


def export_strategy(
    strategy: Strategy,
    out: str | Path,
    *,
    metrics: dict[str, Any] | None = None,
    trained_on: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted ``strategy`` as a self-describing model directory ``out``.

    ``out`` must not exist or be empty; the directory is assembled next to it and moved in
    place at the end, so a failed export leaves nothing half-written.
    """
    from crossover.strategies.text._embedding import EmbeddingStrategy

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not empty; choose a new --out folder")
    strategy._check_fitted()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        strategy.save(staging / "strategy")
        encoder = None
        if isinstance(strategy, EmbeddingStrategy) and strategy.embedding_model():
            embedder = strategy._embedder()
            resolved = embedder.resolved
            _copy_encoder(resolved.path, staging / "encoder")
            encoder = {
                "id": strategy.model,
                "format": resolved.format,
                "path": "encoder",
                "runtime": embedder.setting.tag,
            }
            converted = embedder.converted_folder()
            if converted is not None:
                # The converted copy it runs, so that serving needs neither a build nor the
                # calibration texts; its files are hashed below like every other.
                shipped = Path("encoder") / "runtimes" / embedder.converted_name()
                shutil.copytree(converted, staging / shipped)
                encoder["converted"] = shipped.as_posix()
        unsafe = [p for p in _files(staging) if p.suffix in UNSAFE_SUFFIXES]
        if unsafe:
            raise ModelError(f"{strategy.key} wrote {unsafe[0].name}: not a safe weight format")
        manifest = {
            "format_version": FORMAT_VERSION,
            "task": strategy.task,
            # What serving dispatches on: the routes and request bodies a model gets.
            "input_kind": strategy.input_kind,
            "strategy": strategy.key,
            # What serving imports to read the folder, and nothing else (mlflow's loader_module).
            "loader": f"{type(strategy).__module__}:{type(strategy).__qualname__}",
            "kind": strategy.kind,
            "summary": strategy.summary,
            "labels": [str(c) for c in strategy.classes_],
            "has_proba": bool(strategy.has_proba),
            "input_schema": _input_schema(strategy),
            # What a kind of model adds (a forecaster: its horizon, frequency, season).
            **_MANIFEST_EXTRAS.get(strategy.input_kind, _nothing)(strategy),
            "embedding_model": encoder,
            "metrics": metrics or {},
            "trained_on": trained_on or {},
            "versions": installed_versions(strategy.requirements()),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            # Every file but the manifest, the encoder's included: loading reads no other.
            "files": {p.relative_to(staging).as_posix(): _sha256(p) for p in _files(staging)},
        }
        # The manifest covers itself: loading refuses it after any edit.
        manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if out.exists():
            out.rmdir()
        shutil.move(str(staging), out)
    return out


_JSON_TYPES = {
    "numeric": {"type": ["number", "null"]},
    "categorical": {"type": ["string", "number", "boolean", "null"]},
    "text": {"type": ["string", "null"]},
    "datetime": {"type": ["string", "number", "null"]},
}


def _input_schema(strategy: Strategy) -> dict[str, Any]:
    """JSON Schema of one input, by what the strategy takes (``input_kind``): a text, a table
    row with every input column, an image, or one recommend request."""
    schema = _INPUT_SCHEMAS.get(strategy.input_kind, _text_schema)
    return schema(strategy)


def _text_schema(strategy: Strategy) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"text": {"type": "string", "minLength": 1}},
        "required": ["text"],
        "description": "one text to classify",
    }


def _table_schema(strategy: Strategy) -> dict[str, Any]:
    schema_of = getattr(strategy, "input_schema", None)
    if schema_of is None:
        return _text_schema(strategy)
    kinds: dict[str, str] = schema_of()
    return {
        "type": "object",
        "properties": {c: {**_JSON_TYPES[k], "x-kind": k} for c, k in kinds.items()},
        "required": list(kinds),
        "additionalProperties": False,
        "description": "one table row: every input column (null for a missing value)",
    }


def _image_schema(strategy: Strategy) -> dict[str, Any]:
    """One image: its file's bytes in base64 (as JSON carries them; ``crossover serve`` also
    takes them as a multipart upload). ``x-image-size`` is the side, in pixels, the model
    resizes every image to (shorter side, then centre crop): detail finer than that is lost,
    so a client may downscale larger images before sending them. A strategy that chose its
    side from the training images (``image.cnn``) records it as ``image_size_``."""
    size = getattr(strategy, "image_size_", None) or getattr(strategy, "image_size", None)
    return {
        "type": "object",
        "properties": {
            "image": {
                "type": "string",
                "minLength": 1,
                "contentEncoding": "base64",
                "contentMediaType": "image/*",
                "description": "an image file (JPEG, PNG, WebP, GIF, BMP, TIFF) in base64",
            }
        },
        "required": ["image"],
        "additionalProperties": False,
        "description": "one image to classify",
        **({"x-image-size": int(size)} if isinstance(size, int) else {}),
    }


def _interactions_schema(strategy: Strategy) -> dict[str, Any]:
    return _recommend_schema(int(getattr(strategy, "k", 10)))


_ID_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}],
    "description": 'an id (a number is read as its decimal text: 42 is "42")',
}


def _recommend_schema(default_k: int) -> dict[str, Any]:
    """JSON Schema of one recommend request: a known user, or a session's items."""
    return {
        "type": "object",
        "properties": {
            "user": {**_ID_SCHEMA, "description": "a user with training interactions"},
            "items": {
                "type": "array",
                "items": _ID_SCHEMA,
                "minItems": 1,
                "description": "the item ids of a session or a new user (instead of user)",
            },
            "k": {
                "type": "integer",
                "minimum": 1,
                "maximum": RECOMMEND_MAX_K,
                "default": default_k,
                "description": "how many items to return",
            },
            "exclude": {
                "type": "array",
                "items": _ID_SCHEMA,
                "description": "item ids never to return",
            },
        },
        "oneOf": [{"required": ["user"]}, {"required": ["items"]}],
        "additionalProperties": False,
        "description": "a known user's top k (their training items left out), or the top k "
        "for the given items (a session or a new user; those items left out)",
    }


def _series_schema(strategy: Strategy) -> dict[str, Any]:
    """JSON Schema of one forecast request: series (an id and its recent history, oldest
    first; optionally the timestamp of its first point) and the steps to forecast."""
    facts = _forecast_facts(strategy)["forecast"]
    step = (
        "a timestamp on the model's frequency grid (ISO, such as 2024-01-01)"
        if facts["freq"]
        else "a whole-number step (the model's data had no calendar)"
    )
    return {
        "type": "object",
        "properties": {
            "series": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": _ID_SCHEMA,
                        "history": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": facts["min_history"],
                            "maxItems": FORECAST_MAX_POINTS,
                            "description": "the series' recent values, oldest first, one per "
                            "step of the model's frequency, finite numbers",
                        },
                        "start": {
                            "type": ["string", "integer"],
                            "description": f"the time of history's first point: {step}; "
                            "labels the forecast steps (timestamps)",
                        },
                        **_covariate_schema(facts),
                    },
                    "required": ["id", "history", *_covariates_required(facts)],
                    "additionalProperties": False,
                },
            },
            "horizon": {
                "type": "integer",
                "minimum": 1,
                "maximum": FORECAST_MAX_HORIZON,
                "default": facts["horizon"],
                "description": "the steps to forecast after each history",
            },
        },
        "required": ["series"],
        "additionalProperties": False,
        "description": "the next horizon steps of each series, from its recent history",
    }


def _covariate_schema(facts: dict[str, Any]) -> dict[str, Any]:
    """The request's covariate fields for a model fitted with covariates."""
    out: dict[str, Any] = {}
    if facts.get("static"):
        out["static"] = {
            "type": "object",
            "properties": {
                n: {"type": ["string", "number", "boolean", "null"]} for n in facts["static"]
            },
            "required": list(facts["static"]),
            "additionalProperties": False,
            "description": "the series' value of each static covariate (null: missing)",
        }
    if facts.get("known"):
        out["known"] = {
            "type": "object",
            "properties": {
                n: {"type": "array", "items": {"type": ["number", "boolean"]}}
                for n in facts["known"]
            },
            "required": list(facts["known"]),
            "additionalProperties": False,
            "description": "each covariate known in advance: one value per history point, "
            "then one per step forecast (len(history) + horizon values)",
        }
    return out


def _covariates_required(facts: dict[str, Any]) -> list[str]:
    return [kind for kind in ("static", "known") if facts.get(kind)]


_INPUT_SCHEMAS: dict[str, Callable[[Strategy], dict[str, Any]]] = {
    "text": _text_schema,
    "table": _table_schema,
    "image": _image_schema,
    "interactions": _interactions_schema,
    "series": _series_schema,
}


def _nothing(strategy: Strategy) -> dict[str, Any]:
    return {}


def _forecast_facts(strategy: Strategy) -> dict[str, Any]:
    """A forecaster's ``forecast`` manifest entry: what serving labels and checks with."""
    from crossover.strategies.forecast._base import QUANTILES, ForecastStrategy

    if not isinstance(strategy, ForecastStrategy):
        raise ModelError(f"{strategy.key} takes series but is not a ForecastStrategy")
    return {
        "forecast": {
            "horizon": strategy.horizon_,
            "freq": strategy.freq_,
            "season": strategy.season_,
            "min_history": strategy.min_history(),
            "quantiles": list(QUANTILES) if strategy.has_quantiles else [],
            # The covariates each request series sends (only for a model fitted with some).
            **({"static": list(strategy.static_names_)} if strategy.static_names_ else {}),
            **({"known": list(strategy.known_names_)} if strategy.known_names_ else {}),
        }
    }


#: Manifest entries a kind of model adds, by what it takes (``input_kind``).
_MANIFEST_EXTRAS: dict[str, Callable[[Strategy], dict[str, Any]]] = {"series": _forecast_facts}


def export_model(
    study_dir: str | Path,
    out: str | Path,
    *,
    strategy: str | None = None,
    recommended: bool = False,
    data: str | Path | None = None,
    test: str | Path | None = None,
    scenario: str | Path | None = None,
    items: str | Path | None = None,
) -> Path:
    """Train the chosen strategy of a saved study on all its labelled rows and export it.

    The rows are read again from the study's data files (or ``data`` / ``test``) and must have
    the fingerprint the study recorded. "All labelled rows" are the training and the test rows:
    the test set has done its job (the study's metrics, which the manifest carries, were
    measured on it before).

    For a strategy that takes interactions (it recommends), ``data`` is the interactions file
    and ``items`` the items file (each only when it moved); the strategy is trained on every
    interaction, held-out ones included.

    For a forecaster (it takes series), ``data`` is the series file (only when it moved): the
    series are read again with the study's columns, horizon, frequency, season and windows, and
    the strategy is fitted on the full history of every series, backtest windows included.
    """
    from crossover.strategies import registry
    from crossover.study import load_study

    study_dir = Path(study_dir)
    study_path = study_dir / "study.json" if study_dir.is_dir() else study_dir
    study = load_study(study_path)
    key = _choose(study, strategy, recommended, scenario)
    # How the rows are read again and the strategy trained on them follows what it takes.
    retrain = _RETRAIN.get(registry.get(key).input_kind, _export_labelled)
    return retrain(study, key, out, data=data, test=test, items=items)


class _Retrain(Protocol):
    def __call__(
        self,
        study: Study,
        key: str,
        out: str | Path,
        *,
        data: str | Path | None,
        test: str | Path | None,
        items: str | Path | None,
    ) -> Path: ...


def _export_labelled(
    study: Study,
    key: str,
    out: str | Path,
    *,
    data: str | Path | None,
    test: str | Path | None,
    items: str | Path | None,
) -> Path:
    """``export_model`` for a classifier (texts or table rows): every labelled row."""
    from crossover.strategies import registry
    from crossover.tasks import load

    if items is not None:
        raise ConfigError("--items is for recommendation studies; this study classifies")
    paths = study.settings.get("data_paths") or {}
    source = Path(data) if data else (Path(paths["data"]) if paths.get("data") else None)
    if source is None or not source.exists():
        where = f" ({source} is gone)" if source else ""
        raise ConfigError(
            f"the study's data file is not available{where}; pass it with --data FILE "
            "(and --test FILE if the study had a fixed test set)"
        )
    test_path = Path(test) if test else (Path(paths["test"]) if paths.get("test") else None)
    spec = study.spec
    is_table = spec.get("column_types") is not None
    load_options = dict(study.settings.get("load") or {})
    load_options.pop("task", None)
    cls = registry.get(key)
    dataset = load(
        source,
        text=None if is_table else spec["inputs"][0],
        label=spec["target"],
        test=test_path,
        label_descriptions=spec.get("label_descriptions"),
        # A study file written before the spec named its task: the strategy's own.
        task=spec.get("task", cls.task),
        **load_options,
    )
    if dataset.fingerprint != study.dataset.get("fingerprint"):
        raise DataError(
            f"{source}: its rows differ from those the study measured (fingerprint "
            f"{dataset.fingerprint} against {study.dataset.get('fingerprint')}); compare again"
        )
    frames = [dataset.frame] + ([dataset.test] if dataset.test is not None else [])
    import pandas as pd

    rows = pd.concat(frames, ignore_index=True)
    target = spec["target"]
    inputs: Any = (
        rows[list(spec["inputs"])] if is_table else rows[spec["inputs"][0]].astype(str).tolist()
    )
    board = next(r for r in study.leaderboard_results if r.trial.strategy == key)
    params = _keep_calibration({k: v for k, v in board.trial.params.items() if k != "cache_dir"})
    fitted = cls(**params).fit(
        inputs,
        rows[target].astype(str).tolist(),
        label_descriptions=spec.get("label_descriptions"),
    )
    metrics = {
        "headline": study.headline,
        **{m: dict(v) for m, v in study.statistics.get(key, {}).items()},
        "measured_on": f"{study.split.get('test_rows')} held-out test rows of the study"
        + (
            f", mean over {len(study.split['split_ids'])} splits"
            if len(study.split.get("split_ids") or []) > 1
            else ""
        ),
    }
    trained_on = {
        "rows": len(rows),
        "data_fingerprint": dataset.fingerprint,
        "study_created_at": study.created_at,
    }
    return export_strategy(fitted, out, metrics=metrics, trained_on=trained_on)


def _keep_calibration(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the study's int8 calibration when its texts are still in the cache
    (the exported encoder is then the one measured), else without: the strategy calibrates
    on the rows it is trained on (a study run with --no-cache kept them in a scratch folder)."""
    digest = params.get("encoder_calibration")
    if digest:
        from crossover.models.embeddings import default_cache_dir
        from crossover.models.runtimes import load_calibration

        try:
            load_calibration(default_cache_dir(), digest)
        except ModelError:
            params = {k: v for k, v in params.items() if k != "encoder_calibration"}
    return params


def _study_file(given: str | Path | None, recorded: str | None, what: str, option: str) -> Path:
    """The file ``given`` on the command line, else the one the study recorded; it must exist."""
    source = Path(given) if given else (Path(recorded) if recorded else None)
    if source is None or not source.exists():
        where = f" ({source} is gone)" if source else ""
        raise ConfigError(f"the study's {what} file is not available{where}; pass it with {option}")
    return source


def _export_interactions(
    study: Study,
    key: str,
    out: str | Path,
    *,
    data: str | Path | None,
    test: str | Path | None,
    items: str | Path | None,
) -> Path:
    """``export_model`` for a strategy that takes interactions: every interaction, the items
    file."""
    import pandas as pd

    from crossover.strategies import registry
    from crossover.strategies.recsys._base import RecsysStrategy
    from crossover.tasks.recommendation.compare import read_and_prepare

    if test is not None:
        raise ConfigError(
            "--test is for classification studies; a recommendation study "
            "takes --data FILE (interactions) and --items FILE"
        )
    paths = study.settings.get("data_paths") or {}
    source = _study_file(data, paths.get("data"), "interactions", "--data FILE")
    had_items = bool(study.spec.get("text_columns")) or bool(study.dataset.get("items_source"))
    items_path: Path | None = None
    if items is not None or had_items:
        items_path = _study_file(items, paths.get("items"), "items", "--items FILE")
    load_options = dict(study.settings.get("load") or {})
    load_options.pop("task", None)
    prepared = read_and_prepare(
        source, items_path, [], seed=int(study.settings.get("seed") or 0), **load_options
    )
    if prepared.fingerprint != study.dataset.get("fingerprint"):
        files = f"{source}" + (f" and {items_path}" if items_path is not None else "")
        raise DataError(
            f"{files}: the interactions or items differ from those the study measured "
            f"(fingerprint {prepared.fingerprint} against {study.dataset.get('fingerprint')}); "
            "compare again"
        )
    rows = pd.concat([prepared.train, prepared.test], ignore_index=True)
    board = next(r for r in study.leaderboard_results if r.trial.strategy == key)
    params = {k: v for k, v in board.trial.params.items() if k != "cache_dir"}
    fitted = registry.get(key)(**params)
    if not isinstance(fitted, RecsysStrategy):
        raise ConfigError(f"{key} is not a recommendation strategy; the study is corrupt")
    fitted.fit(rows, items=prepared.items)
    fitted.k = int(study.spec.get("k") or fitted.k)  # the request's default list length
    metrics = {
        "headline": study.headline,
        **{m: dict(v) for m, v in study.statistics.get(key, {}).items()},
        "measured_on": f"{study.split.get('test_rows')} held-out interactions of "
        f"{study.split.get('test_users')} test users",
    }
    trained_on = {
        "rows": len(rows),
        "interactions": len(rows),
        "users": int(rows["user"].nunique()),
        "items": len(prepared.catalogue),
        "data_fingerprint": prepared.fingerprint,
        "study_created_at": study.created_at,
    }
    return export_strategy(fitted, out, metrics=metrics, trained_on=trained_on)


def _export_series(
    study: Study,
    key: str,
    out: str | Path,
    *,
    data: str | Path | None,
    test: str | Path | None,
    items: str | Path | None,
) -> Path:
    """``export_model`` for a forecaster: the series read again as the study read them, the
    strategy fitted on the full history of every series (the backtest windows included) with
    the study's season, horizon and frequency."""
    from crossover.strategies import registry
    from crossover.strategies.forecast._base import ForecastStrategy
    from crossover.tasks.forecasting.evaluate import window_covariates
    from crossover.tasks.forecasting.series import read_series

    if test is not None or items is not None:
        given = "--test" if test is not None else "--items"
        raise ConfigError(
            f"{given} is not for forecasting studies; a forecasting study takes --data FILE "
            "(its series) only"
        )
    paths = study.settings.get("data_paths") or {}
    source = _study_file(data, paths.get("data"), "series", "--data FILE")
    spec = study.spec
    panel = read_series(
        source,
        id=spec.get("id"),
        time=spec.get("time"),
        target=spec.get("value"),
        horizon=int(spec["horizon"]),
        freq=spec.get("freq"),
        season=int(spec["season"]),
        windows=int(spec.get("windows") or 1),
        fill=str(spec.get("fill") or "interpolate"),
        strict=bool(spec.get("strict")),
        static=spec.get("static") or None,
        known=spec.get("known") or None,
    )
    if panel.fingerprint != study.dataset.get("fingerprint"):
        raise DataError(
            f"{source}: its series differ from those the study measured (fingerprint "
            f"{panel.fingerprint} against {study.dataset.get('fingerprint')}); compare again"
        )
    board = next(r for r in study.leaderboard_results if r.trial.strategy == key)
    params = {k: v for k, v in board.trial.params.items() if k != "cache_dir"}
    fitted = registry.get(key)(**params)
    if not isinstance(fitted, ForecastStrategy):
        raise ConfigError(f"{key} is not a forecasting strategy; the study is corrupt")
    ends = [len(s) for s in panel.series]
    fitted.fit(
        [s.values for s in panel.series],
        season=panel.season,
        horizon=panel.horizon,
        freq=panel.freq,
        # The full history's covariates (None without any): the model records their names,
        # which the manifest gives serving.
        covariates=window_covariates(panel, ends, ends),
    )
    split = study.split
    metrics = {
        "headline": study.headline,
        **{m: dict(v) for m, v in study.statistics.get(key, {}).items()},
        "measured_on": f"{split.get('windows')} backtest window(s) of {split.get('horizon')} "
        f"steps at the end of each of {split.get('series')} series",
    }
    lengths = panel.lengths
    trained_on = {
        "rows": int(lengths.sum()),
        "series": len(panel.series),
        "points_min": int(lengths.min()),
        "points_max": int(lengths.max()),
        "data_fingerprint": panel.fingerprint,
        "study_created_at": study.created_at,
    }
    return export_strategy(fitted, out, metrics=metrics, trained_on=trained_on)


#: How a study's strategy is trained again for export, by what it takes (``input_kind``); a
#: classifier's (texts or table rows) otherwise.
_RETRAIN: dict[str, _Retrain] = {
    "interactions": _export_interactions,
    "series": _export_series,
}


def _choose(
    study: Study, strategy: str | None, recommended: bool, scenario: str | Path | None
) -> str:
    board = [r.trial.strategy for r in study.leaderboard_results]
    if (strategy is None) == (not recommended):
        raise ConfigError("choose one: --strategy KEY or --recommended")
    if strategy is not None:
        if strategy not in board:
            raise ConfigError(
                f"strategy {strategy!r} is not in this study; it has {', '.join(board)}"
            )
        return strategy
    from crossover._api import decide

    _, recommendation = decide(study, scenario)
    if recommendation.choice is None:
        raise ConfigError(
            "the scenario's constraints leave no candidate to recommend; choose one with "
            "--strategy KEY or relax the scenario"
        )
    return recommendation.choice
