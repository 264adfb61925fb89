"""A study's options: one StudyPlan, the task's own options in the task's TaskOptions class,
sorted from keyword arguments, checked, round-tripped, and offered on the command line."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossover import tasks
from crossover.cli import app
from crossover.errors import ConfigError
from crossover.plan import StudyPlan
from crossover.tasks._options import TaskOptions
from tests.conftest import make_tickets


def test_of_sorts_the_tasks_own_options_from_the_studys() -> None:
    plan = StudyPlan.of("recommendation", user="u", item="i", k=5, seeds=2, model="m")
    assert plan.seeds == 2 and plan.model == "m"
    assert isinstance(plan.options, tasks.options_class("recommendation"))
    assert (plan.options.user, plan.options.item, plan.options.k) == ("u", "i", 5)


def test_another_tasks_option_is_refused_with_the_task_that_takes_it() -> None:
    with pytest.raises(ConfigError, match=r"--user is an option of the recommendation task"):
        StudyPlan.of("text-classification", user="customer")


def test_another_tasks_option_at_its_default_is_ignored() -> None:
    # crossover.compare passes every keyword it has, most at their defaults
    plan = StudyPlan.of("text-classification", holdout=5, k=10, fpr=0.01, categorical=[])
    assert not hasattr(plan.options, "holdout")


def test_an_option_of_no_task_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown study option 'colour'"):
        StudyPlan.of("text-classification", colour="red")


@pytest.mark.parametrize(
    ("task", "values", "message"),
    [
        ("tabular-classification", {"fpr": 1.5}, "--fpr 1.5"),
        ("tabular-classification", {"cost_fp": 5.0}, "--cost-fp needs --amount"),
        ("recommendation", {"user": "u", "item": "i", "k": 0}, "--k 0"),
        ("recommendation", {"user": "u"}, "needs --user COLUMN and --item COLUMN"),
    ],
)
def test_check_names_the_bad_option(task: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StudyPlan.of(task, **values).check()


def test_to_dict_and_from_dict_round_trip_the_plain_options(tmp_path: Path) -> None:
    plan = StudyPlan.of(
        "tabular-classification", label="y", drop=["id"], test=tmp_path / "t.csv", seeds=1
    )
    data = plan.to_dict()
    assert data["task_options"]["test"] == str(tmp_path / "t.csv")
    again = StudyPlan.from_dict(data)
    assert again.to_dict() == data
    assert again.options.drop == ["id"] and again.seeds == 1


def test_every_tasks_options_class_is_a_task_options_with_a_help_per_option() -> None:
    for name in tasks.names():
        cls = tasks.options_class(name)
        assert issubclass(cls, TaskOptions)
        for f in fields(cls):
            assert f.metadata.get("help"), f"{name}: option {f.name} has no help"


def test_compare_help_offers_every_tasks_options_under_its_tasks_name() -> None:
    result = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in tasks.names():
        assert f"Options of {name}" in result.output or f", {name}" in result.output
        for f in fields(tasks.options_class(name)):
            assert "--" + f.name.replace("_", "-") in result.output


def test_compare_refuses_another_tasks_option_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    make_tickets(30).to_csv(data, index=False)
    result = CliRunner().invoke(
        app, ["compare", str(data), "--user", "customer", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "--user is an option of the recommendation task" in result.output
    assert not (tmp_path / "out").exists()
