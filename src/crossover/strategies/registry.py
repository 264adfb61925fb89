"""The registry of strategies by key; third parties add theirs through entry points."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from crossover.errors import ConfigError

if TYPE_CHECKING:  # the base class looks strategies up here: no import back at run time
    from crossover.strategies.base import Strategy

__all__ = ["ENTRY_POINT_GROUP", "Registry", "register", "registry"]

ENTRY_POINT_GROUP = "crossover.strategies"
#: The packages of the built-in strategies (each lists its modules in ``MODULES``).
BUILTIN_PACKAGES = (
    "crossover.strategies.text",
    "crossover.strategies.tabular",
    "crossover.strategies.recsys",
    "crossover.strategies.image",
    "crossover.strategies.forecast",
)


class Registry:
    """Strategy classes by key.

    A duplicate key is an error; ``candidates(task)`` lists a task's default strategies.
    """

    def __init__(self) -> None:
        self._classes: dict[str, type[Strategy]] = {}
        self._plugins_loaded = False

    def register(self, cls: type[Strategy]) -> type[Strategy]:
        for attr in ("key", "kind", "task", "summary"):
            if not getattr(cls, attr, None):
                raise ConfigError(f"strategy class {cls.__qualname__} has no {attr!r} attribute")
        if cls.kind not in ("pretrained", "custom", "hybrid"):
            raise ConfigError(
                f"strategy {cls.key!r} has kind {cls.kind!r}; use pretrained, custom or hybrid"
            )
        existing = self._classes.get(cls.key)
        if existing is not None and existing is not cls:
            raise ConfigError(
                f"strategy key {cls.key!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}; give "
                f"{cls.__module__}.{cls.__qualname__} another key"
            )
        self._classes[cls.key] = cls
        return cls

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for package in BUILTIN_PACKAGES:
            for module in importlib.import_module(package).MODULES:
                importlib.import_module(module)

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"strategy plugin {ep.name!r} ({ep.value}) failed to import: {exc}"
                ) from exc

    def get(self, key: str) -> type[Strategy]:
        """The class of ``key``; a variant ``KEY@SETTING`` (``text.embedding-head@torch-fp32``:
        the strategy with its pre-trained encoder run another way, beside the plain one in a
        study) is the class of ``KEY``, which must take an ``encoder``."""
        self._load_plugins()
        base, _, variant = key.partition("@")
        try:
            cls = self._classes[base]
        except KeyError:
            known = ", ".join(sorted(self._classes))
            raise ConfigError(f"unknown strategy {key!r}; known strategies: {known}") from None
        if variant:
            from crossover._encoders import EncoderSetting

            if "encoder" not in cls._param_names():
                raise ConfigError(
                    f"strategy {key!r}: {base} runs no pre-trained encoder to run another way "
                    "(only strategies that take --encoder have @SETTING variants)"
                )
            try:
                EncoderSetting.parse(variant)
            except ConfigError as exc:
                raise ConfigError(f"strategy {key!r}: {exc}") from None
        return cls

    @staticmethod
    def variant(key: str) -> str | None:
        """The encoder setting a ``KEY@SETTING`` key names (None for a plain key)."""
        return key.partition("@")[2] or None

    def keys(self, task: str | None = None) -> list[str]:
        self._load_plugins()
        return sorted(k for k, c in self._classes.items() if task is None or c.task == task)

    def candidates(self, task: str, *, has_text: bool = True) -> list[str]:
        """The default strategies for ``task``, pretrained first, then custom, then hybrid.

        Strategies unavailable on this machine (``unavailable_reason``) are left out, and so
        are those that read a free-text column when the table has none (``has_text``).
        """
        order = {"pretrained": 0, "custom": 1, "hybrid": 2}
        keys = [
            k
            for k in self.keys(task)
            if self._classes[k].default
            and self._classes[k].unavailable_reason() is None
            and (has_text or not getattr(self._classes[k], "needs_text_column", False))
        ]
        return sorted(keys, key=lambda k: (order[self._classes[k].kind], k))

    def unavailable(self, task: str) -> dict[str, str]:
        """The strategies of ``task`` that cannot run here, with the reason."""
        out = {}
        for key in self.keys(task):
            reason = self._classes[key].unavailable_reason()
            if reason is not None:
                out[key] = reason
        return out


registry = Registry()
register = registry.register
