"""Model directories: a fitted strategy exported with everything it needs to answer requests.

Two halves: ``crossover.artifacts.load`` reads and verifies a folder (what serving imports, and
nothing of the training side), ``crossover.artifacts.export`` writes one (it may import the
training side). The names below are imported from them on first use.

Layout of ``MODEL_DIR``::

    manifest.json     format version, task, strategy key and kind, its loader (module:class),
                      what the model takes (input_kind: text, table, image,
                      interactions or series),
                      labels, input schema, the study's metrics for it, the versions of the
                      packages the loader uses, creation time, the SHA-256 of every other
                      file (the encoder's included), and its own digest (``manifest_sha256``)
    strategy/         the strategy's own state (``Strategy.save``: JSON + skops files, and for
                      a fine-tuned encoder its safetensors folder)
    encoder/          for strategies built on a sentence-embedding model, a copy of that model
                      (safetensors weights, configuration, tokenizer): no download to serve it

A model that takes series (``input_kind`` "series": it forecasts) has no labels and no
``encoder/``; its manifest's ``forecast`` gives its horizon, frequency, season, the fewest
points of history it forecasts from and its quantiles, and its ``input_schema`` describes the
request of ``POST /v1/forecast``.

A model that takes interactions (``input_kind`` "interactions": it recommends) has no labels
and no ``encoder/``: its saved state keeps the item vectors it ranks with. Its ``input_schema``
describes the request of ``POST /v1/recommend`` (a known ``user``, or the ``items`` of a
session or a new user).

Every path the manifest names stays inside the folder. What :func:`load_model` checks
before it reads any weight is in ``crossover.artifacts.load``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.artifacts.export import export_model, export_strategy
    from crossover.artifacts.load import (
        FORECAST_MAX_HORIZON,
        FORMAT_VERSION,
        RECOMMEND_MAX_K,
        UNSAFE_SUFFIXES,
        LoadedModel,
        input_kind,
        load_model,
        verify,
    )

_SOURCES = {
    "FORECAST_MAX_HORIZON": "crossover.artifacts.load",
    "FORMAT_VERSION": "crossover.artifacts.load",
    "LoadedModel": "crossover.artifacts.load",
    "RECOMMEND_MAX_K": "crossover.artifacts.load",
    "UNSAFE_SUFFIXES": "crossover.artifacts.load",
    "export_model": "crossover.artifacts.export",
    "export_strategy": "crossover.artifacts.export",
    "input_kind": "crossover.artifacts.load",
    "load_model": "crossover.artifacts.load",
    "verify": "crossover.artifacts.load",
}

__all__ = [
    "FORECAST_MAX_HORIZON",
    "FORMAT_VERSION",
    "RECOMMEND_MAX_K",
    "UNSAFE_SUFFIXES",
    "LoadedModel",
    "export_model",
    "export_strategy",
    "input_kind",
    "load_model",
    "verify",
]


__getattr__ = attach(__name__, _SOURCES)
