"""A task's ``Presentation``: what the report and the CLI ask instead of the task's name."""

from __future__ import annotations

from crossover.tasks import get
from crossover.tasks._present import Presentation


def test_presentation_defaults_are_a_classification_leaderboard() -> None:
    present = Presentation()
    assert (present.digits, present.budget_unit, present.budget_data) == (
        3,
        "labels per class",
        "labels",
    )
    assert present.confusion
    assert present.measured_on("study") is None  # type: ignore[arg-type]
    assert present.data_summary("study") is None  # type: ignore[arg-type]
    assert present.ranking_rows("study") == []  # type: ignore[arg-type]
    assert present.ranking_note("study") == ""  # type: ignore[arg-type]


def test_presentation_sections_module_hooks_and_falls_back_for_the_rest() -> None:
    present = Presentation(sections="tests.report._sections")
    assert present.measured_on("a study") == "on a study (made up)"  # type: ignore[arg-type]
    assert present.data_summary("a study") is None  # type: ignore[arg-type]
    assert present.ranking_rows("a study") == []  # type: ignore[arg-type]


def test_recommendation_presentation_has_its_own_sections_and_no_confusion_matrix() -> None:
    present = get("recommendation").present
    assert (present.digits, present.budget_unit) == (4, "training interactions")
    assert not present.confusion
    assert present.sections == "crossover.tasks.recommendation.present"
    assert get("text-classification").present == Presentation()
