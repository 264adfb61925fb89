"""The ``recommendation`` task's options (read by ``crossover compare`` and ``prepare``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossover.errors import ConfigError
from crossover.tasks._options import TaskOptions, option

__all__ = ["RecommendationOptions"]


@dataclass(frozen=True)
class RecommendationOptions(TaskOptions):
    """The interactions' columns, the items file, what counts as a positive, the split, ``k``."""

    user: str | None = option(None, "The user id column of the interactions.")
    item: str | None = option(None, "The item id column of the interactions.")
    items: Any = option(
        None,
        "The items file (an item id and text columns such as title, description, category); "
        "the content and hybrid strategies need it.",
        path=True,
    )
    item_id: str | None = option(None, "The items file's id column (default: --item).")
    rating: str | None = option(
        None,
        "A rating column; ratings >= --min-rating are the positives (default: every "
        "interaction is a positive, implicit feedback).",
    )
    min_rating: float | None = option(None, "With --rating: the positive threshold (4).")
    time: str | None = option(None, "Hold out each user's most recent interactions by COL.")
    text_columns: list[str] | None = option(
        None,
        "The items file's text columns (default: every text column but the id).",
        columns=True,
    )
    holdout: int = option(5, "Interactions held out per user (the most recent).")
    k: int = option(10, "The length of each top-k list.")

    def check(self) -> RecommendationOptions:
        if not self.user or not self.item:
            raise ConfigError(
                "the recommendation task needs --user COLUMN and --item COLUMN (the "
                "interactions' user and item id columns)"
            )
        if self.k < 1:
            raise ConfigError(f"--k {self.k}: use 1 or more")
        if self.holdout < 1:
            raise ConfigError(f"--holdout {self.holdout}: hold out 1 or more interactions per user")
        return self
