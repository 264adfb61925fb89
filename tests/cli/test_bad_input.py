"""``crossover compare`` on bad input: exit code 2, one ``error:`` line naming what to fix,
and no traceback. These inputs fail while loading, before any model runs."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import charset_normalizer
import pandas as pd
import pytest
from charset_normalizer import CharsetMatches
from typer.testing import CliRunner, Result

from crossover.cli import app
from tests.conftest import make_tickets

# Each case writes its input under tmp_path and returns the arguments after ``compare`` and
# the pattern the error line must match.
Case = Callable[[Path], tuple[list[str], str]]


def _tickets_csv(tmp_path: Path, frame: pd.DataFrame | None = None, name: str = "t.csv") -> Path:
    path = tmp_path / name
    (make_tickets() if frame is None else frame).to_csv(path, index=False)
    return path


def _named(path: Path) -> str:
    return re.escape(str(path))


def _missing(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "nope.csv"
    return [str(path)], rf"{_named(path)}: no such file"


def _folder(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "data.csv"
    path.mkdir()
    return [str(path)], rf"{_named(path)} is a folder"


def _suffix(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "tickets.xlsx"
    path.write_bytes(b"PK\x03\x04")
    return [str(path)], rf"{_named(path)}: unsupported file type '\.xlsx'"


def _empty(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return [str(path)], rf"{_named(path)} is empty; it holds no rows"


def _header_only(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "header.csv"
    path.write_text("text,label\n", encoding="utf-8")
    return [str(path)], rf"{_named(path)} is empty; it has a header but no rows"


def _unknown_text(tmp_path: Path) -> tuple[list[str], str]:
    path = _tickets_csv(tmp_path)
    return (
        [str(path), "--text", "body"],
        rf"{_named(path)}: no column 'body' \(given by --text\); the columns are: 'text', 'label'",
    )


def _unknown_label(tmp_path: Path) -> tuple[list[str], str]:
    path = _tickets_csv(tmp_path)
    return (
        [str(path), "--label", "topic"],
        rf"{_named(path)}: no column 'topic' \(given by --label\); "
        r"the columns are: 'text', 'label'",
    )


def _ambiguous(tmp_path: Path) -> tuple[list[str], str]:
    frame = make_tickets().assign(subject=[f"subject line number {i} of it" for i in range(36)])
    path = _tickets_csv(tmp_path, frame)
    return [str(path)], rf"{_named(path)}: .*free-text columns: 'text', 'subject'"


def _one_class(tmp_path: Path) -> tuple[list[str], str]:
    path = _tickets_csv(tmp_path, make_tickets().assign(label="refund_request"))
    return (
        [str(path), "--text", "text", "--label", "label"],
        rf"{_named(path)}: column 'label' has fewer than two classes \(found 'refund_request'\)",
    )


def _single_row_class(tmp_path: Path) -> tuple[list[str], str]:
    extra = pd.DataFrame(
        {"text": ["the warranty card is missing from the box"], "label": ["warranty"]}
    )
    path = _tickets_csv(tmp_path, pd.concat([make_tickets(), extra]))
    return [
        str(path)
    ], rf"{_named(path)}: class\(es\) 'warranty' in column 'label' have a single row"


def _empty_texts_strict(tmp_path: Path) -> tuple[list[str], str]:
    frame = make_tickets()
    frame.loc[[3, 10], "text"] = ""
    path = _tickets_csv(tmp_path, frame)
    return (
        [str(path), "--strict"],
        rf"{_named(path)}: 2 row\(s\) have an empty or missing text in column 'text' "
        r"\(first at line 5\)",
    )


def _unseen_test_label(tmp_path: Path) -> tuple[list[str], str]:
    train = _tickets_csv(tmp_path)
    test = pd.DataFrame(
        {
            "text": ["my invoice is wrong", "please refund me"],
            "label": ["billing", "refund_request"],
        }
    )
    test_path = _tickets_csv(tmp_path, test, "test.csv")
    return (
        [str(train), "--test", str(test_path)],
        rf"{_named(test_path)}: test label\(s\) 'billing' never occur in the training data",
    )


def _bad_descriptions(tmp_path: Path) -> tuple[list[str], str]:
    train = _tickets_csv(tmp_path)
    path = tmp_path / "labels.yaml"
    path.write_text("refund_request: [never closed\n", encoding="utf-8")
    return (
        [str(train), "--label-descriptions", str(path)],
        rf"{_named(path)}: not valid YAML/JSON",
    )


CASES: dict[str, Case] = {
    "missing-file": _missing,
    "folder": _folder,
    "unsupported-suffix": _suffix,
    "empty-file": _empty,
    "header-only": _header_only,
    "unknown-text-column": _unknown_text,
    "unknown-label-column": _unknown_label,
    "ambiguous-columns": _ambiguous,
    "one-class": _one_class,
    "single-row-class": _single_row_class,
    "empty-texts-strict": _empty_texts_strict,
    "unseen-test-label": _unseen_test_label,
    "bad-label-descriptions": _bad_descriptions,
}


def _compare(args: list[str], out: Path) -> Result:
    return CliRunner().invoke(app, ["compare", *args, "--out", str(out)])


def _assert_one_error_line(result: Result, pattern: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_compare_bad_input_prints_one_error_line_and_exits_2(tmp_path: Path, case: Case) -> None:
    args, pattern = case(tmp_path)

    result = _compare(args, tmp_path / "out")

    _assert_one_error_line(result, pattern)
    assert not (tmp_path / "out").exists()


def test_compare_undetectable_encoding_prints_one_error_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garbage.csv"
    # A header, then bytes that cannot start a UTF-8 sequence: the first bad byte is at 11.
    path.write_bytes(b"text,label\n" + bytes(range(0x80, 0x100)) * 16)
    # Whether charset-normalizer gives up on given bytes is its call; crossover's promise is
    # the error line when it does, so make it find nothing (crossover imports it at call time).
    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda raw, **_: CharsetMatches())

    result = _compare([str(path)], tmp_path / "out")

    _assert_one_error_line(
        result, rf"{_named(path)}: byte 11 is not valid UTF-8 and the file's encoding could not"
    )
    assert not (tmp_path / "out").exists()


def test_compare_unreadable_file_prints_one_error_line_and_exits_2(tmp_path: Path) -> None:
    path = _tickets_csv(tmp_path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: a chmod 000 file is still readable")
        result = _compare([str(path)], tmp_path / "out")
    finally:
        path.chmod(0o644)

    _assert_one_error_line(result, rf"{_named(path)}: cannot be read .*permissions")


def test_compare_read_permission_error_prints_one_error_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the chmod test, but it also runs as root."""
    path = _tickets_csv(tmp_path)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)

    result = _compare([str(path)], tmp_path / "out")

    _assert_one_error_line(result, rf"{_named(path)}: cannot be read \(Permission denied\)")


def test_compare_prints_the_inferred_columns_and_writes_outputs(tmp_path: Path) -> None:
    path = _tickets_csv(tmp_path)
    out = tmp_path / "out"

    result = _compare([str(path), "--strategies", "text.tfidf-linear"], out)

    assert result.exit_code == 0, result.output
    assert "inferred --text text" in result.stderr
    assert "inferred --label label" in result.stderr
    assert "error:" not in result.output
    assert (out / "study.json").is_file()
    assert (out / "leaderboard.csv").is_file()
    assert "text.tfidf-linear" in result.stdout
