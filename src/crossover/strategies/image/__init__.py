"""Image-classification strategies.

Each strategy registers itself when its module is imported: the registry imports every
module of ``MODULES`` when it first lists the strategies, and loading a saved model imports
only the module its manifest names. The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.strategies.image.cnn import ImageCnn
    from crossover.strategies.image.embedding_head import ImageEmbeddingHead
    from crossover.strategies.image.finetune import ImageFinetune
    from crossover.strategies.image.zero_shot import ImageZeroShot

#: Each public name and the module that defines it.
_SOURCES = {
    "ImageCnn": "crossover.strategies.image.cnn",
    "ImageEmbeddingHead": "crossover.strategies.image.embedding_head",
    "ImageFinetune": "crossover.strategies.image.finetune",
    "ImageZeroShot": "crossover.strategies.image.zero_shot",
}
#: Every module of this package that registers strategies.
MODULES = tuple(sorted(set(_SOURCES.values())))

__all__ = ["MODULES", "ImageCnn", "ImageEmbeddingHead", "ImageFinetune", "ImageZeroShot"]

__getattr__ = attach(__name__, _SOURCES)
