"""The ``Strategy`` base class: one candidate way of solving a task.

Follows scikit-learn's estimator contract: ``__init__`` stores its arguments only, learned
state ends in ``_``, ``fit`` returns ``self``, and ``predict`` checks the strategy is fitted.
The base ``fit`` is a template method: it checks the input, seeds, and hides the training
rows from pretrained strategies; a subclass implements ``_fit`` and ``_predict``.
"""

from __future__ import annotations

import inspect
import json
import random
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np

from crossover.errors import ConfigError, ModelError

__all__ = ["Kind", "Strategy"]

Kind = Literal["pretrained", "custom", "hybrid"]
FORMAT_VERSION = 1
_STATE_FILE = "strategy.json"


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Strategy(ABC):
    """Base class of every strategy.

    Class attributes
    ----------------
    key : str
        Registry key, ``<task family>.<name>``, e.g. ``text.embedding-head``.
    kind : {"pretrained", "custom", "hybrid"}
    task : str
        The task it solves, e.g. ``text-classification``.
    summary : str
        One line for listings and reports.
    needs_labels : bool
        False for pretrained strategies: ``fit`` then gives them the label set only.
    has_proba : bool
        Whether ``predict_proba`` returns class probabilities.
    default : bool
        Whether the strategy is among the task's default candidates.
    max_default_budget : int or None
        Learning curves run it only up to this many labels per class (and not on the full
        split) unless asked for every budget; None for no limit.
    input_kind : str ("text", "table", "interactions"; a new task may add its own)
        What ``X`` is: a sequence of texts (each made a ``str``), a table (a pandas
        DataFrame, one row per example; its index is reset), or interactions (a recommender's
        rows). ``export`` and ``serve`` pick the input schema and the routes by it.
    contains : tuple of str
        Registry keys of the strategies it builds and runs inside (an ensemble's members):
        the cost model prices it at least at their engineering days and, when the study
        measured them, at least at their serving cost.
    engineering_kind : {"pretrained", "custom", "hybrid"} or None
        The kind whose engineering days (the scenario's ``setup_days`` and
        ``maintenance_days_per_month``) price this strategy, when building it takes what another
        kind takes: a hybrid that is a custom model plus a pre-trained encoder (LightGBM with
        text embeddings, ALS blended with content) is at least a custom model's work, not the
        small head the scenario's hybrid days assume. None: its own kind.
    learning_curve : bool
        Whether learning curves train it at smaller budgets (False for a model behind a paid
        API: each point would pay for the whole test set again).
    curve_without_labels : bool
        For a pretrained strategy (``needs_labels`` False) whose input a learning-curve budget
        still limits: a zero-shot forecaster reads the last N points of each series' history,
        so the curve runs it at every budget, as a trained strategy, to compare the two at the
        same history. False: one trial, budget 0.
    is_api : bool
        A model behind a paid API: ``api_usage()`` gives the tokens and latency per call of
        its predictions, and its speed is read from those calls instead of re-running rows.
    packages : tuple of str
        Distributions (PyPI names) whose code loads this class's saved state and predicts
        with it; ``requirements()`` joins those of the class and its bases, and an exported
        model's manifest records their versions (see ``crossover.versions``).
    """

    key: ClassVar[str]
    kind: ClassVar[Kind]
    task: ClassVar[str]
    summary: ClassVar[str]
    needs_labels: ClassVar[bool] = True
    has_proba: ClassVar[bool] = False
    default: ClassVar[bool] = True
    max_default_budget: ClassVar[int | None] = None
    input_kind: ClassVar[str] = "text"
    engineering_kind: ClassVar[Kind | None] = None
    contains: ClassVar[tuple[str, ...]] = ()
    learning_curve: ClassVar[bool] = True
    curve_without_labels: ClassVar[bool] = False
    is_api: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ("numpy",)
    #: What one trial asks a cluster scheduler for (``--backend ray``): CPUs (its BLAS and
    #: torch threads are limited to them), memory to reserve (None: no reservation), and
    #: whether it uses a GPU when the cluster has one.
    trial_cpus: ClassVar[int] = 1
    trial_memory_mb: ClassVar[int | None] = None
    wants_gpu: ClassVar[bool] = False

    classes_: np.ndarray
    label_descriptions_: dict[str, str]

    # -- parameters -------------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    @classmethod
    def trial_resources(cls) -> dict[str, Any]:
        """``{"cpus", "memory_mb", "gpu"}``: what one trial of this strategy needs."""
        return {"cpus": cls.trial_cpus, "memory_mb": cls.trial_memory_mb, "gpu": cls.wants_gpu}

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as stored by ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    @property
    def seed(self) -> int:
        return int(getattr(self, "random_state", 0) or 0)

    # -- training and prediction ------------------------------------------------------------

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why the strategy cannot run on this machine (a package or weights are missing),
        or None when it can. A study lists unavailable strategies with the reason."""
        return None

    def _inputs(self, X: Any) -> Any:
        """``X`` as ``_fit`` and ``_predict`` take it: a list of str, or a DataFrame."""
        if self.input_kind == "table":
            import pandas as pd

            if not isinstance(X, pd.DataFrame):
                X = pd.DataFrame(X)
            return X.reset_index(drop=True)
        return [str(t) for t in X]

    def fit(
        self,
        X: Any,
        y: Sequence[str],
        *,
        label_descriptions: dict[str, str] | None = None,
    ) -> Self:
        """Train on ``X`` (texts, or a DataFrame for a table strategy) with labels ``y``;
        returns ``self``.

        A pretrained strategy receives only the sorted label set and the descriptions; the
        rows never reach its ``_fit``.
        """
        texts = self._inputs(X)
        labels = [str(v) for v in y]
        if len(texts) != len(labels):
            raise ValueError(f"X has {len(texts)} rows but y has {len(labels)}")
        if not labels:
            raise ValueError("cannot fit on zero rows")
        self.classes_ = np.array(sorted(set(labels)), dtype=object)
        self.label_descriptions_ = dict(label_descriptions or {})
        random.seed(self.seed)
        np.random.seed(self.seed % (2**32))  # noqa: NPY002  (seeds third-party code)
        if self.needs_labels:
            self._fit(texts, labels)
        else:
            self._fit(None, None)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise ModelError(f"{self.key} is not fitted yet; call fit() or load() first")

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, one per input."""
        self._check_fitted()
        return self._predict(self._inputs(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, len(classes_)), columns in the order of ``classes_``."""
        self._check_fitted()
        if not self.has_proba:
            raise NotImplementedError(f"{self.key} does not produce class probabilities")
        return self._predict_proba(self._inputs(X))

    @abstractmethod
    def _fit(self, X: Any, y: list[str] | None) -> None: ...

    @abstractmethod
    def _predict(self, X: Any) -> np.ndarray: ...

    def _predict_proba(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    @contextmanager
    def uncached(self) -> Iterator[None]:
        """Within this block, predictions compute everything (used to time real inference)."""
        yield

    def embedding_model(self) -> str | None:
        """The pre-trained encoder this strategy reads frozen features of, if any (a
        sentence-embedding model; an image network at its input size)."""
        return None

    def encoding_key(self) -> str | None:
        """``embedding_model()`` and the setting it runs at (``encoder``, when the strategy
        takes one): what a study embeds once and times once (the same model at two settings
        is two encoders, with their own rates)."""
        model = self.embedding_model()
        setting = getattr(self, "encoder", None)
        return model if model is None or not setting else f"{model} ({setting})"

    def feature_encoder(self) -> Any | None:
        """What computes those features through the shared on-disk cache, or None: an object
        with ``encode(items, *, use_cache=None, on_progress=None) -> ndarray``. A study runs
        it on every row once before any trial (each trial then reads the cache), and times it
        without the cache to charge the training rows' encoding back to each trial's fit."""
        return None

    def requirements(self) -> list[str]:
        """The distributions this strategy's saved state needs to load and predict: the
        ``packages`` of its class and of every base class."""
        names: set[str] = set()
        for klass in type(self).__mro__:
            names.update(vars(klass).get("packages", ()))
        return sorted(names)

    def api_usage(self) -> dict[str, Any] | None:
        """For a model behind a paid API (``is_api``): model, tokens per prediction, calls,
        failures and latency per call of the predictions so far; None otherwise."""
        return None

    # -- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the fitted strategy to ``directory`` (no pickle) and return the path."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            "key": self.key,
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "label_descriptions": self.label_descriptions_,
        }
        (path / _STATE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        self._save_state(path)
        return path

    @classmethod
    def load(cls, directory: str | Path, *, overrides: dict[str, Any] | None = None) -> Strategy:
        """Read a strategy written by ``save``; the class is chosen by the saved key.

        ``overrides`` replaces saved constructor parameters that name a place rather than a
        learned value (e.g. ``model``: where an exported copy of the encoder now lives).
        """
        from crossover.strategies.registry import registry

        path = Path(directory)
        try:
            meta = json.loads((path / _STATE_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: no readable {_STATE_FILE}; not a saved strategy") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"{path}: format version {meta.get('format_version')!r} is not supported "
                f"(this crossover reads {FORMAT_VERSION}); re-export the model"
            )
        if cls is not Strategy and getattr(cls, "key", None) == meta["key"]:
            target: type[Strategy] = cls  # the class itself: no need to import every strategy
        else:
            target = registry.get(meta["key"])
            if cls is not Strategy and not issubclass(target, cls):
                raise ModelError(f"{path} holds {meta['key']}, not {cls.key}")
        params = dict(meta["params"])
        for name, value in (overrides or {}).items():
            if name in params:
                params[name] = value
        try:
            instance = target(**params)
        except TypeError as exc:
            raise ConfigError(f"{path}: saved parameters do not fit {meta['key']}: {exc}") from exc
        instance.classes_ = np.array(meta["classes"], dtype=object)
        instance.label_descriptions_ = dict(meta.get("label_descriptions") or {})
        instance._load_state(path)
        return instance

    def _save_state(self, path: Path) -> None:
        """Write learned state other than the classes (nothing by default)."""

    def _load_state(self, path: Path) -> None:
        """Read what ``_save_state`` wrote."""

    # -- footprint --------------------------------------------------------------------------

    def _parameter_count(self) -> int:
        return 0

    def _external_bytes(self) -> int:
        """Bytes of files the saved strategy needs but does not hold (a base model)."""
        return 0

    def footprint(self) -> dict[str, Any]:
        """Parameters, bytes on disk (saved state plus any base model it needs), device."""
        with tempfile.TemporaryDirectory() as tmp:
            own = _dir_bytes(self.save(Path(tmp) / "m"))
        external = self._external_bytes()
        return {
            "parameters": self._parameter_count(),
            "state_bytes": own,
            "base_model_bytes": external,
            "size_mb": round((own + external) / 1e6, 3),
            "device": "cpu",
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
