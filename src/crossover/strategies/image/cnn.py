"""Custom ``image.cnn``: a small convolutional network trained from scratch on the user's images.

The custom end of the image comparison: no pre-trained weights, only the labelled images. It
is the strategy that should lose with ten images per class and catch up with tens of thousands
of images of a domain ImageNet never saw (grayscale product shots, x-rays, fabric).

Training, in order:

1. every training image is decoded once per fit (``crossover.data.images.to_array``) into a
   uint8 array at the chosen side (``image_size``; by default the median shorter side of the
   training images, clamped to 28..64 px); when every image is grayscale (R == G == B) the
   network gets one input channel instead of three;
2. with 5,000 images or more, a stratified tenth of them (at least one per class) is held out
   to pick the best epoch and stop early; with fewer, the network trains on all of them for
   the planned epochs and keeps the last. On the bundled Fashion-MNIST example (two seeds, 300
   test images) holding out a tenth cost accuracy: 0.707 against 0.738 at 16 images per class,
   0.807 against 0.827 at 100: a validation set of 16 to 100 images picks epochs by noise, stops
   the schedule half-way, and takes images from training;
3. AdamW with a short linear warm-up and a cosine decay to zero at the last planned step, or
   sooner when ``time_budget_s`` would end first: in the budget's second half the decay then
   follows the share of the budget spent, so the learning rate still reaches zero when the
   budget ends (a schedule cut off by the deadline would leave the weights at a high learning
   rate). On the full Fashion-MNIST with 600 s on the shared machine, a first version that
   planned whole epochs from the pace of the first ones stopped after 6 epochs and 383 s
   (0.919 on the test set): a plan made from slow first epochs, which only ever shrank;
   following the budget, 10 epochs in the 600 s reached 0.924 (the decay following all of the
   budget) and 0.926 (its second half only, as now; one run each, load average 4-7);
4. each batch is augmented (random shifts, horizontal flips) in numpy on the decoded pixels:
   0.7 ms per batch of 128 images at 28 px, under 1 % of a training step.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.data.images import ImageInput, image_name, open_image, to_array
from crossover.errors import ConfigError, ModelError
from crossover.strategies.image._base import ImageStrategy
from crossover.strategies.registry import register

__all__ = ["ImageCnn", "choose_image_size"]

_STATE = "cnn.json"
_WEIGHTS = "cnn.safetensors"
#: The side chosen by default is the training images' median shorter side, within these bounds:
#: below 28 px three poolings leave almost nothing, above 64 px the first layers' cost grows
#: with the square of the side and the network is too small to use the detail.
SIZE_RANGE = (28, 64)
#: Images whose shorter side is measured to choose the size (decoded twice: a bounded cost).
_SIZE_SAMPLE = 256
#: A class needs this many training images for the inner validation split to take one of
#: them; with fewer, one image is a large part of what the class has to learn from.
_MIN_PER_CLASS_FOR_VALIDATION = 5
#: The fewest held-out images worth judging epochs by (so 5,000 training images at a tenth);
#: see the module's docstring for what a smaller validation set cost.
_MIN_VALIDATION_IMAGES = 500
#: An epoch is at least this many images: a training set of a few dozen images is repeated.
#: On the bundled example (300 test images), 40 images (4 per class) reached 0.558 with epochs
#: of 200 images. Epochs of 300 against 600 images, three seeds each, one thread: 2, 4, 8, 16
#: and 32 images per class 0.467/0.573/0.660/0.713/0.782 against 0.472/0.587/0.663/0.717/0.771
#: (0.3 points less on average, within the noise of 300 test images) in 7 s a fit against
#: 13-15 s; it halves the CNN's share of the bundled demo's learning curve.
_MIN_EPOCH_IMAGES = 300
_PREDICT_BATCH = 256


def _clock() -> float:
    """Seconds on a monotonic clock; one place for tests to drive the time budget from."""
    return time.monotonic()


def choose_image_size(images: list[ImageInput]) -> int:
    """The side the network reads: the median shorter side of (up to 256 evenly spaced of) the
    images, clamped to ``SIZE_RANGE``; a bad image raises the ``DataError`` that names it."""
    step = max(1, len(images) // _SIZE_SAMPLE)
    sides = []
    for i in range(0, len(images), step):
        width, height = open_image(images[i], image_name(images[i], i)).size
        sides.append(min(width, height))
    low, high = SIZE_RANGE
    return int(min(high, max(low, round(float(np.median(sides))))))


def _network(channels: int, width: int, n_classes: int, dropout: float) -> Any:
    """Three stages of 3x3 convolutions with batch norm and ReLU, widths ``width``,
    ``2 * width``, ``4 * width``, each stage halving the side with a max pool; then global
    average pooling, dropout and a linear layer.

    The first stage has one convolution, the others two: the full-size stage is where the
    time goes. Each stage pools right after its last convolution, before the batch norm and
    ReLU, so those run on a quarter of the pixels: on 20,000 Fashion-MNIST images (8 epochs,
    one seed) that took 19 % less CPU time than pooling last, at the same accuracy (0.903
    against 0.899 on the 10,000 test images).
    """
    from torch import nn

    def stage(c_in: int, c_out: int, convs: int) -> list[Any]:
        layers: list[Any] = []
        for i in range(convs):
            layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False))
            if i == convs - 1:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        return layers

    return nn.Sequential(
        *stage(channels, width, 1),
        *stage(width, 2 * width, 2),
        *stage(2 * width, 4 * width, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * width, n_classes),
    )


@contextmanager
def _torch_threads() -> Iterator[None]:
    """torch's own thread count (every physical core), or ``OMP_NUM_THREADS`` when that is
    lower: a study's worker processes set it to 1 so that workers do not share cores, and a
    torch imported before the variable was set would not have read it."""
    import torch

    before = torch.get_num_threads()
    limit = os.environ.get("OMP_NUM_THREADS", "")
    wanted = min(before, int(limit)) if limit.isdigit() and int(limit) > 0 else before
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if wanted != before:
            torch.set_num_threads(before)


def _validation_rows(codes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified ``fraction`` of the rows (at least one per class), or none when ``fraction``
    is 0, a class has fewer than ``_MIN_PER_CLASS_FOR_VALIDATION`` images, or the split would
    hold fewer than ``_MIN_VALIDATION_IMAGES``."""
    counts = np.bincount(codes)
    taken = [max(1, round(fraction * count)) for count in counts]
    if (
        fraction <= 0
        or counts.min() < _MIN_PER_CLASS_FOR_VALIDATION
        or sum(taken) < _MIN_VALIDATION_IMAGES
    ):
        return np.empty(0, dtype=np.int64)
    chosen = [rng.permutation(np.flatnonzero(codes == code))[:k] for code, k in enumerate(taken)]
    return np.sort(np.concatenate(chosen))


def _augment(batch: np.ndarray, shift: int, flip: bool, rng: np.random.Generator) -> np.ndarray:
    """Random shifts of up to ``shift`` pixels (the border's pixels repeated into the gap) and,
    with ``flip``, a left-right mirror of half the images; ``batch`` is (n, side, side, c)."""
    n, side = batch.shape[0], batch.shape[1]
    if shift > 0:
        padded = np.pad(batch, ((0, 0), (shift, shift), (shift, shift), (0, 0)), mode="edge")
        top = np.asarray(rng.integers(0, 2 * shift + 1, size=n))
        left = np.asarray(rng.integers(0, 2 * shift + 1, size=n))
        rows = (top[:, None] + np.arange(side))[:, :, None]
        cols = (left[:, None] + np.arange(side))[:, None, :]
        batch = padded[np.arange(n)[:, None, None], rows, cols]
    if flip:
        mirrored = rng.random(n) < 0.5
        batch = batch.copy() if shift == 0 else batch
        batch[mirrored] = batch[mirrored, :, ::-1]
    return batch


def _channel_stats(pixels: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of each channel of uint8 pixels (n, side, side, c), from
    their histogram: exact, without a float copy of the images (10 GB for 100,000 colour
    images at 64 px). A flat channel gets a deviation of 1, not 0."""
    means, stds = [], []
    for c in range(pixels.shape[-1]):
        counts = np.bincount(pixels[..., c].ravel(), minlength=256).astype(np.float64)
        levels = np.arange(256, dtype=np.float64)
        mean = float(counts @ levels / counts.sum())
        variance = float(counts @ (levels - mean) ** 2 / counts.sum())
        means.append(mean)
        stds.append(max(math.sqrt(variance), 1.0))
    return means, stds


def _batch_rows(rows: np.ndarray, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Full batches of ``rows`` without end: each pass in a new random order, the remainder
    of a pass carried into the next (so no batch is a stub of a few images)."""
    carry = rows[:0]
    while True:
        stream = np.concatenate([carry, rng.permutation(rows)])
        whole = len(stream) // batch * batch
        for i in range(0, whole, batch):
            yield stream[i : i + batch]
        carry = stream[whole:]


def _learning_rate(peak: float, step: int, warmup: int, total: int, spent: float) -> float:
    """A linear warm-up over ``warmup`` steps, then a cosine decay that reaches zero at
    ``total`` steps, or sooner when the time budget ends first.

    ``spent`` is the share of the budget gone since training began (0 without a budget). It
    moves the decay only in the budget's second half, where it runs the cosine from 0 to 1:
    a run the budget cuts short still ends at a low learning rate, and a run that finishes in
    half its budget never lets the clock into its schedule, so it is a function of its seed
    alone (slow first steps, such as the first allocation on a busy machine, cannot tip it).
    """
    if step < warmup:
        return peak * (step + 1) / warmup
    late = max(0.0, 2.0 * spent - 1.0)
    progress = min(1.0, max((step - warmup) / max(1, total - warmup), late))
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


class _BestEpoch:
    """The best epoch so far by validation score, its weights, and the epochs since; without
    validation (``score`` None) the latest epoch is the one kept."""

    def __init__(self) -> None:
        self.score: tuple[float, float] | None = None
        self.epoch = 0
        self.since = 0
        self._state: dict[str, Any] | None = None

    def offer(self, epoch: int, score: tuple[float, float] | None, network: Any) -> None:
        if score is None:
            self.epoch = epoch
        elif self.score is None or score > self.score:
            self.score, self.epoch, self.since = score, epoch, 0
            self._state = {n: t.detach().clone() for n, t in network.state_dict().items()}
        else:
            self.since += 1

    def restore(self, network: Any) -> None:
        if self._state is not None:
            network.load_state_dict(self._state)


@register
class ImageCnn(ImageStrategy):
    """A small convolutional network trained from scratch on the labelled images.

    Parameters
    ----------
    image_size : int or None, default=None
        The side in pixels images are resized to (shorter side, then centre crop). None: the
        training images' median shorter side, clamped to 28..64 px (``image_size_`` records
        the choice): 28 for Fashion-MNIST, 64 for photos.
    width : int, default=32
        Channels of the first stage; the second and third have twice and four times as many.
        The cost of a step grows with its square.
    epochs : int, default=30
        The most passes over the training images (an epoch is at least 300 images: a small
        training set is repeated).
    batch_size : int, default=128
        Images per step (fewer when the training set is smaller).
    learning_rate : float, default=3e-3
        AdamW's peak learning rate, reached after a linear warm-up, then decayed to zero.
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay.
    dropout : float, default=0.2
        Dropout before the final linear layer.
    shift : bool, default=True
        Augment with random shifts of up to a tenth of the side (at least one pixel). Right
        for nearly every image set; objects cut by the border get the border's pixels.
    horizontal_flip : bool, default=True
        Augment with left-right mirror images. Wrong where a mirror image is another class or
        no class at all: digits, letters and text (a mirrored "2" is no digit), arrows, road
        signs that point; set it False for those.
    validation_fraction : float, default=0.1
        Share of each class held out to choose the best epoch and stop early (at least one
        image per class). None is held out when the split would have fewer than 500 images or
        a class fewer than 5: the network then trains on every image for the planned epochs
        and keeps the last. 0 disables it.
    patience : int, default=6
        Epochs without a better validation accuracy before training stops.
    time_budget_s : float or None, default=600.0
        Seconds after the start of ``fit`` (decoding included) by which training ends; the
        learning rate decays to zero by then, and the best epoch is kept. None: no limit.
    random_state : int, default=0
        Seeds the network's initial weights, dropout, the validation split, the order of the
        images and the augmentation.

    Notes
    -----
    Training runs on the CPU with torch's thread count (its default: every physical core, or
    what ``torch.set_num_threads`` set), or fewer when ``OMP_NUM_THREADS`` says so, as in a
    study's worker processes. On a machine whose cores are busy with other work, two threads
    ran a training step 6x slower than one (measured on this project's 2-core machine at a
    load average of 6-8: each thread waits for the other at every operation); set one thread
    there. The thread count changes the last digits of the weights: a seed reproduces a
    model at the same thread count.
    """

    packages: ClassVar[tuple[str, ...]] = ("safetensors",)

    image_size_: int
    grayscale_: bool
    mean_: list[float]
    std_: list[float]
    network_: Any
    epochs_run_: int
    best_epoch_: int
    validation_accuracy_: float | None
    stopped_by_time_budget_: bool
    decode_seconds_: float
    train_seconds_: float

    key = "image.cnn"
    kind = "custom"
    summary = "a small convolutional network trained from scratch (augmentation, early stopping)"
    has_proba = True

    def __init__(
        self,
        *,
        image_size: int | None = None,
        width: int = 32,
        epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.05,
        dropout: float = 0.2,
        shift: bool = True,
        horizontal_flip: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 6,
        time_budget_s: float | None = 600.0,
        random_state: int = 0,
    ) -> None:
        self.image_size = image_size
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.shift = shift
        self.horizontal_flip = horizontal_flip
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_budget_s = time_budget_s
        self.random_state = random_state

    # -- training ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        checks = {
            "image_size": self.image_size is None or self.image_size >= 8,
            "width": self.width >= 1,
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 2,
            "learning_rate": self.learning_rate > 0,
            "weight_decay": self.weight_decay >= 0,
            "dropout": 0 <= self.dropout < 1,
            "validation_fraction": 0 <= self.validation_fraction < 1,
            "patience": self.patience >= 1,
            "time_budget_s": self.time_budget_s is None or self.time_budget_s > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            name = bad[0]
            raise ConfigError(
                f"image.cnn: {name}={getattr(self, name)!r} is out of range; see "
                f"help(crossover.strategies.image.cnn.ImageCnn) for what it takes"
            )

    def _fit(self, X: list[ImageInput] | None, y: list[str] | None) -> None:
        import torch

        assert X is not None and y is not None
        self._check_params()
        # The budget counts from here: decoding the images uses it too.
        start = _clock()
        deadline = math.inf if self.time_budget_s is None else start + self.time_budget_s
        size = self.image_size or choose_image_size(X)
        pixels = to_array(X, size)
        self.grayscale_ = bool(
            (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
        )
        if self.grayscale_:
            pixels = np.ascontiguousarray(pixels[..., :1])
        self.image_size_ = size
        self.decode_seconds_ = _clock() - start
        codes = np.searchsorted(self.classes_, np.asarray(y, dtype=object))
        self.mean_, self.std_ = _channel_stats(pixels)
        rng = np.random.default_rng(self.seed)
        held_out = _validation_rows(codes, self.validation_fraction, rng)
        train_rows = np.setdiff1d(np.arange(len(codes)), held_out)
        with _torch_threads(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            network = _network(pixels.shape[-1], self.width, len(self.classes_), self.dropout)
            self.network_ = network
            self._train(pixels, codes, train_rows, held_out, deadline, rng)
        self.network_.eval()
        self.train_seconds_ = _clock() - start - self.decode_seconds_

    def _train(
        self,
        pixels: np.ndarray,
        codes: np.ndarray,
        train_rows: np.ndarray,
        held_out: np.ndarray,
        deadline: float,
        rng: np.random.Generator,
    ) -> None:
        """The epochs, on a cosine schedule that ends with the planned steps or the time
        budget, whichever comes first; the best epoch is kept."""
        import torch
        import torch.nn.functional as F

        network = self.network_
        batch = min(self.batch_size, len(train_rows))
        steps_per_epoch = math.ceil(max(len(train_rows), _MIN_EPOCH_IMAGES) / batch)
        warmup = min(steps_per_epoch, max(1, self.epochs * steps_per_epoch // 20))
        optimizer = torch.optim.AdamW(
            network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        targets = torch.from_numpy(codes.astype(np.int64))
        shift = max(1, round(self.image_size_ / 10)) if self.shift else 0
        batches = _batch_rows(train_rows, batch, rng)
        best = _BestEpoch()
        total = self.epochs * steps_per_epoch
        began = _clock()
        epochs_run, step, out_of_time = 0, 0, False
        while epochs_run < self.epochs and not out_of_time:
            network.train()
            for _ in range(steps_per_epoch):
                now = _clock()
                if step > 0 and now >= deadline:  # one step at least: not a random network
                    out_of_time = True
                    break
                rows = next(batches)
                x = self._tensor(_augment(pixels[rows], shift, self.horizontal_flip, rng))
                # The share of the budget gone: 0.0 without one, 1.0 when decoding spent it;
                # counted only when the pace so far would not finish the planned steps within
                # it (and, in _learning_rate, only in its second half), so that a run the
                # budget does not bind is a function of its seed alone.
                spent = (now - began) / (deadline - began) if deadline > began else 1.0
                if step and spent * total / step <= 1.0:
                    spent = 0.0
                rate = _learning_rate(self.learning_rate, step, warmup, total, spent)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                loss = F.cross_entropy(network(x), targets[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                step += 1
            if step == epochs_run * steps_per_epoch:
                break  # the budget ended between epochs: no step since the last judged one
            epochs_run += 1
            score = self._validate(pixels[held_out], codes[held_out]) if len(held_out) else None
            best.offer(epochs_run, score, network)
            if best.since >= self.patience:
                break
        best.restore(network)
        self.epochs_run_ = epochs_run
        self.best_epoch_ = best.epoch
        self.validation_accuracy_ = None if best.score is None else best.score[0]
        self.stopped_by_time_budget_ = out_of_time

    def _validate(self, pixels: np.ndarray, codes: np.ndarray) -> tuple[float, float]:
        """(accuracy, minus the mean log-loss) on the held-out images: the larger the better,
        the loss breaking ties between epochs of equal accuracy."""
        proba = self._proba_of(pixels)
        accuracy = float((proba.argmax(axis=1) == codes).mean())
        log_loss = float(-np.log(np.maximum(proba[np.arange(len(codes)), codes], 1e-12)).mean())
        return accuracy, -log_loss

    def _tensor(self, batch: np.ndarray) -> Any:
        """A uint8 (n, side, side, c) batch as the network's normalised float input; the
        permuted view is already channels-last in memory, as the convolutions prefer."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
        mean = torch.tensor(self.mean_).view(1, -1, 1, 1)
        std = torch.tensor(self.std_).view(1, -1, 1, 1)
        return (x - mean) / std

    # -- prediction -------------------------------------------------------------------------

    def _proba_of(self, pixels: np.ndarray) -> np.ndarray:
        """Class probabilities of decoded pixels, in batches, the network in eval mode (the
        mode it was in is restored: validation runs in the middle of training)."""
        import torch

        network = self.network_
        training = network.training
        network.eval()
        out = []
        try:
            with _torch_threads(), torch.inference_mode():
                for i in range(0, len(pixels), _PREDICT_BATCH):
                    logits = network(self._tensor(pixels[i : i + _PREDICT_BATCH]))
                    out.append(logits.double().softmax(dim=1).numpy())
        finally:
            network.train(training)
        return np.concatenate(out) if out else np.empty((0, len(self.classes_)))

    def _pixels(self, X: list[ImageInput]) -> np.ndarray:
        pixels = to_array(X, self.image_size_, grayscale=self.grayscale_)
        return pixels[..., None] if self.grayscale_ else pixels

    def _predict_proba(self, X: list[ImageInput]) -> np.ndarray:
        return self._proba_of(self._pixels(X))

    def _predict(self, X: list[ImageInput]) -> np.ndarray:
        return np.asarray(self.classes_[self._predict_proba(X).argmax(axis=1)], dtype=object)

    # -- persistence and footprint ----------------------------------------------------------

    def _save_state(self, path: Path) -> None:
        from safetensors.torch import save_file

        weights = {n: t.contiguous() for n, t in self.network_.state_dict().items()}
        save_file(weights, str(path / _WEIGHTS))
        state = {
            "image_size": self.image_size_,
            "grayscale": self.grayscale_,
            "mean": self.mean_,
            "std": self.std_,
            "epochs_run": self.epochs_run_,
            "best_epoch": self.best_epoch_,
            "validation_accuracy": self.validation_accuracy_,
            "stopped_by_time_budget": self.stopped_by_time_budget_,
            "decode_seconds": round(self.decode_seconds_, 3),
            "train_seconds": round(self.train_seconds_, 3),
        }
        (path / _STATE).write_text(json.dumps(state, indent=2, sort_keys=True))

    def _load_state(self, path: Path) -> None:
        from safetensors.torch import load_file

        try:
            state = json.loads((path / _STATE).read_text())
            weights = load_file(str(path / _WEIGHTS))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{path}: the network's {_STATE} or {_WEIGHTS} is missing or unreadable "
                f"({exc}); export the model again"
            ) from exc
        self.image_size_ = int(state["image_size"])
        self.grayscale_ = bool(state["grayscale"])
        self.mean_ = [float(v) for v in state["mean"]]
        self.std_ = [float(v) for v in state["std"]]
        self.epochs_run_ = int(state["epochs_run"])
        self.best_epoch_ = int(state["best_epoch"])
        accuracy = state.get("validation_accuracy")
        self.validation_accuracy_ = None if accuracy is None else float(accuracy)
        self.stopped_by_time_budget_ = bool(state["stopped_by_time_budget"])
        self.decode_seconds_ = float(state["decode_seconds"])
        self.train_seconds_ = float(state["train_seconds"])
        channels = 1 if self.grayscale_ else 3
        network = _network(channels, self.width, len(self.classes_), self.dropout)
        try:
            network.load_state_dict(weights)
        except RuntimeError as exc:
            raise ModelError(
                f"{path}: {_WEIGHTS} does not fit the network its parameters describe "
                f"(width {self.width}, {len(self.classes_)} classes); export the model again"
            ) from exc
        self.network_ = network.eval()

    def _parameter_count(self) -> int:
        return sum(int(p.numel()) for p in self.network_.parameters())
