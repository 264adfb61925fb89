"""The numbers ``advise`` assumes: the kinds, label thresholds and targets, cost factors."""

from __future__ import annotations

__all__ = [
    "CALENDAR_PER_ENGINEER_DAY",
    "CUSTOM_MIN_LABELS",
    "FEW_LABELS",
    "HIGH_END_FACTOR",
    "HIGH_VOLUME",
    "HOURS_PER_MONTH",
    "HYBRID_MIN_LABELS",
    "INPUT_TOKENS",
    "KINDS",
    "LABEL_TARGETS",
    "OUTPUT_TOKENS",
]

KINDS = ("pretrained", "hybrid", "custom")

HYBRID_MIN_LABELS = 100  # 8-16 per class for a handful of classes, plus a small test set
FEW_LABELS = 1_000  # below this, too few to train a model from scratch
CUSTOM_MIN_LABELS = 5_000  # "several thousand": where custom models usually catch up
HIGH_VOLUME = 1_000_000  # predictions a month from which owning a model usually pays back
LABEL_TARGETS = {  # labelled examples a kind needs, (low, high)
    "pretrained": (0, 300),  # none to train; a test set to check it
    "hybrid": (HYBRID_MIN_LABELS, FEW_LABELS),
    "custom": (CUSTOM_MIN_LABELS, 20_000),
}
HIGH_END_FACTOR = 2.0  # the high end of engineering days: a first attempt takes about twice
CALENDAR_PER_ENGINEER_DAY = 7 / 5
HOURS_PER_MONTH = 730
INPUT_TOKENS = (100, 500)
OUTPUT_TOKENS = (5, 20)
