"""Tiny, randomly initialised Chronos-Bolt models laid out as a Hugging Face cache (and a
Chronos-2 folder), for tests.

The real weights are on the hub, out of reach here: these have the real architecture (a T5
encoder-decoder with Chronos-Bolt's patching, scaling and quantile head) at a few thousand
parameters, saved with ``save_pretrained`` into ``models--ORG--NAME/snapshots/<commit>/``
with ``refs/main``, so that a plain hub id resolves offline through the real loading code.
Their forecasts are noise around each history's mean: no accuracy can be read from them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

__all__ = [
    "REVISION",
    "hf_cache_with",
    "save_tiny_chronos_2",
    "save_tiny_chronos_bolt",
    "use_hf_cache",
]

#: The commit the fake snapshots are filed under.
REVISION = hashlib.sha1(b"tiny-chronos-bolt").hexdigest()
QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def save_tiny_chronos_bolt(
    folder: Path, *, seed: int = 0, context_length: int = 64, prediction_length: int = 8
) -> Path:
    """Save a Chronos-Bolt model of 10,496 parameters (d_model 16, one layer each side,
    patches of 4 points, 8 steps a block) into ``folder``; the same seed, the same weights."""
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config
    from transformers.utils import logging as hf_logging

    config = T5Config(
        d_model=16,
        d_ff=32,
        d_kv=8,
        num_heads=2,
        num_layers=1,
        num_decoder_layers=1,
        dense_act_fn="relu",
        feed_forward_proj="relu",
        is_encoder_decoder=True,
        vocab_size=2,
        pad_token_id=0,
        decoder_start_token_id=0,
        initializer_factor=0.05,
        chronos_config={
            "context_length": context_length,
            "prediction_length": prediction_length,
            "input_patch_size": 4,
            "input_patch_stride": 4,
            "quantiles": QUANTILES,
            "use_reg_token": True,
        },
        chronos_pipeline_class="ChronosBoltPipeline",
        architectures=["ChronosBoltModelForForecasting"],
    )
    torch.manual_seed(seed)
    model = ChronosBoltModelForForecasting(config)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model.save_pretrained(folder)
    finally:
        hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return folder


def save_tiny_chronos_2(folder: Path, *, seed: int = 0) -> Path:
    """Save a Chronos-2 model of 6,664 parameters (d_model 16, one layer, patches of 4
    points, two output patches of 4 steps) into ``folder``."""
    import torch
    from chronos.chronos2.config import Chronos2CoreConfig
    from chronos.chronos2.model import Chronos2Model
    from transformers.utils import logging as hf_logging

    config = Chronos2CoreConfig(
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        chronos_config={
            "context_length": 64,
            "output_patch_size": 4,
            "input_patch_size": 4,
            "input_patch_stride": 4,
            "quantiles": QUANTILES,
            "use_reg_token": True,
            "max_output_patches": 2,
        },
        chronos_pipeline_class="Chronos2Pipeline",
        architectures=["Chronos2Model"],
    )
    torch.manual_seed(seed)
    model = Chronos2Model(config)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model.save_pretrained(folder)
    finally:
        hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return folder


def hf_cache_with(cache: Path, model_id: str, *, seed: int = 0) -> Path:
    """A Hugging Face cache under ``cache`` holding a tiny Chronos-Bolt as ``model_id``
    (``models--ORG--NAME/snapshots/REVISION`` and ``refs/main``); returns the snapshot."""
    repo = cache / ("models--" + model_id.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    if not (snapshot / "config.json").is_file():
        save_tiny_chronos_bolt(snapshot, seed=seed)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(REVISION)
    return snapshot


def use_hf_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Point the Hugging Face cache at ``cache`` (the variable, and huggingface_hub's copy it
    read at import), offline, until the test ends."""
    from huggingface_hub import constants

    cache.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
