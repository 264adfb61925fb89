"""Reading the YAML files of the cost model (scenarios, price catalogs), errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crossover.errors import ConfigError

__all__ = ["parse_yaml", "read_yaml"]


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed YAML in ``path``; a ConfigError naming the file when unreadable or invalid."""
    where = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the {what} ({exc.strerror})") from exc
    return parse_yaml(text, where)


def parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
