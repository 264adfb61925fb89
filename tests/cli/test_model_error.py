from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from crossover.cli import app


def test_compare_unknown_model_offline_is_one_line_and_exit_2(
    tmp_path: Path, tickets_csv: Path
) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(tickets_csv), "--model", "acme/not-here", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "'acme/not-here' is not on this machine" in lines[0]
    assert "Traceback" not in result.output


def test_compare_unknown_strategy_is_one_line_and_exit_2(tmp_path: Path, tickets_csv: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(tickets_csv), "--strategies", "text.nope", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "error: unknown strategy 'text.nope'; known strategies:" in result.stderr
