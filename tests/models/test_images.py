"""The image encoder's pooled vector: its parts, read in one pass of the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from crossover.data import example_path
from crossover.data.images import to_array
from crossover.models.images import (
    IMAGE_MODELS,
    get_image_encoder,
    image_tensor,
    pretrained_network,
)
from crossover.strategies.image.embedding_head import _levels

NETWORK = IMAGE_MODELS["efficientnet-lite0"]


def some_images(n: int = 4) -> list[str]:
    return [str(p) for p in sorted((example_path("fashion") / "test").rglob("*.png"))[:n]]


def test_the_pooled_blocks_widths_are_the_networks() -> None:
    model = pretrained_network("efficientnet-lite0", 160)
    widths = [model._blocks[i]._project_conv.out_channels for i in NETWORK.pooled_blocks]
    assert tuple(widths) == NETWORK.block_channels
    assert NETWORK.parts[-1] == NETWORK.features == 1280


def test_the_vector_is_the_blocks_pooled_outputs_then_the_last_layers(tmp_path: Path) -> None:
    images = some_images()
    encoder = get_image_encoder(image_size=160, cache_dir=tmp_path)
    vectors = encoder.encode(images, use_cache=False)
    assert vectors.shape == (len(images), sum(NETWORK.parts)) == (len(images), encoder.dimension)
    # The same network, untraced, read through forward hooks on the blocks.
    model = pretrained_network("efficientnet-lite0", 160)
    seen: dict[int, torch.Tensor] = {}
    for i in NETWORK.pooled_blocks:
        model._blocks[i].register_forward_hook(
            lambda module, args, out, i=i: seen.__setitem__(i, out.mean(dim=(2, 3)))
        )
    x = image_tensor(to_array(images, 160), NETWORK)
    with torch.inference_mode():
        last = model.extract_features(x).mean(dim=(2, 3)).numpy()
    expected = np.hstack([seen[i].numpy() for i in NETWORK.pooled_blocks] + [last])
    np.testing.assert_allclose(vectors, expected, rtol=1e-3, atol=1e-3)


def test_each_level_is_normalised_on_its_own() -> None:
    rng = np.random.default_rng(0)
    parts = (2, 3, 4)
    vectors = rng.normal(size=(5, 9)) * np.array([1, 1, 10, 10, 10, 100, 100, 100, 100])
    both = _levels(vectors, parts, intermediate=True)
    for a, b in ((0, 2), (2, 5), (5, 9)):
        np.testing.assert_allclose(np.linalg.norm(both[:, a:b], axis=1), 1.0)
    last = _levels(vectors, parts, intermediate=False)
    assert last.shape == (5, 4)
    np.testing.assert_allclose(last, both[:, 5:])
    with pytest.raises(ValueError, match=r"pooled vectors of width 8, not 9"):
        _levels(vectors[:, :8], parts, intermediate=True)
