"""``crossover costs``, ``crossover prices`` and ``compare --scenario`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossover.cli import app
from tests.conftest import FAST_MODEL, make_tickets
from tests.costs._fixtures import make_study, result


@pytest.fixture
def study_json(tmp_path: Path) -> Path:
    study = make_study(
        result("pre", "pretrained", n_wrong=120),
        result("cust", "custom", n_wrong=40, fit_s=5.0, throughput=3000.0),
    )
    return study.to_json(tmp_path / "run" / "study.json")


def test_costs_reprices_a_saved_study_under_a_scenario(study_json: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "volume: {predictions_per_month: 5000000}\nconstraints: {min_metric: 0.8}\n"
    )
    before = study_json.read_bytes()
    res = CliRunner().invoke(app, ["costs", str(study_json), "--scenario", str(scenario)])
    assert res.exit_code == 0, res.output
    assert "Recommended: cust (custom)" in res.stdout
    assert "pre is excluded: accuracy 0.700 is below the minimum 0.8" in res.stdout
    decision = json.loads((study_json.parent / "decision.json").read_text())
    assert decision["recommendation"]["choice"] == "cust"
    assert decision["pricing"]["scenario"]["volume"]["predictions_per_month"] == 5e6
    assert decision["pricing"]["scenario_source"] == str(scenario)
    assert {s["strategy"] for s in decision["pricing"]["sheets"]} == {"pre", "cust"}
    costs = (study_json.parent / "costs.csv").read_text().splitlines()
    assert costs[0].startswith("strategy,kind,hosting,setup_usd")
    assert len(costs) == 3
    assert study_json.read_bytes() == before  # nothing recomputed or rewritten


def test_costs_with_a_bad_scenario_exits_2_naming_the_field(
    study_json: Path, tmp_path: Path
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("hardware:\n  utilisaton: 0.7\n")
    res = CliRunner().invoke(app, ["costs", str(study_json), "--scenario", str(scenario)])
    assert res.exit_code == 2
    assert "hardware.utilisaton: unknown field" in res.stderr
    assert "Traceback" not in res.output
    assert not (study_json.parent / "decision.json").exists()


def test_costs_of_a_missing_study_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["costs", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "no such study file" in res.stderr


def test_prices_lists_the_catalog_with_sources() -> None:
    res = CliRunner().invoke(app, ["prices", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["hardware"]["c7i.xlarge"]["usd_per_hour"] == 0.1785
    assert all(entry["source"] for entry in data["hardware"].values())
    assert data["labels"]["usd_per_label"] > 0
    table = CliRunner().invoke(app, ["prices"])
    assert table.exit_code == 0 and "p5.4xlarge" in table.stdout and "6.88" in table.stdout


def test_compare_with_a_bad_scenario_fails_before_any_work(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    make_tickets(6).to_csv(data, index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("hardware: {serving: m9.huge}\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["compare", str(data), "--scenario", str(scenario), "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "hardware.serving: unknown machine 'm9.huge'" in res.stderr
    assert not out.exists()


@pytest.mark.slow
def test_compare_with_a_scenario_writes_the_decision(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    make_tickets(10).to_csv(data, index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("constraints: {max_p95_latency_ms: 100000}\nhorizon_months: 6\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            str(data),
            "--scenario",
            str(scenario),
            "--out",
            str(out),
            "--model",
            FAST_MODEL,
            "--budgets",
            "full",
            "--jobs",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    decision = json.loads((out / "decision.json").read_text())
    assert decision["pricing"]["scenario"]["horizon_months"] == 6
    choice = decision["recommendation"]["choice"]
    board = json.loads((out / "study.json").read_text())["leaderboard"]
    assert choice in {row["strategy"] for row in board}
    assert f"Recommended: {choice}" in res.stdout


def test_report_renders_again_from_a_saved_study(study_json: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    res = CliRunner().invoke(app, ["report", str(study_json), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "Recommended: cust (custom)" in html
    assert (out / "summary.md").read_text().startswith("# crossover: text-classification")
    assert json.loads((out / "decision.json").read_text())["recommendation"]["choice"] == "cust"


def test_report_with_a_bad_scenario_exits_2(study_json: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("horizon_months: 0\n")
    res = CliRunner().invoke(app, ["report", str(study_json), "--scenario", str(scenario)])
    assert res.exit_code == 2 and "horizon_months" in res.stderr
    assert not (study_json.parent / "report.html").exists()
