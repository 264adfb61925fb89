"""``crossover compare`` ends with the commands that export and serve the recommended model."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crossover
from crossover.cli import app
from crossover.cli.compare import _next_steps
from tests.conftest import FAST_MODEL, make_tickets


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("next")
    make_tickets(10).to_csv(root / "tickets.csv", index=False)
    args = ["compare", str(root / "tickets.csv"), "--model", FAST_MODEL]
    args += ["--strategies", "text.tfidf-linear", "--budgets", "full", "--seeds", "1"]
    args += ["--jobs", "1", "--out", str(root / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root / "out", result.stdout


def _commands(stdout: str) -> list[list[str]]:
    return [shlex.split(line) for line in stdout.splitlines() if line.startswith("  crossover ")]


def test_compare_next_steps_name_the_recommended_strategy(compared: tuple[Path, str]) -> None:
    out, stdout = compared
    _, recommendation = crossover.decide(crossover.load_study(out / "study.json"))
    assert recommendation.choice == "text.tfidf-linear"
    export, serve = _commands(stdout)
    model_dir = str(out / "model")
    assert export == [
        "crossover",
        "export",
        str(out),
        "--strategy",
        "text.tfidf-linear",
        "--out",
        model_dir,
    ]
    assert serve == ["crossover", "serve", model_dir]


def test_compare_next_steps_export_command_runs(compared: tuple[Path, str]) -> None:
    out, stdout = compared
    export, serve = _commands(stdout)
    result = CliRunner().invoke(app, export[1:])
    assert result.exit_code == 0, result.output
    assert crossover.load_model(out / "model").manifest["strategy"] == "text.tfidf-linear"
    # The folder the printed serve command names is the one export wrote.
    assert Path(serve[-1]) == out / "model"


def test_next_steps_avoid_a_used_folder_and_quote_paths(tmp_path: Path) -> None:
    out = tmp_path / "my out"
    (out / "model").mkdir(parents=True)
    (out / "model" / "manifest.json").write_text("{}")
    export, serve = (shlex.split(line) for line in _next_steps("text.tfidf-linear", out)[1:])
    assert export[2] == str(out) and export[-1] == serve[-1] == str(out / "model-2")
    assert "KEY" in _next_steps(None, out)[1]


def test_help_names_the_extras_to_install() -> None:
    # Rich markup would read "[ray]" as a tag and drop it: the help must say what to install.
    result = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "pip install 'crossover[ray]'" in result.output
    assert "pip install 'crossover[mlflow]'" in result.output
