"""Exceptions a user can cause, each with a one-line message that says what to do.

Tree::

    CrossoverError
     ├── DataError      bad input data: file, column, value
     ├── ConfigError    bad options: unknown strategy, bad flag value, duplicate registration
     └── ModelError     a model that cannot be found, loaded or trusted

The CLI prints the message of any ``CrossoverError`` on one line and exits with code 2.
"""

from __future__ import annotations

__all__ = ["ConfigError", "CrossoverError", "DataError", "ModelError"]


class CrossoverError(Exception):
    """Base of every error a user can cause and fix."""

    exit_code = 2


class DataError(CrossoverError):
    """The input data cannot be used as given; the message names the file, column or value."""


class ConfigError(CrossoverError):
    """An option, a strategy key or a configuration file is invalid."""


class ModelError(CrossoverError):
    """A model cannot be found, loaded, or trusted."""
