"""How an image study is shown in the report and the CLI (see ``crossover.tasks._present``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossover.study import Study

__all__ = ["data_summary"]


def data_summary(study: Study) -> list[tuple[str, str]]:
    """The report's data section: where the images came from, how many, how many classes."""
    data = study.dataset
    rows = [
        ("Images", str(data.get("source", ""))),
        (
            "Training images",
            f"{data.get('rows', 0):,} in {data.get('classes', 0)} classes "
            f"({data.get('rows_per_class_min', 0):,} to {data.get('rows_per_class_max', 0):,} "
            "per class)",
        ),
    ]
    if data.get("test_source"):
        rows.append(("Test images", f"{data.get('test_rows', 0):,} from {data['test_source']}"))
    rows.append(("Split", str(study.split.get("description", ""))))
    return rows
