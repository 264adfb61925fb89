"""Saving and loading scikit-learn objects with skops: no pickle, explicit trust."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossover.errors import ModelError

__all__ = ["TRUSTED_EXTRA_TYPES", "load_sklearn", "save_sklearn"]

# Types trusted beyond skops' own defaults (which cover scikit-learn, numpy and scipy).
# Anything else found in a file is refused: a model folder may come from anywhere.
# ``numpy.dtype``: a dtype given as an estimator parameter (OrdinalEncoder(dtype=np.float64));
# skops stores it as the dtype's name and rebuilds it with ``numpy.dtype(name)``, no code runs.
# ``sklearn.tree._tree.Tree``: a fitted tree of a forest; skops rebuilds it from its node
# arrays (its own loader for this type), never by unpickling.
TRUSTED_EXTRA_TYPES: frozenset[str] = frozenset({"numpy.dtype", "sklearn.tree._tree.Tree"})


def save_sklearn(obj: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(obj, path)


def load_sklearn(path: Path) -> Any:
    import skops.io as sio

    if not path.is_file():
        raise ModelError(f"{path}: missing; the model folder is incomplete")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as exc:  # a truncated or foreign file: zip, json or schema errors
        raise ModelError(f"{path}: not a readable skops file ({exc})") from exc
    refused = sorted(untrusted - TRUSTED_EXTRA_TYPES)
    if refused:
        raise ModelError(f"{path}: refuses to load untrusted types {refused}")
    return sio.load(path, trusted=sorted(untrusted))
