"""``crossover advise`` through the CLI: flags, prompts, an answers file, JSON, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from crossover.cli import app
from crossover.costs import load_scenario

# A domain problem with 120 labels: a hybrid under the documented rule.
FLAGS = [
    "--problem",
    "domain",
    "--labelled",
    "120",
    "--ship-within-days",
    "30",
    "--budget",
    "20000",
    "--no-accuracy-critical",
    "--no-core-product",
    "--volume",
    "500000",
    "--on-premises",
]
ANSWERS = {
    "problem": "domain",
    "labelled_examples": 120,
    "ship_within_days": 30,
    "upfront_budget_usd": 20000,
    "accuracy_critical": False,
    "ai_is_core_product": False,
    "monthly_volume": 500000,
    "data_may_leave": False,
}
# The same answers, typed at the prompts in questionnaire order.
TYPED = "domain\n120\n30\n20000\nn\nn\n500000\nn\n"


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["advise", *args], input=input)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_advise_cli_all_answers_as_flags_prints_the_advice() -> None:
    result = invoke(*FLAGS)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Advice: hybrid (self-hosted)" in out
    assert "You have 120 labelled examples: too few to train a model from scratch" in out
    assert "Your data may not leave the premises" in out
    assert "cost ranges" in out and "monthly at 500,000 predictions" in out
    assert "ruled out: data may not leave" in out  # the API row, since --on-premises
    assert "crossover compare tickets.csv" in out
    assert "on_premises: true" in out  # the suggested scenario
    assert "?" not in result.stderr  # nothing was asked


def test_advise_cli_asks_every_missing_answer_interactively() -> None:
    result = invoke("--json", input=TYPED)
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)  # the prompts went to stderr
    assert advice["answers"] == ANSWERS
    assert advice["choice"] == "hybrid"
    assert "How many labelled examples do you have?" in result.stderr
    assert "May the data leave your premises" in result.stderr
    assert json.loads(invoke("--json", *FLAGS).stdout) == advice  # same as the flags


def test_advise_cli_asks_only_what_the_flags_leave_out() -> None:
    given = [f for f in FLAGS if f not in ("--volume", "500000")]
    result = invoke("--json", *given, input="2,000,000\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answers"]["monthly_volume"] == 2_000_000
    assert "Expected predictions per month?" in result.stderr
    assert "How many labelled examples" not in result.stderr


def test_advise_cli_asks_again_after_a_bad_answer() -> None:
    typed = TYPED.replace("domain\n", "legal\ndomain\n", 1)
    result = invoke("--json", input=typed)
    assert result.exit_code == 0, result.output
    assert "problem (--problem): expected general or domain, got 'legal'; try again" in (
        result.stderr
    )
    assert result.stderr.count("Is the problem general") == 2
    assert json.loads(result.stdout)["answers"]["problem"] == "domain"


def test_advise_cli_input_that_ends_early_names_the_next_flag() -> None:
    result = invoke(input="domain\n120\n")
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: no answer for --ship-within-days (input ended): pass it as a flag or in "
        "--answers FILE"
    ]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_advise_cli_answers_file_with_a_flag_overriding_it(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    text = json.dumps(ANSWERS) if suffix == ".json" else yaml.safe_dump(ANSWERS)
    path.write_text(text, "utf-8")
    from_file = json.loads(invoke("--answers", str(path), "--json", "--no-input").stdout)
    assert from_file["answers"] == ANSWERS
    assert from_file["choice"] == "hybrid"
    # More labels, critical accuracy and a large volume from the flags turn it into custom.
    result = invoke(
        "--answers",
        str(path),
        "--labelled",
        "8000",
        "--accuracy-critical",
        "--volume",
        "3000000",
        "--json",
        "--no-input",
    )
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)
    assert advice["answers"] == {
        **ANSWERS,
        "labelled_examples": 8000,
        "accuracy_critical": True,
        "monthly_volume": 3_000_000,
    }
    assert advice["choice"] == "custom"


def test_advise_cli_json_has_every_part() -> None:
    result = invoke(*FLAGS, "--json")
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)
    assert {
        "choice",
        "serving",
        "summary",
        "reasons",
        "cost_ranges",
        "collect",
        "compare_command",
        "scenario",
        "answers",
        "catalog_as_of",
    } <= set(advice)
    assert len(advice["reasons"]) == 8
    options = [c["option"] for c in advice["cost_ranges"]]
    assert options == ["pretrained (API)", "pretrained (self-hosted)", "hybrid", "custom"]
    for cost in advice["cost_ranges"]:
        assert 0 <= cost["setup_usd_low"] <= cost["setup_usd_high"]
        assert 0 <= cost["monthly_usd_low"] <= cost["monthly_usd_high"]
        assert any(advice["catalog_as_of"] in source for source in cost["sources"])


def test_advise_cli_write_scenario_writes_a_loadable_scenario(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    result = invoke(*FLAGS, "--write-scenario", str(path))
    assert result.exit_code == 0, result.output
    scenario = load_scenario(path)
    assert scenario.volume.predictions_per_month == 500_000
    assert scenario.constraints.on_premises is True
    assert scenario.constraints.deadline_days == 30


def test_advise_cli_no_input_with_a_missing_answer_names_the_flag() -> None:
    given = [f for f in FLAGS if f not in ("--budget", "20000")]
    result = invoke(*given, "--no-input")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1
    assert "missing answer: --budget (upfront_budget_usd)" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--problem", "legal", "problem (--problem): expected general or domain, got 'legal'"),
        ("--labelled", "-5", "labelled_examples (--labelled): expected a whole number >= 0"),
        ("--volume", "lots", "monthly_volume (--volume): expected a number of predictions"),
        ("--ship-within-days", "0", "ship_within_days (--ship-within-days): expected a number"),
    ],
)
def test_advise_cli_bad_value_is_one_line_and_exit_2(flag: str, value: str, expected: str) -> None:
    args = list(FLAGS)
    args[args.index(flag) + 1] = value
    result = invoke(*args)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_advise_cli_bad_answers_file_names_the_file_and_answer(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({**ANSWERS, "labelled_examples": -3}), "utf-8")
    result = invoke("--answers", str(path), "--no-input")
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"error: {path}: labelled_examples (--labelled): expected a whole number >= 0, got -3"
    ]
    path.write_text(yaml.safe_dump({**ANSWERS, "colour": "red"}), "utf-8")
    result = invoke("--answers", str(path), "--no-input")
    assert result.exit_code == 2
    assert "unknown answer(s) colour" in error_lines(result)[0]
    result = invoke("--answers", str(tmp_path / "absent.yaml"), "--no-input")
    assert result.exit_code == 2
    assert "absent.yaml: cannot read the answers" in error_lines(result)[0]


def test_advise_cli_help_does_not_import_the_advice_logic() -> None:
    code = "import sys, crossover.cli; print('crossover.advise' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
    result = CliRunner().invoke(app, ["--help"])
    assert "advise" in result.stdout
