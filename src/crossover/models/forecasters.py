"""Pre-trained forecasters: finding their weights offline, and loading them once per process.

A forecaster is named by its Hugging Face id, as the text encoders are, and resolved in the
same order: a local folder; an installed Python package that carries the weights (``fracast``
carries Fracast-0's); the local Hugging Face cache; the hub only when downloads are allowed
(not under ``HF_HUB_OFFLINE``). Nothing downloads when a copy is on the machine.

Supported families, each with its loader:

- ``fracast``: Fracast-0 (``ztxtech/fracast-0``, 85,001 parameters, 9 quantiles, a 48-step
  native horizon, extended by feeding its median back); its weights install with the
  ``fracast`` package (``load_fracast``);
- ``chronos-bolt`` (``amazon/chronos-bolt-tiny`` ... ``-base``) and ``chronos-2``
  (``amazon/chronos-2``): Amazon's forecasters, run by the ``chronos-forecasting`` package
  (``load_chronos``). Their weights are published only on the Hugging Face hub: a machine
  without network needs a copy, downloaded once elsewhere (``hf download ID``) and copied
  with the Hugging Face cache, or a folder. The original Chronos (``amazon/chronos-t5-*``,
  family ``chronos``) is recognised but not run: it samples its forecasts.

A folder's family is read from its ``config.json`` (Fracast-0's ``model.family``, a Chronos
model's ``chronos_pipeline_class``). TimesFM, TiRex and Moirai are not supported: no
package on the registry carries their weights either, and each needs its own runtime.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossover._files import hash_file
from crossover.errors import ModelError
from crossover.models._resolve import hub_snapshot

__all__ = [
    "FORECASTERS",
    "ResolvedForecaster",
    "family_of",
    "load_chronos",
    "load_fracast",
    "local_forecaster",
    "resolve_forecaster",
]

DEFAULT_FORECASTER = "ztxtech/fracast-0"
DEFAULT_CHRONOS = "amazon/chronos-bolt-small"

#: Hugging Face id -> (family, package carrying a copy, its folder in the package, pip name);
#: the last three empty for a model whose weights only the hub publishes.
FORECASTERS: dict[str, tuple[str, str, str, str]] = {
    "ztxtech/fracast-0": ("fracast", "fracast", "weights", "fracast"),
    **{
        f"amazon/chronos-bolt-{size}": ("chronos-bolt", "", "", "")
        for size in ("tiny", "mini", "small", "base")
    },
    "amazon/chronos-2": ("chronos-2", "", "", ""),
    **{
        f"amazon/chronos-t5-{size}": ("chronos", "", "", "")
        for size in ("tiny", "mini", "small", "base", "large")
    },
}

#: A Chronos config's ``chronos_pipeline_class`` -> family (none: the original Chronos).
_CHRONOS_PIPELINES = {"ChronosBoltPipeline": "chronos-bolt", "Chronos2Pipeline": "chronos-2"}


@dataclass(frozen=True)
class ResolvedForecaster:
    """Where a forecaster's files are: ``source`` is ``path``, ``package``, ``hf-cache`` or
    ``hub``."""

    model_id: str
    family: str
    path: Path
    source: str

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    @property
    def revision(self) -> str | None:
        """The hub commit of a copy from the Hugging Face cache (its snapshot folder's name);
        None for a folder or a package."""
        return self.path.name if self.source in {"hf-cache", "hub"} else None

    @property
    def identity(self) -> str:
        """A hash of the files (names, sizes, every byte): the same weights give the same
        identity wherever they were copied to. Computed once per process and folder."""
        return _identity(str(self.path.resolve()))


@functools.lru_cache(maxsize=16)
def _identity(path: str) -> str:
    root = Path(path)
    digest = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts):
        digest.update(f"{f.relative_to(root).as_posix()}:{f.stat().st_size}\n".encode())
        hash_file(digest, f)
    return digest.hexdigest()[:16]


def _config_family(path: Path) -> str | None:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    model = config.get("model")
    if isinstance(model, dict) and model.get("family") == "fracast":
        return "fracast"
    if "chronos_pipeline_class" in config or "chronos_config" in config:
        return _CHRONOS_PIPELINES.get(str(config.get("chronos_pipeline_class")), "chronos")
    return None


def family_of(model_id: str) -> str | None:
    """The family of a forecaster id (``FORECASTERS``) or folder (its ``config.json``),
    without finding or loading weights; None when neither says."""
    candidate = Path(model_id).expanduser()
    if candidate.is_dir():
        return _config_family(candidate)
    known = FORECASTERS.get(model_id)
    return None if known is None else known[0]


def _family(model_id: str, path: Path) -> str:
    family = _config_family(path)
    known = FORECASTERS.get(model_id)
    if family is None and known is not None:
        family = known[0]
    if family is not None:
        return family
    raise ModelError(
        f"{model_id}: not a forecaster crossover can run (supported: "
        f"{', '.join(sorted(FORECASTERS))}, or a folder holding a Fracast-0 release or a "
        "Chronos-Bolt / Chronos-2 model)"
    )


def _hint(model_id: str) -> str:
    known = FORECASTERS.get(model_id)
    if known is not None and known[3]:
        return f"install a copy with `pip install {known[3]}`"
    return (
        f"download it once on a machine with network (hf download {model_id}), copy the "
        "Hugging Face cache (HF_HUB_CACHE, by default ~/.cache/huggingface/hub) to this "
        "machine, or pass a local folder holding the model"
    )


def resolve_forecaster(
    model_id: str = DEFAULT_FORECASTER, *, allow_download: bool | None = None
) -> ResolvedForecaster:
    """Find a forecaster's files (module docstring); ``ModelError`` says how to get a copy.
    ``allow_download`` False: never the hub (None: unless ``HF_HUB_OFFLINE``)."""
    candidate = Path(model_id).expanduser()
    if candidate.is_dir():
        return ResolvedForecaster(model_id, _family(model_id, candidate), candidate, "path")
    if model_id.startswith((".", "/", "~")):
        raise ModelError(f"{model_id}: no such forecaster folder; check the path")
    known = FORECASTERS.get(model_id)
    if known is not None and known[1]:
        try:
            package = importlib.import_module(known[1])
        except ImportError:
            package = None
        if package is not None:
            folder = Path(package.__file__ or "").parent / known[2]
            if folder.is_dir():
                return ResolvedForecaster(model_id, known[0], folder, "package")
    path, source = hub_snapshot(
        model_id, _hint(model_id), what="forecaster", allow_download=allow_download
    )
    return ResolvedForecaster(model_id, _family(model_id, path), path, source)


def local_forecaster(model_id: str) -> ResolvedForecaster | None:
    """The forecaster's files when a copy is on this machine (a folder, a package, the local
    Hugging Face cache), else None; never the network (what ``unavailable_reason`` asks)."""
    try:
        return resolve_forecaster(model_id, allow_download=False)
    except ModelError:
        return None


@functools.lru_cache(maxsize=4)
def load_fracast(path: str, weights: str = "fp32") -> Any:
    """A Fracast-0 model from a release folder (``fracast.FracastModel``), once per process."""
    try:
        from fracast import FracastModel
    except ImportError as exc:
        raise ModelError("Fracast-0 needs the fracast package: pip install fracast") from exc
    return FracastModel.from_pretrained(path, weights=weights, device="cpu")


#: Families ``load_chronos`` runs: they give quantiles directly. The original Chronos draws
#: sample paths: its forecasts of a series would depend on the random state and on the other
#: series of its batch.
CHRONOS_FAMILIES = ("chronos-bolt", "chronos-2")


@functools.lru_cache(maxsize=4)
def load_chronos(path: str, family: str) -> Any:
    """A Chronos pipeline (``chronos.BaseChronosPipeline``) from a model folder, float32 on the
    CPU, once per process; ``family`` is one of ``CHRONOS_FAMILIES``."""
    if family not in CHRONOS_FAMILIES:
        raise ModelError(
            f"{path}: a {family} model; crossover runs Chronos-Bolt and Chronos-2 "
            "(amazon/chronos-bolt-small, amazon/chronos-2), which give quantiles directly; the "
            "original Chronos samples its forecasts"
        )
    try:
        from chronos import BaseChronosPipeline
    except ImportError as exc:
        raise ModelError(
            "Chronos needs the chronos-forecasting package: pip install 'crossover[chronos]'"
        ) from exc
    from transformers.utils import logging as hf_logging

    # The study shows its own progress; the weight-loading bar would break its output.
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        pipeline = BaseChronosPipeline.from_pretrained(path, dtype="float32")
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a Chronos model that loads ({exc})") from exc
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    pipeline.inner_model.eval()
    return pipeline
