"""Reading a model directory: verify it, check the versions, load the strategy.

This is the half of ``crossover.artifacts`` that serving uses, so it imports nothing of the
training side (export, studies, evaluation); ``crossover.artifacts.export`` writes the folders.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover.errors import ConfigError, DataError, ModelError
from crossover.versions import check_versions

if TYPE_CHECKING:
    from crossover.strategies.base import Strategy
    from crossover.strategies.recsys._base import RecsysStrategy

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "RECOMMEND_MAX_K",
    "UNSAFE_SUFFIXES",
    "LoadedModel",
    "input_kind",
    "load_model",
    "verify",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Weight formats that can execute code when read; never written, never read.
UNSAFE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".bin", ".pt", ".pth", ".ckpt", ".h5"})
#: The longest list a recommend request may ask for (``k``).
RECOMMEND_MAX_K = 100


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.strategy = strategy
        self.labels: list[str] = [str(c) for c in strategy.classes_]
        #: What the model takes: "text", "table" (rows) or "interactions" (it recommends).
        #: A folder exported before the manifest recorded it takes what its strategy takes.
        recorded = manifest.get("input_kind")
        self.input_kind: str = (
            recorded if isinstance(recorded, str) and recorded else str(strategy.input_kind)
        )
        #: Packages (or Python) in another major or minor version than at export, one line each.
        self.version_warnings: list[str] = list(version_warnings or [])
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

    Only the module of the strategy the manifest's ``loader`` names is imported."""
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
        strategy = _strategy_class(directory, manifest).load(
            directory / "strategy", overrides=overrides
        )
    except (ConfigError, DataError) as exc:
        raise ModelError(f"{directory}: cannot load the strategy ({exc})") from exc
    if strategy.key != manifest.get("strategy"):
        raise ModelError(f"{directory}: holds {strategy.key}, manifest says {manifest['strategy']}")
    return LoadedModel(directory, manifest, strategy, version_warnings=versions.warnings)
