"""The package versions a model folder was exported with, and whether this environment can load it.

``crossover export`` records in the manifest the version of every package the model's loader
uses (the strategy's ``requirements()``, crossover itself, and Python). ``load_model`` (and so
``crossover serve``) compares them with the running ones:

- a package the model needs that is not installed: **refused** (it cannot load);
- a package whose own file format holds the model's learned objects (:data:`STATE_PACKAGES`:
  scikit-learn estimators restored from skops files, LightGBM boosters, implicit factors) from
  another compatible-release line, a different major version (or minor, for a 0.x release, as
  Cargo's and npm's caret ranges read them): **refused**. Such objects are rebuilt attribute by
  attribute; across incompatible releases their internals change, and a model can load and
  answer wrong without an error (scikit-learn does not support its objects across versions);
- any other major or minor difference, and another Python minor version: a **warning** naming
  the package and both versions; patch releases are silent.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from packaging.version import InvalidVersion, Version

__all__ = ["PYTHON", "STATE_PACKAGES", "VersionCheck", "check_versions", "installed_versions"]

#: The manifest key of the Python version (beside the packages' names).
PYTHON = "python"
#: Packages that read a model's learned objects back from their own format: an incompatible
#: release may load them wrong, so a model exported with another one is refused.
STATE_PACKAGES = frozenset({"scikit-learn", "lightgbm", "implicit"})


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each distribution in ``names`` (missing ones left out),
    crossover's own, and Python's under :data:`PYTHON`."""
    out: dict[str, str] = {}
    for name in sorted({"crossover", *names}):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    out[PYTHON] = platform.python_version()
    return out


@dataclass(frozen=True)
class VersionCheck:
    """What :func:`check_versions` found: reasons to refuse the model, and warnings."""

    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _line(v: Version) -> tuple[int, ...]:
    """The compatible-release line: the major version, or ``(0, minor)`` below 1.0."""
    major, minor = (*v.release, 0)[:2]
    return (0, minor) if major == 0 else (major,)


def _minor(v: Version) -> tuple[int, int]:
    major, minor = (*v.release, 0)[:2]
    return major, minor


def check_versions(
    recorded: Mapping[str, object],
    running: Mapping[str, str | None] | None = None,
    *,
    where: str = "the model",
) -> VersionCheck:
    """Compare the versions a model was exported with (``recorded``, the manifest's
    ``versions``) with ``running`` (default: what is installed here).

    ``where`` names the model folder in the messages. Values that are not version strings
    are ignored (a manifest written by hand may hold anything).
    """
    names = [n for n in recorded if n != PYTHON]
    if running is None:
        here = installed_versions(names)
        running = {n: here.get(n) for n in [*names, PYTHON]}
    result = VersionCheck()
    for name, then_text in sorted(recorded.items()):
        if not isinstance(then_text, str):
            continue
        now_text = running.get(name)
        if now_text is None:
            if name != PYTHON:
                result.refusals.append(
                    f"{where} needs {name} (exported with {then_text}), which is not installed "
                    f"here; install it (pip install '{name}=={then_text}') and start again"
                )
            continue
        then, now = _parse(then_text), _parse(now_text)
        if then is None or now is None or _minor(then) == _minor(now):
            continue
        if name in STATE_PACKAGES and _line(then) != _line(now):
            result.refusals.append(
                f"{where} was exported with {name} {then_text} and {now_text} is installed: "
                f"its saved {name} objects may load wrong across that release line; install "
                f"{name}=={then_text} or export the model again here"
            )
            continue
        what = "Python" if name == PYTHON else name
        result.warnings.append(
            f"{where} was exported with {what} {then_text}; {now_text} runs here "
            "(its predictions may differ slightly; export the model again here to be sure)"
        )
    return result
