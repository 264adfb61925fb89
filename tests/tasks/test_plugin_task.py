"""A task from outside crossover (``tests/plugins/keyword_task.py``), installed only as entry
points, runs a whole study through ``crossover compare``: its options on the command line, its
``prepare``, its strategies, the report. Nothing in crossover names it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "keyword-classification"
ENTRY_POINTS = f"""\
[crossover.tasks]
{NAME} = tests.plugins.keyword_task:TASK

[crossover.task_options]
{NAME} = tests.plugins.keyword_task:KeywordOptions

[crossover.strategies]
keyword = tests.plugins.keyword_task
"""


@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python that sees the plugin's distribution (its entry points)."""
    site = tmp_path / "site"
    info = site / "keyword_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keyword-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    path = os.pathsep.join([str(ROOT), str(site), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "CROSSOVER_CACHE_DIR": str(tmp_path / "cache")}


def _crossover(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys\nfrom crossover.cli import main\nsys.argv[0] = 'crossover'\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _texts(path: Path) -> Path:
    rows = []
    for i in range(40):
        for label, words in (("refund", "money back"), ("login", "password reset")):
            rows.append({"text": f"please {label} {words} case {i}", "label": label})
        rows.append({"text": "hi", "label": "refund" if i % 2 else "login"})
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_plugin_tasks_options_are_offered_by_compare(plugin_env: dict[str, str]) -> None:
    result = _crossover(["compare", "--help"], plugin_env)
    assert result.returncode == 0, result.stderr
    assert f"Options of {NAME}" in result.stdout
    assert "--min-words" in result.stdout


def test_a_plugin_task_runs_a_whole_study(plugin_env: dict[str, str], tmp_path: Path) -> None:
    data = _texts(tmp_path / "texts.csv")
    out = tmp_path / "out"
    args = ["compare", str(data), "--task", NAME, "--text", "text", "--label", "label"]
    result = _crossover(
        [*args, "--min-words", "2", "--seeds", "1", "--jobs", "1", "--out", str(out)], plugin_env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "dropped 40 texts of fewer than 2 words" in result.stderr
    study = json.loads((out / "study.json").read_text())
    assert study["task"] == NAME
    assert study["dataset"]["dropped_short"] == 40
    strategies = {r["strategy"] for r in study["leaderboard"]}
    assert strategies == {"keyword.majority", "keyword.label-word"}
    best = max(study["leaderboard"], key=lambda r: r["score"])
    assert best["strategy"] == "keyword.label-word" and best["score"] == 1.0
    assert (out / "report.html").stat().st_size > 0


def test_another_tasks_option_is_refused_for_the_plugin(
    plugin_env: dict[str, str], tmp_path: Path
) -> None:
    data = _texts(tmp_path / "texts.csv")
    result = _crossover(
        ["compare", str(data), "--task", NAME, "--user", "u", "--out", str(tmp_path / "o")],
        plugin_env,
    )
    assert result.returncode == 2
    assert f"--user is an option of the recommendation task(s), not of {NAME}" in result.stderr
