"""Model directories: a fitted strategy exported with everything it needs to answer requests.

Layout of ``MODEL_DIR``::

    manifest.json     format version, task, strategy key and kind, labels, input schema, the
                      study's metrics for it, library versions, creation time, and the SHA-256
                      of every other file
    strategy/         the strategy's own state (``Strategy.save``: JSON + skops files, and for
                      a fine-tuned encoder its safetensors folder)
    encoder/          for strategies built on a sentence-embedding model, a copy of that model
                      (safetensors weights, configuration, tokenizer): no download to serve it

A recommendation model (task ``recommendation``) has no labels and no ``encoder/``: its saved
state keeps the item vectors it ranks with. Its ``input_schema`` describes the request of
``POST /v1/recommend`` (a known ``user``, or the ``items`` of a session or a new user).

:func:`load_model` checks the format version and every hash first, refuses any file the
manifest does not list and any file in a pickle-based format, then compares the package
versions the manifest records with the running ones (``crossover.versions``: a warning for
another major or minor version, a refusal where loading would be wrong), and only then reads
the weights (skops with an explicit trust list, safetensors). Nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover.errors import ConfigError, DataError, ModelError
from crossover.versions import check_versions, installed_versions

if TYPE_CHECKING:
    from crossover.strategies.base import Strategy
    from crossover.strategies.recsys._base import RecsysStrategy
    from crossover.study import Study

__all__ = [
    "FORMAT_VERSION",
    "RECOMMEND_MAX_K",
    "LoadedModel",
    "export_model",
    "export_strategy",
    "load_model",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Weight formats that can execute code when read; never written, never read.
UNSAFE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".bin", ".pt", ".pth", ".ckpt", ".h5"})
_ENCODER_SUFFIXES = frozenset({".safetensors", ".json", ".txt", ".model", ".md"})
RECOMMENDATION = "recommendation"
#: The longest list a recommendation request may ask for (``k``).
RECOMMEND_MAX_K = 100


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _copy_encoder(source: Path, target: Path) -> None:
    """Copy a sentence-embedding model folder, safe formats only."""
    copied = 0
    for path in _files(source):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts):
            continue  # caches and lock files of the hub client
        if path.suffix in UNSAFE_SUFFIXES:
            continue  # a pickle-based duplicate of the weights; safetensors is required below
        if path.suffix not in _ENCODER_SUFFIXES and path.name not in ("LICENSE", "README"):
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
            resolved = strategy._embedder().resolved
            _copy_encoder(resolved.path, staging / "encoder")
            encoder = {"id": strategy.model, "format": resolved.format, "path": "encoder"}
        unsafe = [p for p in _files(staging) if p.suffix in UNSAFE_SUFFIXES]
        if unsafe:
            raise ModelError(f"{strategy.key} wrote {unsafe[0].name}: not a safe weight format")
        manifest = {
            "format_version": FORMAT_VERSION,
            "task": strategy.task,
            "strategy": strategy.key,
            "kind": strategy.kind,
            "summary": strategy.summary,
            "labels": [str(c) for c in strategy.classes_],
            "has_proba": bool(strategy.has_proba),
            "input_schema": _input_schema(strategy),
            "embedding_model": encoder,
            "metrics": metrics or {},
            "trained_on": trained_on or {},
            "versions": installed_versions(strategy.requirements()),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {p.relative_to(staging).as_posix(): _sha256(p) for p in _files(staging)},
        }
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
    """JSON Schema of one input: a text, a table row with every input column, or for a
    recommendation model one recommend request."""
    if strategy.task == RECOMMENDATION:
        return _recommend_schema(int(getattr(strategy, "k", 10)))
    schema_of = getattr(strategy, "input_schema", None)
    if strategy.input_kind == "table" and schema_of is not None:
        kinds: dict[str, str] = schema_of()
        return {
            "type": "object",
            "properties": {c: {**_JSON_TYPES[k], "x-kind": k} for c, k in kinds.items()},
            "required": list(kinds),
            "additionalProperties": False,
            "description": "one table row: every input column (null for a missing value)",
        }
    return {
        "type": "object",
        "properties": {"text": {"type": "string", "minLength": 1}},
        "required": ["text"],
        "description": "one text to classify",
    }


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


class LoadedModel:
    """A model directory, verified and loaded: what ``crossover serve`` answers with."""

    def __init__(self, directory: Path, manifest: dict[str, Any], strategy: Strategy) -> None:
        self.directory = directory
        self.manifest = manifest
        self.strategy = strategy
        self.labels: list[str] = [str(c) for c in strategy.classes_]
        #: Packages (or Python) in another major or minor version than at export, one line each.
        self.version_warnings: list[str] = []
        self.has_proba = bool(strategy.has_proba)
        encoder = manifest.get("embedding_model") or None
        self.embedding_model: str | None = encoder["id"] if encoder else None
        self._encoder_path = directory / encoder["path"] if encoder else None

    def predict(self, texts: Any) -> list[str]:
        """Labels, one per input: ``texts`` is a list of texts, or for a table model
        (``input_kind == "table"``) a pandas DataFrame of rows with every input column."""
        return [str(v) for v in self.strategy.predict(texts)]

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Class probabilities, one row per input (texts or DataFrame rows, as ``predict``),
        columns in the order of ``labels``."""
        if not self.has_proba:
            raise ModelError(f"{self.manifest['strategy']} gives no class probabilities")
        return np.asarray(self.strategy.predict_proba(texts), dtype=np.float64)

    # ----- recommendation models (task "recommendation") -----

    @property
    def task(self) -> str:
        return str(self.manifest.get("task") or self.strategy.task)

    @property
    def recommends(self) -> bool:
        """Whether this is a recommendation model (``recommend``) rather than a classifier."""
        return self.task == RECOMMENDATION

    def _recommender(self) -> RecsysStrategy:
        from crossover.strategies.recsys._base import RecsysStrategy

        if not isinstance(self.strategy, RecsysStrategy):
            raise ModelError(
                f"{self.manifest['strategy']} classifies; it does not recommend (use predict)"
            )
        return self.strategy

    @property
    def default_k(self) -> int:
        """The list length a request gets when it names none (the study's k)."""
        schema = self.manifest.get("input_schema") or {}
        k = (schema.get("properties") or {}).get("k", {}).get("default")
        return int(k) if isinstance(k, int) and 1 <= k <= RECOMMEND_MAX_K else 10

    @property
    def catalogue(self) -> list[str]:
        """Every item id a recommendation model can return."""
        return self._recommender().catalogue

    def knows_user(self, user: Any) -> bool:
        """Whether ``user`` (compared as text) had training interactions."""
        return self._recommender().knows_user(str(user))

    def knows_item(self, item: Any) -> bool:
        """Whether ``item`` (compared as text) is in the catalogue."""
        return self._recommender().knows_item(str(item))

    def recommend(self, user: Any, k: int = 10, exclude: Any = ()) -> list[str]:
        """A known user's top ``k`` item ids, best first: their training items and
        ``exclude`` left out. ``DataError`` for a user without training interactions."""
        model = self._recommender()
        user = str(user)
        if not model.knows_user(user):
            raise DataError(
                f"user {user!r} has no history in the model; recommend from their items instead"
            )
        hidden = {str(i) for i in exclude}
        unknown = [i for i in hidden if not model.knows_item(i)]
        if unknown:
            raise DataError(f"unknown item id(s) in exclude: {', '.join(sorted(unknown)[:5])}")
        ranked = model.recommend([user], k=k + len(hidden))[user]
        return [i for i in ranked if i not in hidden][:k]

    def recommend_items(self, items: Any, k: int = 10, exclude: Any = ()) -> list[str]:
        """The top ``k`` item ids for a session or a new user who interacted with ``items``
        (those and ``exclude`` left out); ``DataError`` naming ids not in the catalogue."""
        return self._recommender().recommend_items(
            [str(i) for i in items], k=k, exclude=[str(i) for i in exclude]
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings from the model's own encoder (normalised as the model does)."""
        if self._encoder_path is None:
            raise ModelError(f"{self.manifest['strategy']} is not built on an embedding model")
        from crossover.models import get_embedder

        embedder = get_embedder(str(self._encoder_path), use_cache=False)
        return np.asarray(embedder.encode(texts, use_cache=False), dtype=np.float32)

    def __repr__(self) -> str:
        if self.recommends:
            return f"LoadedModel({self.manifest['strategy']!r}, {len(self.catalogue)} items)"
        return f"LoadedModel({self.manifest['strategy']!r}, {len(self.labels)} labels)"


def _read_manifest(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model folder")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise ModelError(f"{directory}: no {MANIFEST}; not a crossover model folder") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}/{MANIFEST} is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise ModelError(
            f"{directory}: model format version {found!r} is unknown (this crossover reads "
            f"{FORMAT_VERSION}); export the model again with this version"
        )
    return manifest


def verify(directory: str | Path) -> dict[str, Any]:
    """Check the manifest, every listed hash, and that nothing unlisted or unsafe is there."""
    directory = Path(directory)
    manifest = _read_manifest(directory)
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed:
        raise ModelError(f"{directory}/{MANIFEST} lists no files")
    present = {p.relative_to(directory).as_posix() for p in _files(directory)} - {MANIFEST}
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise ModelError(f"{directory}: {unlisted[0]} is not in the manifest; refusing the folder")
    for name, expected in listed.items():
        path = directory / name
        if Path(name).suffix in UNSAFE_SUFFIXES:
            raise ModelError(f"{directory}: {name} is a pickle-based format; refusing the folder")
        if not path.is_file():
            raise ModelError(f"{directory}: {name} is missing; the folder is incomplete")
        if _sha256(path) != expected:
            raise ModelError(
                f"{directory}: {name} does not match its SHA-256 in the manifest "
                "(changed or truncated); refusing the folder"
            )
    return manifest


def load_model(directory: str | Path) -> LoadedModel:
    """Verify ``directory`` (see :func:`verify`) and load it; a ``ModelError`` otherwise."""
    from crossover.strategies.base import Strategy

    directory = Path(directory)
    manifest = verify(directory)
    recorded = manifest.get("versions")
    versions = check_versions(recorded if isinstance(recorded, dict) else {}, where=str(directory))
    if versions.refusals:
        raise ModelError("; ".join(versions.refusals))
    for warning in versions.warnings:
        logger.warning(warning)
    overrides: dict[str, Any] = {}
    encoder = manifest.get("embedding_model")
    if encoder:
        # No embedding cache when serving: request texts must not be written to disk.
        overrides = {
            "model": str(directory / encoder["path"]),
            "cache_dir": None,
            "use_cache": False,
        }
    try:
        strategy = Strategy.load(directory / "strategy", overrides=overrides)
    except (ConfigError, DataError) as exc:
        raise ModelError(f"{directory}: cannot load the strategy ({exc})") from exc
    if strategy.key != manifest.get("strategy"):
        raise ModelError(f"{directory}: holds {strategy.key}, manifest says {manifest['strategy']}")
    loaded = LoadedModel(directory, manifest, strategy)
    loaded.version_warnings = versions.warnings
    return loaded


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

    For a ``recommendation`` study, ``data`` is the interactions file and ``items`` the items
    file (each only when it moved); the strategy is trained on every interaction, held-out
    ones included.
    """
    from crossover.data import load
    from crossover.strategies import registry
    from crossover.study import load_study

    study_dir = Path(study_dir)
    study_path = study_dir / "study.json" if study_dir.is_dir() else study_dir
    study = load_study(study_path)
    key = _choose(study, strategy, recommended, scenario)
    if study.task == RECOMMENDATION:
        if test is not None:
            raise ConfigError(
                "--test is for classification studies; a recommendation study "
                "takes --data FILE (interactions) and --items FILE"
            )
        return _export_recommendation(study, key, out, data=data, items=items)
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
    dataset = load(
        source,
        text=None if is_table else spec["inputs"][0],
        label=spec["target"],
        test=test_path,
        label_descriptions=spec.get("label_descriptions"),
        task=spec.get("task", "text-classification"),
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
    params = {k: v for k, v in board.trial.params.items() if k != "cache_dir"}
    fitted = registry.get(key)(**params).fit(
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


def _study_file(given: str | Path | None, recorded: str | None, what: str, option: str) -> Path:
    """The file ``given`` on the command line, else the one the study recorded; it must exist."""
    source = Path(given) if given else (Path(recorded) if recorded else None)
    if source is None or not source.exists():
        where = f" ({source} is gone)" if source else ""
        raise ConfigError(f"the study's {what} file is not available{where}; pass it with {option}")
    return source


def _export_recommendation(
    study: Study,
    key: str,
    out: str | Path,
    *,
    data: str | Path | None,
    items: str | Path | None,
) -> Path:
    """``export_model`` for a recommendation study: every interaction, the items file."""
    import pandas as pd

    from crossover.strategies import registry
    from crossover.strategies.recsys._base import RecsysStrategy
    from crossover.tasks.recommendation.compare import read_and_prepare

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
