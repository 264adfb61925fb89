"""Reading a model directory: verify it, check the versions, load the strategy.

This is the half of ``crossover.artifacts`` that serving uses, so it imports nothing of the
training side (export, studies, evaluation); ``crossover.artifacts.export`` writes the folders.

:func:`load_model` reads nothing but ``manifest.json`` until the folder is verified
(:func:`verify`):

1. the manifest: a JSON object of the current format version, every key of the right type
   (a malformed one is refused naming the key), and its own digest, ``manifest_sha256`` (the
   SHA-256 of its canonical JSON without that key, :func:`manifest_digest`), matches: any edit
   after export is refused;
2. every path it names (each ``files`` entry, ``embedding_model.path``) is relative, has no
   ``..``, and resolves (links followed) inside the folder;
3. everything in the folder is a listed regular file (or a folder, or a link that stays
   inside): an unlisted file, a link leading out, a fifo or a device is refused; no listed
   file is in a pickle-based format, and the encoder folder holds only its safe formats;
4. every listed file matches its SHA-256: the strategy's state and every file of the encoder
   (weights, tokenizer, configuration) alike.

It then compares the package versions the manifest records with the running ones
(``crossover.versions``: a warning for another major or minor version, a refusal where loading
would be wrong), and only then reads the weights (skops with an explicit trust list,
safetensors), the encoder from the folder alone (``crossover.models.confined_to``). Nothing is
unpickled.

A folder of format version 1 (exported before these checks) is refused with the command that
exports it again: its manifest is not covered, and its encoder path was trusted as written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover._files import sha256_file
from crossover.errors import ConfigError, DataError, ModelError
from crossover.versions import check_versions

if TYPE_CHECKING:
    from crossover.strategies.base import Strategy
    from crossover.strategies.forecast._base import Forecast, ForecastStrategy
    from crossover.strategies.recsys._base import RecsysStrategy

__all__ = [
    "ENCODER_NAMES",
    "ENCODER_SUFFIXES",
    "FORECAST_MAX_HORIZON",
    "FORECAST_MAX_POINTS",
    "FORMAT_VERSION",
    "MANIFEST",
    "MANIFEST_DIGEST",
    "RECOMMEND_MAX_K",
    "RUNTIME_SUFFIXES",
    "UNSAFE_SUFFIXES",
    "LoadedModel",
    "input_kind",
    "load_model",
    "manifest_digest",
    "verify",
]

logger = logging.getLogger(__name__)

#: 2: the manifest covers itself (``manifest_sha256``) and every path in it stays in the folder.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
#: The manifest's key for its own digest (see :func:`manifest_digest`).
MANIFEST_DIGEST = "manifest_sha256"
#: Weight formats that can execute code when read; never written, never read.
UNSAFE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".bin", ".pt", ".pth", ".ckpt", ".h5"})
#: What a copied encoder folder may hold: safetensors weights, JSON configuration, tokenizer
#: files (vocabularies, sentencepiece models), its model card and licence.
ENCODER_SUFFIXES = frozenset({".safetensors", ".json", ".txt", ".model", ".md"})
ENCODER_NAMES = frozenset({"LICENSE", "README"})
#: What the encoder's converted copy (``encoder/runtimes/<setting>/``: ONNX Runtime or
#: OpenVINO, ``crossover.models.runtimes``) may hold besides: an ONNX graph with its weights
#: (protobuf, no code), an OpenVINO graph (XML) and its raw weights.
RUNTIME_SUFFIXES = frozenset({".onnx", ".xml", ".weights", ".json"})
#: A manifest is a few KB (a few MB with a long label list); anything far larger is not one.
_MANIFEST_MAX_BYTES = 64 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REEXPORT = (
    "export the model again (crossover export STUDY_DIR --recommended --out NEW_DIR, "
    "or --strategy KEY)"
)
#: The longest list a recommend request may ask for (``k``).
RECOMMEND_MAX_K = 100
#: The most steps a forecast request may ask for (``horizon``): beyond the study's horizon
#: nothing was measured, and a few hundred steps is already years of monthly data.
FORECAST_MAX_HORIZON = 500
#: The most points of history a forecast request may send per series (a model fitted per
#: series fits on all of them, in the request's time).
FORECAST_MAX_POINTS = 100_000


_sha256 = sha256_file  # export hashes the files it writes with the same function


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


class LoadedModel:
    """A model directory, verified and loaded: what ``crossover serve`` answers with."""

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        strategy: Strategy,
        *,
        version_warnings: list[str] | None = None,
        encoder_path: Path | None = None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.strategy = strategy
        self.labels: list[str] = [str(c) for c in strategy.classes_]
        #: What the model takes: "text", "table" (rows), "image", "interactions" (it
        #: recommends) or "series" (it forecasts).
        #: A folder exported before the manifest recorded it takes what its strategy takes.
        recorded = manifest.get("input_kind")
        self.input_kind: str = (
            recorded if isinstance(recorded, str) and recorded else str(strategy.input_kind)
        )
        #: Packages (or Python) in another major or minor version than at export, one line each.
        self.version_warnings: list[str] = list(version_warnings or [])
        self.has_proba = bool(strategy.has_proba)
        encoder = manifest.get("embedding_model") or None
        self.embedding_model: str | None = str(encoder["id"]) if encoder else None
        #: The encoder folder inside the model folder, as verified (``load_model`` gives it).
        self._encoder_path = encoder_path if encoder else None

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

    # ----- models that rank items from interactions (input_kind "interactions") -----

    @property
    def task(self) -> str:
        return str(self.manifest.get("task") or self.strategy.task)

    @property
    def recommends(self) -> bool:
        """Whether this model recommends (``recommend``) rather than classifies: it takes
        interactions."""
        return self.input_kind == "interactions"

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

    # ----- models that forecast series (input_kind "series") -----

    @property
    def forecasts(self) -> bool:
        """Whether this model forecasts series (``forecast``): it takes series."""
        return self.input_kind == "series"

    def _forecaster(self) -> ForecastStrategy:
        from crossover.strategies.forecast._base import ForecastStrategy

        if not isinstance(self.strategy, ForecastStrategy):
            raise ModelError(f"{self.manifest['strategy']} does not forecast series")
        return self.strategy

    @property
    def default_horizon(self) -> int:
        """The steps a forecast request gets when it names none (the study's horizon)."""
        return int(self._forecaster().horizon_)

    @property
    def freq(self) -> str | None:
        """The series' frequency (a pandas alias such as ``"MS"``), None for whole-number
        steps without a calendar."""
        return self._forecaster().freq_

    @property
    def season(self) -> int:
        """The season length in steps (1: none)."""
        return int(self._forecaster().season_)

    @property
    def min_history(self) -> int:
        """The fewest points of history the model forecasts a series from."""
        return int(self._forecaster().min_history())

    @property
    def quantile_levels(self) -> list[float]:
        """The levels of ``forecast``'s quantiles (0.1 ... 0.9); empty for a model without."""
        from crossover.strategies.forecast._base import QUANTILES

        return list(QUANTILES) if self._forecaster().has_quantiles else []

    @property
    def static_names(self) -> list[str]:
        """The static covariates the model was fitted with (each request series sends them)."""
        return list(self._forecaster().static_names_)

    @property
    def known_names(self) -> list[str]:
        """The covariates known in advance the model was fitted with (each request series
        sends them for its history and the steps forecast)."""
        return list(self._forecaster().known_names_)

    def forecast(
        self,
        histories: Any,
        horizon: int | None = None,
        *,
        static: Any = None,
        known: Any = None,
    ) -> Forecast:
        """The next ``horizon`` steps (default: the study's) after each history (a list of
        sequences of finite numbers, oldest first): ``mean`` (series, horizon) and
        ``quantiles`` (series, horizon, 9) or None. A model fitted with covariates takes
        them per series: ``static`` (name -> value) and ``known`` (name -> one value per
        history point and step forecast), one mapping per history."""
        model = self._forecaster()
        if not (model.static_names_ or model.known_names_):
            return model.forecast(histories, horizon)
        from crossover.strategies.forecast._base import Covariates

        covariates = Covariates.of(
            static=static,
            known=known,
            static_names=model.static_names_,
            known_names=model.known_names_,
        )
        return model.forecast(histories, horizon, covariates=covariates)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings from the model's own encoder (normalised as the model does)."""
        if self._encoder_path is None:
            raise ModelError(f"{self.manifest['strategy']} is not built on an embedding model")
        from crossover.models import get_embedder

        # As the strategy runs it (its encoder setting: the converted copy in the folder).
        embedder = get_embedder(
            str(self._encoder_path),
            use_cache=False,
            encoder=getattr(self.strategy, "encoder", "torch-fp32"),
            calibration=getattr(self.strategy, "encoder_calibration", None),
        )
        return np.asarray(embedder.encode(texts, use_cache=False), dtype=np.float32)

    def __repr__(self) -> str:
        if self.recommends:
            return f"LoadedModel({self.manifest['strategy']!r}, {len(self.catalogue)} items)"
        if self.forecasts:
            return f"LoadedModel({self.manifest['strategy']!r}, horizon {self.default_horizon})"
        return f"LoadedModel({self.manifest['strategy']!r}, {len(self.labels)} labels)"


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``manifest``'s canonical JSON, its ``manifest_sha256`` left out:
    keys sorted, no whitespace (``separators=(",", ":")``), non-ASCII escaped. Export stores
    it under ``manifest_sha256``; loading recomputes it from the parsed file."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON readers disagree on which of two equal keys wins: a manifest has none.
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} appears twice")
        found[key] = value
    return found


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _confined(directory: Path, root: Path, key: str, value: Any) -> Path:
    """``root / value`` resolved (links followed), for a path the manifest names under ``key``;
    a ``ModelError`` naming both unless it is relative, canonical (no ``.`` or ``..``, no
    empty part), free of backslashes and NUL, and resolves inside ``root``."""
    where = f"{directory}/{MANIFEST}: {key} {value!r}"
    if not isinstance(value, str) or not value:
        raise ModelError(f"{where} is not a path inside the folder; {_REEXPORT}")
    pure = PurePosixPath(value)
    if pure.is_absolute() or PureWindowsPath(value).anchor:
        raise ModelError(
            f"{where} is an absolute path; a model folder names only paths inside itself. "
            f"Refusing the folder: {_REEXPORT}"
        )
    if ".." in pure.parts:
        raise ModelError(
            f"{where} has a '..' component (it would lead out of the folder). "
            f"Refusing the folder: {_REEXPORT}"
        )
    if "\\" in value or "\0" in value or pure.as_posix() != value or value == ".":
        raise ModelError(
            f"{where} is not a plain relative path (no '.', '//', backslash or NUL). "
            f"Refusing the folder: {_REEXPORT}"
        )
    resolved = (root / pure).resolve()
    if not _inside(root, resolved):
        raise ModelError(
            f"{where} leads out of the folder (through a link, to {resolved}). "
            f"Refusing the folder: {_REEXPORT}"
        )
    return resolved


def _describe(value: Any) -> str:
    return type(value).__name__ if value is not None else "null"


#: The manifest's keys and their JSON types; the first four every manifest has. Keys that
#: folders of an earlier export may lack (``loader``, ``input_kind``) are optional here, and
#: typed when present; unknown keys are kept (a later crossover may add some).
_REQUIRED: dict[str, tuple[type, ...]] = {
    "format_version": (int,),
    MANIFEST_DIGEST: (str,),
    "strategy": (str,),
    "files": (dict,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "task": (str,),
    "input_kind": (str,),
    "loader": (str,),
    "kind": (str,),
    "summary": (str,),
    "labels": (list,),
    "has_proba": (bool,),
    "input_schema": (dict,),
    "forecast": (dict,),
    "embedding_model": (dict, type(None)),
    "metrics": (dict,),
    "trained_on": (dict,),
    "versions": (dict,),
    "created_at": (str,),
}


def _check_keys(directory: Path, manifest: dict[str, Any]) -> None:
    """A ``ModelError`` naming the first key that is missing or of the wrong type."""
    where = f"{directory}/{MANIFEST}"
    for key in _REQUIRED:
        if key not in manifest:
            raise ModelError(
                f"{where} has no {key!r}: not a complete crossover manifest; {_REEXPORT}"
            )
    for key, types in {**_REQUIRED, **_OPTIONAL}.items():
        value = manifest.get(key)
        # bool is an int to Python, never to a manifest.
        wrong = isinstance(value, bool) and bool not in types
        if key in manifest and (wrong or not isinstance(value, types)):
            expected = " or ".join("null" if t is type(None) else _JSON_NAMES[t] for t in types)
            raise ModelError(
                f"{where}: {key!r} must be {expected}, not {_describe(value)}; {_REEXPORT}"
            )
    if not manifest["strategy"]:
        raise ModelError(f"{where}: 'strategy' is empty; {_REEXPORT}")
    labels = manifest.get("labels")
    if labels is not None and not all(isinstance(label, str) for label in labels):
        raise ModelError(f"{where}: 'labels' must be a list of strings; {_REEXPORT}")
    if not manifest["files"]:
        raise ModelError(f"{where} lists no files; {_REEXPORT}")
    for name, digest in manifest["files"].items():
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ModelError(
                f"{where}: files[{name!r}] must be a SHA-256 in hex, not {digest!r}; {_REEXPORT}"
            )
    encoder = manifest.get("embedding_model")
    if encoder is not None:
        for key in ("id", "path"):
            value = encoder.get(key)
            if not isinstance(value, str) or not value:
                found = "missing" if key not in encoder else f"{_describe(value)} {value!r}"
                raise ModelError(
                    f"{where}: 'embedding_model.{key}' must be a non-empty string, not "
                    f"{found}; {_REEXPORT}"
                )


_JSON_NAMES: dict[type, str] = {
    int: "an integer",
    str: "a string",
    dict: "an object",
    list: "a list",
    bool: "true or false",
}


def _read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of ``directory``, checked: a JSON object of this format version, every
    key of its type, and unchanged since export (its digest). Nothing else is read."""
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model folder")
    root = directory.resolve()
    path = root / MANIFEST
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise ModelError(f"{directory}: no {MANIFEST}; not a crossover model folder") from None
    except OSError as exc:
        raise ModelError(f"{directory}/{MANIFEST} is not readable ({exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(
            f"{directory}/{MANIFEST} is not a regular file (a link, a folder or a device); "
            f"refusing the folder: {_REEXPORT}"
        )
    if info.st_size > _MANIFEST_MAX_BYTES:
        raise ModelError(f"{directory}/{MANIFEST} is {info.st_size} bytes: not a manifest")
    try:
        manifest = json.loads(path.read_bytes(), object_pairs_hook=_no_duplicate_keys)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}/{MANIFEST} is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelError(
            f"{directory}/{MANIFEST} is not a JSON object but {_describe(manifest)}; {_REEXPORT}"
        )
    found = manifest.get("format_version")
    if found == 1 and not isinstance(found, bool):
        raise ModelError(
            f"{directory} was exported by an earlier crossover (model format version 1), before "
            "model folders covered their manifest and confined their paths; this crossover "
            f"reads version {FORMAT_VERSION} only: {_REEXPORT}"
        )
    if found != FORMAT_VERSION or isinstance(found, bool):
        raise ModelError(
            f"{directory}: model format version {found!r} is unknown (this crossover reads "
            f"{FORMAT_VERSION}); export the model again with this version"
        )
    _check_keys(directory, manifest)
    if manifest_digest(manifest) != manifest[MANIFEST_DIGEST]:
        raise ModelError(
            f"{directory}/{MANIFEST} was modified after export (its content no longer matches "
            f"its {MANIFEST_DIGEST}); refusing the folder: {_REEXPORT}"
        )
    return manifest


def _present(directory: Path, root: Path) -> set[str]:
    """Every file in the folder, by its path relative to ``root``; a ``ModelError`` for a
    link leading out of it (or nowhere) and for anything neither a file nor a folder."""
    present: set[str] = set()

    def unreadable(exc: OSError) -> None:
        raise ModelError(f"{directory}: {exc.filename} cannot be read ({exc.strerror or exc})")

    # Links are listed, never followed; a folder that cannot be listed is an error, not skipped.
    for top, folders, names in os.walk(root, onerror=unreadable):
        for name in folders + names:
            path = Path(top) / name
            relative = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = path.resolve()
                if not _inside(root, target):
                    raise ModelError(
                        f"{directory}: {relative} is a link leading out of the folder (to "
                        f"{target}); refusing the folder: {_REEXPORT}"
                    )
                if not target.exists():
                    raise ModelError(f"{directory}: {relative} is a broken link; {_REEXPORT}")
                if target.is_file():
                    present.add(relative)
            elif stat.S_ISREG(mode):
                present.add(relative)
            elif not stat.S_ISDIR(mode):
                raise ModelError(
                    f"{directory}: {relative} is not a regular file (a fifo, socket or device); "
                    f"refusing the folder: {_REEXPORT}"
                )
    return present


def _encoder_dir(directory: Path, root: Path, manifest: dict[str, Any]) -> Path | None:
    """The folder of the model's own encoder (resolved, inside ``root``), None without one."""
    encoder = manifest.get("embedding_model")
    if encoder is None:
        return None
    path = _confined(directory, root, "embedding_model.path", encoder["path"])
    if path == root or not path.is_dir():
        raise ModelError(
            f"{directory}/{MANIFEST}: embedding_model.path {encoder['path']!r} is not a folder "
            f"inside the model folder; {_REEXPORT}"
        )
    return path


def verify(directory: str | Path) -> dict[str, Any]:
    """Check ``directory`` as :func:`load_model` does before reading any weight (the module
    docstring lists the checks) and return its manifest; a ``ModelError`` that names the key,
    the path or the file otherwise."""
    directory = Path(directory)
    manifest = _read_manifest(directory)
    root = directory.resolve()
    listed: dict[str, str] = manifest["files"]
    paths = {name: _confined(directory, root, "files entry", name) for name in listed}
    encoder = _encoder_dir(directory, root, manifest)
    unlisted = sorted(_present(directory, root) - set(listed) - {MANIFEST})
    if unlisted:
        raise ModelError(f"{directory}: {unlisted[0]} is not in the manifest; refusing the folder")
    for name, expected in sorted(listed.items()):
        path = paths[name]
        if PurePosixPath(name).suffix in UNSAFE_SUFFIXES:
            raise ModelError(f"{directory}: {name} is a pickle-based format; refusing the folder")
        if (
            encoder is not None
            and encoder in path.parents
            and path.suffix not in ENCODER_SUFFIXES
            and path.name not in ENCODER_NAMES
            and not (encoder / "runtimes" in path.parents and path.suffix in RUNTIME_SUFFIXES)
        ):
            raise ModelError(
                f"{directory}: {name} is not a file an exported encoder holds (safetensors, "
                "JSON, tokenizer files; ONNX or OpenVINO files under runtimes/); refusing the "
                "folder"
            )
        if not path.exists():
            raise ModelError(f"{directory}: {name} is missing; the folder is incomplete")
        if not stat.S_ISREG(path.stat().st_mode):
            raise ModelError(f"{directory}: {name} is not a regular file; refusing the folder")
        try:
            digest = _sha256(path)
        except OSError as exc:
            reason = exc.strerror or exc
            raise ModelError(f"{directory}: {name} cannot be read ({reason})") from None
        if digest != expected:
            raise ModelError(
                f"{directory}: {name} does not match its SHA-256 in the manifest "
                "(changed or truncated); refusing the folder"
            )
    return manifest


#: Loaders a manifest may name: the built-in strategies' modules. A third party's strategy is
#: found through the registry (its entry point) instead.
_LOADER_PREFIX = "crossover.strategies."


def _strategy_class(directory: Path, manifest: dict[str, Any]) -> type[Strategy]:
    """The class the manifest's ``loader`` names, importing its module alone; ``Strategy``
    itself (which asks the registry, importing every strategy) for a folder that names none
    or names a module outside crossover's strategies."""
    import importlib

    from crossover.strategies.base import Strategy

    loader = manifest.get("loader")
    if not isinstance(loader, str) or not loader.startswith(_LOADER_PREFIX):
        return Strategy
    module, _, name = loader.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"{directory}: its loader {loader} cannot be imported ({exc})") from exc
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ModelError(f"{directory}: its loader {loader} is not a strategy")
    if cls.key != manifest.get("strategy"):
        raise ModelError(
            f"{directory}: its loader {loader} reads {cls.key}, manifest says "
            f"{manifest.get('strategy')}"
        )
    return cls


def input_kind(manifest: dict[str, Any]) -> str:
    """What the model of ``manifest`` takes: "text", "table" or "interactions".

    The manifest's ``input_kind``; for a folder exported before the manifest recorded it, the
    ``input_kind`` of the strategy class its ``loader`` names (or, for a loader outside
    crossover's strategies, the registry's class of its key). "text" when neither says (a
    manifest that names no strategy), or when the class cannot be found: loading the folder
    then says why.
    """
    recorded = manifest.get("input_kind")
    if isinstance(recorded, str) and recorded:
        return recorded
    if not manifest.get("loader") and not manifest.get("strategy"):
        return "text"
    from crossover.strategies.base import Strategy

    try:
        cls = _strategy_class(Path("."), manifest)
        if cls is Strategy:  # no loader, or a third party's: the registry knows its key
            from crossover.strategies.registry import registry

            cls = registry.get(str(manifest.get("strategy")))
    except (ConfigError, ModelError):
        return "text"
    return str(cls.input_kind)


def load_model(directory: str | Path) -> LoadedModel:
    """Verify ``directory`` (see :func:`verify`) and load it; a ``ModelError`` otherwise.

    Only the module of the strategy the manifest's ``loader`` names is imported, and an
    encoder is read from the folder's own copy alone: while the strategy loads, a model id or
    a path outside the folder is refused (``crossover.models.confined_to``), and a loaded
    strategy that would encode with anything but that copy is refused too."""
    from crossover.models._resolve import confined_to

    directory = Path(directory)
    manifest = verify(directory)
    root = directory.resolve()
    encoder_path = _encoder_dir(directory, root, manifest)
    recorded = manifest.get("versions")
    versions = check_versions(recorded if isinstance(recorded, dict) else {}, where=str(directory))
    if versions.refusals:
        raise ModelError("; ".join(versions.refusals))
    for warning in versions.warnings:
        logger.warning(warning)
    overrides: dict[str, Any] = {}
    if encoder_path is not None:
        # No embedding cache when serving: request texts must not be written to disk.
        overrides = {"model": str(encoder_path), "cache_dir": None, "use_cache": False}
    elif input_kind(manifest) == "image":
        # Nor a features cache: request images must not be written to disk either.
        overrides = {"cache_dir": None, "use_cache": False}
    try:
        with confined_to(root):
            strategy = _strategy_class(directory, manifest).load(
                root / "strategy", overrides=overrides
            )
    except (ConfigError, DataError) as exc:
        raise ModelError(f"{directory}: cannot load the strategy ({exc})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        # The saved state is hashed, so it is as exported; a crossover that wrote it
        # differently (or a hand-made folder) must still fail in one line.
        raise ModelError(
            f"{directory}: cannot load the strategy: its saved state is malformed "
            f"({type(exc).__name__}: {exc}); {_REEXPORT}"
        ) from exc
    if strategy.key != manifest["strategy"]:
        raise ModelError(f"{directory}: holds {strategy.key}, manifest says {manifest['strategy']}")
    _check_encoder_use(directory, strategy, encoder_path)
    return LoadedModel(
        directory,
        manifest,
        strategy,
        version_warnings=versions.warnings,
        encoder_path=encoder_path,
    )


def _check_encoder_use(directory: Path, strategy: Strategy, encoder_path: Path | None) -> None:
    """Refuse a loaded strategy that would encode with another model than the folder's copy
    (its saved ``model`` naming a hub id or a path elsewhere, its manifest naming no copy)."""
    embedding = sys.modules.get("crossover.strategies.text._embedding")
    if embedding is None:
        return  # not imported, so no strategy of it was loaded (nor is it imported for this)
    if not isinstance(strategy, embedding.EmbeddingStrategy):
        return
    used = strategy.embedding_model()
    if used and used != (str(encoder_path) if encoder_path is not None else None):
        raise ModelError(
            f"{directory}: {strategy.key} would encode with {used}, which is not the copy of its "
            f"encoder in the folder (the manifest's embedding_model); {_REEXPORT}"
        )
