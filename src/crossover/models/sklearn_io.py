"""Saving and loading scikit-learn objects with skops: no pickle, explicit trust."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossover.errors import ModelError

__all__ = ["TRUSTED_EXTRA_TYPES", "load_sklearn", "save_sklearn", "vocabulary_path"]

# Types trusted beyond skops' own defaults (which cover scikit-learn, numpy and scipy).
# Anything else found in a file is refused: a model folder may come from anywhere.
# ``numpy.dtype``: a dtype given as an estimator parameter (OrdinalEncoder(dtype=np.float64));
# skops stores it as the dtype's name and rebuilds it with ``numpy.dtype(name)``, no code runs.
# ``sklearn.tree._tree.Tree``: a fitted tree of a forest; skops rebuilds it from its node
# arrays (its own loader for this type), never by unpickling.
TRUSTED_EXTRA_TYPES: frozenset[str] = frozenset({"numpy.dtype", "sklearn.tree._tree.Tree"})


def vocabulary_path(path: Path) -> Path:
    """The file beside ``path`` that holds its text vectorizers' vocabularies."""
    return path.with_suffix(".vocabulary.json")


def _vectorizers(obj: Any) -> dict[str, Any]:
    """Fitted text vectorizers in ``obj`` (itself or nested), by their deep parameter name."""
    found = {"": obj} if isinstance(getattr(obj, "vocabulary_", None), dict) else {}
    get_params = getattr(obj, "get_params", None)
    if get_params is not None:
        for name, value in get_params(deep=True).items():
            if isinstance(getattr(value, "vocabulary_", None), dict):
                found[name] = value
    return found


def save_sklearn(obj: Any, path: Path) -> None:
    """Write ``obj`` with skops; text vectorizers' vocabularies go to a JSON list beside it.

    skops writes a dict as one schema node per entry: 36,000 TF-IDF terms took 4 s and 30 MB
    of schema.json, against 0.03 s and 0.5 MB as a list of terms in index order.
    """
    import skops.io as sio

    vectorizers = _vectorizers(obj)
    vocabularies = {name: vec.vocabulary_ for name, vec in vectorizers.items()}
    try:
        for vec in vectorizers.values():
            del vec.vocabulary_
        sio.dump(obj, path)
    finally:
        for name, vec in vectorizers.items():
            vec.vocabulary_ = vocabularies[name]
    if vocabularies:
        terms = {
            name: sorted(vocabulary, key=vocabulary.__getitem__)
            for name, vocabulary in vocabularies.items()
        }
        vocabulary_path(path).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")


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
    obj = sio.load(path, trusted=sorted(untrusted))
    sidecar = vocabulary_path(path)
    if sidecar.is_file():
        _attach_vocabularies(obj, sidecar)
    return obj


def _attach_vocabularies(obj: Any, sidecar: Path) -> None:
    try:
        terms = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{sidecar}: not a readable vocabulary file ({exc})") from exc
    params = obj.get_params(deep=True) if hasattr(obj, "get_params") else {}
    if not isinstance(terms, dict):
        raise ModelError(f"{sidecar}: expected an object of term lists")
    for name, listed in terms.items():
        target = obj if name == "" else params.get(name)
        if target is None or not isinstance(listed, list):
            raise ModelError(f"{sidecar}: names no text vectorizer {name!r} of the saved model")
        if not all(isinstance(t, str) for t in listed) or len(set(listed)) != len(listed):
            raise ModelError(
                f"{sidecar}: the vocabulary of {name!r} is not a list of distinct terms"
            )
        target.vocabulary_ = {term: i for i, term in enumerate(listed)}
