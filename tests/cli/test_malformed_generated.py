"""Malformed input, generated (issue 18): every reader and every command that reads a user's
file either accepts it with its meaning unchanged or refuses it with exit code 2 and one
``error:`` line; never exit 1, never a traceback.

Readers (CSV, TSV, Parquet, JSON Lines, JSON) get tables of awkward text (separators, quotes,
tabs, line breaks, accents, blanks) under awkward column names: read back, a file must equal
what was written, or be refused. Commands get a valid file damaged one way (a repeated column,
a nested column, another separator, lines in another encoding, a cut, stray bytes, one class,
ids spelt three ways, a damaged study.json, a damaged answers file): ``compare`` for each task,
``costs``, ``report``, ``export`` and ``advise``. ``CASES`` counts the examples; the README's
reliability section quotes it.
"""

from __future__ import annotations

import json
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from crossover.cli import app
from crossover.data._read import read_table
from crossover.errors import DataError
from tests.conftest import make_tickets

READERS = ("csv", "tsv", "parquet", "jsonl", "json")
#: Examples per test; the README's count is the sum (``CASES``).
EXAMPLES = {
    "reader": 100,  # per reader
    "compare-text": 40,
    "compare-text-test-file": 20,
    "compare-tabular": 15,
    "compare-recommendation": 25,
    "study-commands": 60,
    "advise-answers": 40,
}
CASES = EXAMPLES["reader"] * len(READERS) + sum(v for k, v in EXAMPLES.items() if k != "reader")


def _settings(key: str) -> Any:
    return settings(
        max_examples=EXAMPLES[key],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _assert_clean_exit(result: Result, case: str = "") -> None:
    """Exit 0 or 2 with one ``error:`` line, never an escaped exception."""
    event(f"{case} exit {result.exit_code}")  # --hypothesis-show-statistics counts them
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"escaped exception (exit 1):\n{trace}\n{result.output}")
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, result.stderr


# --- readers: round trip or refusal -----------------------------------------------------------

# Characters that break naive readers: separators, quotes, tabs, line breaks, accents, CJK.
_CELL_CHARS = st.sampled_from(list("ab ,;|\t\n\"'\\é中#=-.0123"))
_CELLS = st.one_of(st.none(), st.text(_CELL_CHARS, min_size=1, max_size=12))
_NAMES = st.sampled_from(["text", "label", "Text", " text", "text ", "a b", "é", "x;y", "1"])


@st.composite
def _tables(draw: st.DrawFn) -> pd.DataFrame:
    names = draw(st.lists(_NAMES, min_size=1, max_size=4))
    n_rows = draw(st.integers(1, 6))
    columns = [draw(st.lists(_CELLS, min_size=n_rows, max_size=n_rows)) for _ in names]
    frame = pd.DataFrame(dict(enumerate(columns)), dtype=object)
    frame.columns = names
    return frame


def _write(frame: pd.DataFrame, path: Path) -> None:
    fmt = path.suffix[1:]
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "parquet":
        arrays = [
            pa.array(frame.iloc[:, i].tolist(), type=pa.string()) for i in range(frame.shape[1])
        ]
        pq.write_table(pa.Table.from_arrays(arrays, names=list(frame.columns)), path)
    else:
        records = [
            dict(zip(frame.columns, row, strict=True)) for row in frame.itertuples(index=False)
        ]
        if len(set(frame.columns)) < frame.shape[1]:
            # A repeated key, written as a writer that does not check would.
            lines = [
                "{"
                + ", ".join(
                    f"{json.dumps(k)}: {json.dumps(v)}"
                    for k, v in zip(frame.columns, row, strict=True)
                )
                + "}"
                for row in frame.itertuples(index=False)
            ]
        else:
            lines = [json.dumps(r) for r in records]
        text = "\n".join(lines) if fmt == "jsonl" else "[" + ",\n".join(lines) + "]"
        path.write_text(text, encoding="utf-8")


def _cells(frame: pd.DataFrame) -> list[list[str | None]]:
    """Rows of cells with '' and missing alike (a CSV cannot tell them apart), all-missing rows
    left out (a CSV of one column writes them as blank lines)."""
    rows = []
    for row in frame.itertuples(index=False):
        cells = [
            None if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else str(v)
            for v in row
        ]
        if any(c is not None for c in cells):
            rows.append(cells)
    return rows


@pytest.mark.parametrize("fmt", READERS)
@_settings("reader")
@given(frame=_tables())
def test_reader_reads_a_table_back_as_written_or_refuses_it(
    fmt: str, frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp(fmt) / f"table.{fmt}"
    _write(frame, path)
    note(f"{path.name}: {path.read_bytes()!r}")
    warnings: list[str] = []

    stripped = [str(c).strip() for c in frame.columns]
    if len(set(stripped)) < len(stripped):
        with pytest.raises(DataError, match=r"appears \d times|gives key .* twice"):
            read_table(path, warnings)
        return
    if not _cells(frame):  # no value at all: refused as empty, or read as all missing
        try:
            read_table(path, warnings)
        except DataError as error:
            assert "empty" in str(error)  # noqa: PT017
        return
    read = read_table(path, warnings)

    assert list(read.columns) == [str(c).strip() for c in frame.columns]
    assert _cells(read) == _cells(frame), warnings


# --- compare: a valid file damaged one way ----------------------------------------------------


def _ticket_rows() -> pd.DataFrame:
    tickets = make_tickets(6)
    tickets["text"] = tickets["text"] + [" café" if i % 5 == 0 else "" for i in range(len(tickets))]
    return tickets


def _damage_bytes(raw: bytes, data: st.DataObject) -> bytes:
    how = data.draw(st.sampled_from(["cut", "insert", "latin1-line", "nul"]), label="bytes")
    at = data.draw(st.integers(0, len(raw)), label="at")
    if how == "cut":
        return raw[:at]
    if how == "insert":
        junk = data.draw(st.binary(min_size=1, max_size=4), label="junk")
        return raw[:at] + junk + raw[at:]
    if how == "nul":
        return raw[:at] + b"\x00" + raw[at:]
    lines = raw.split(b"\n")
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    lines[index] = lines[index].decode("utf-8", "replace").encode("latin-1", "replace")
    return b"\n".join(lines)


_FRAME_DAMAGE = (
    "none",
    "repeat-column",
    "nest-text",
    "nest-label",
    "one-class",
    "one-row",
    "numbers-as-labels",
    "empty-labels",
    "semicolons",
    "trailing-separator",
    "extra-field",
    "bytes",
)


def _damaged_tickets(
    fmt: str, data: st.DataObject, folder: Path, name: str = "tickets"
) -> tuple[Path, str, pd.DataFrame]:
    tickets = _ticket_rows()
    damage = data.draw(st.sampled_from(_FRAME_DAMAGE), label="damage")
    frame: pd.DataFrame = tickets.astype(object)
    if damage == "repeat-column":
        frame = pd.concat([frame, frame[["text"]]], axis=1)
    elif damage == "nest-text":
        frame["text"] = [t.split() for t in frame["text"]]
    elif damage == "nest-label":
        frame["label"] = [{"name": y} for y in frame["label"]]
    elif damage == "one-class":
        frame["label"] = "refund_request"
    elif damage == "one-row":
        frame = frame.head(1)
    elif damage == "numbers-as-labels":
        frame["label"] = [
            [1, "1", 1.0][i % 3] if y == "login_access" else y for i, y in enumerate(frame["label"])
        ]
    elif damage == "empty-labels":
        frame.loc[frame.index % 4 == 0, "label"] = None
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        if damage == "numbers-as-labels":  # a Parquet column holds one type
            frame["label"] = frame["label"].map(str)
        if damage == "repeat-column":
            table = pa.Table.from_arrays(
                [pa.array(frame.iloc[:, i].tolist()) for i in range(3)], names=list(frame.columns)
            )
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path)
    elif fmt in ("jsonl", "json"):
        _write(frame, path)
    else:
        sep = {"csv": ",", "tsv": "\t"}[fmt]
        if damage == "semicolons":
            sep = ";"
        frame.to_csv(path, index=False, sep=sep)
    if damage in ("trailing-separator", "extra-field") and fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        header, *rows = path.read_text(encoding="utf-8").splitlines()
        if damage == "trailing-separator":  # an empty field at the end of each row
            rows = [row + sep for row in rows]
        else:  # a value more than the header names, in every row: pandas made it the index
            rows = [f"x{sep}{row}" for row in rows]
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    if damage == "bytes":
        path.write_bytes(_damage_bytes(path.read_bytes(), data))
    return path, damage, tickets


def _compare(args: list[str], out: Path) -> Result:
    fast = ["--budgets", "full", "--seeds", "1", "--jobs", "1", "--out", str(out)]
    return CliRunner().invoke(app, ["compare", *args, *fast])


def _study(out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out / "study.json").read_text())
    return loaded


@_settings("compare-text")
@given(fmt=st.sampled_from(READERS), name_columns=st.booleans(), data=st.data())
def test_compare_text_on_a_damaged_file_accepts_it_as_meant_or_exits_2(
    fmt: str, name_columns: bool, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("text")
    path, damage, tickets = _damaged_tickets(fmt, data, folder)
    args = [str(path), "--strategies", "text.tfidf-linear"]
    args += ["--text", "text", "--label", "label"] if name_columns else []

    result = _compare(args, folder / "out")

    _assert_clean_exit(result, f"{fmt} {damage}")
    if result.exit_code != 0:
        return
    accepted = ["none", "numbers-as-labels", "empty-labels", "semicolons", "bytes"]
    accepted += ["trailing-separator"]
    if fmt in ("csv", "tsv"):  # a list written to a CSV is the text "['a', 'b']"
        accepted += ["nest-text", "nest-label"]
    else:  # the damage of a delimited file only
        accepted += ["extra-field"]
    assert damage in accepted, damage
    study = _study(folder / "out")
    labels = set(study["y_true"])
    if damage == "numbers-as-labels":
        # 1, "1" and 1.0 in a JSON file are one label; in a CSV "1.0" is what was written.
        assert labels <= {"refund_request", "delivery_status", "1", "1.0"}
        if fmt in ("jsonl", "json"):
            assert "1.0" not in labels
    elif damage == "nest-label":
        assert labels == {str({"name": y}) for y in tickets["label"]}
    elif damage not in ("bytes", "nest-text"):
        assert labels <= set(tickets["label"])
    if damage in ("none", "semicolons", "trailing-separator"):
        assert study["dataset"]["rows"] == len(tickets)


@_settings("compare-text-test-file")
@given(fmt=st.sampled_from(READERS), data=st.data())
def test_compare_text_with_a_damaged_test_file_accepts_it_as_meant_or_exits_2(
    fmt: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("text-test")
    train = folder / "train.csv"
    _ticket_rows().to_csv(train, index=False)
    test, damage, tickets = _damaged_tickets(fmt, data, folder, "test")
    args = [str(train), "--test", str(test), "--strategies", "text.tfidf-linear"]

    result = _compare(args, folder / "out")

    _assert_clean_exit(result, f"{fmt} {damage}")
    if result.exit_code == 0 and damage in ("none", "semicolons", "trailing-separator"):
        study = _study(folder / "out")
        assert study["split"]["test_rows"] == len(tickets)
        assert set(study["y_true"]) == set(tickets["label"])


def _tabular_rows(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.normal(size=n).round(3)
    return pd.DataFrame(
        {
            "amount": amount,
            "shop": rng.choice(["north", "south", "east"], n),
            "label": np.where(amount > 0, "fraud", "ok"),
        }
    )


@_settings("compare-tabular")
@given(fmt=st.sampled_from(READERS), data=st.data())
def test_compare_tabular_on_a_damaged_file_accepts_it_as_meant_or_exits_2(
    fmt: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("tabular")
    frame: pd.DataFrame = _tabular_rows().astype(object)
    damage = data.draw(
        st.sampled_from(["none", "nest-feature", "repeat-column", "one-class", "bytes"]),
        label="damage",
    )
    if damage == "nest-feature":
        frame["shop"] = [{"name": s} for s in frame["shop"]]
    elif damage == "repeat-column":
        frame = pd.concat([frame, frame[["amount"]]], axis=1)
    elif damage == "one-class":
        frame["label"] = "ok"
    path = folder / f"table.{fmt}"
    if fmt == "parquet":
        names = list(frame.columns)
        pq.write_table(
            pa.Table.from_arrays(
                [pa.array(frame.iloc[:, i].tolist()) for i in range(len(names))], names=names
            ),
            path,
        )
    elif fmt in ("jsonl", "json"):
        _write(frame, path)
    else:
        frame.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    if damage == "bytes":
        path.write_bytes(_damage_bytes(path.read_bytes(), data))
    args = [str(path), "--task", "tabular-classification", "--label", "label"]

    result = _compare([*args, "--strategies", "tabular.linear"], folder / "out")

    _assert_clean_exit(result, f"{fmt} {damage}")
    if result.exit_code == 0:
        # In a CSV a record is its text, "{'name': 'north'}": a category as good as another.
        assert damage in ("none", "bytes") or fmt in ("csv", "tsv"), damage
        if damage == "none":
            assert set(_study(folder / "out")["y_true"]) <= {"fraud", "ok"}


_N_ITEMS = 20


def _interactions() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [(u, int(i)) for u in range(10) for i in rng.choice(_N_ITEMS, 6, replace=False)]
    return pd.DataFrame(rows, columns=["user", "item"]).astype(object)


@_settings("compare-recommendation")
@given(fmt=st.sampled_from(READERS), data=st.data())
def test_compare_recommendation_on_damaged_interactions_keeps_ids_or_exits_2(
    fmt: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("recsys")
    frame = _interactions()
    items: pd.DataFrame = pd.DataFrame(
        {"item": list(range(_N_ITEMS)), "title": [f"item {i}" for i in range(_N_ITEMS)]}
    ).astype(object)
    damage = data.draw(
        st.sampled_from(
            [
                "none",
                "ids-three-ways",
                "items-ids-as-floats",
                "nest-item",
                "nest-title",
                "repeat-column",
                "bytes",
            ]
        ),
        label="damage",
    )
    if damage == "ids-three-ways":
        spell: list[Callable[[int], Any]] = [int, str, float, lambda i: f" {i} "]
        frame["item"] = [spell[n % 4](i) for n, i in enumerate(frame["item"])]
    elif damage == "items-ids-as-floats":
        items["item"] = [float(i) for i in items["item"]]
    elif damage == "nest-item":
        frame["item"] = [[i] for i in frame["item"]]
    elif damage == "nest-title":
        items["title"] = [t.split() for t in items["title"]]
    elif damage == "repeat-column":
        frame = pd.concat([frame, frame[["item"]]], axis=1)
    path, items_path = folder / f"events.{fmt}", folder / f"items.{fmt}"
    for table, where in ((frame, path), (items, items_path)):
        if fmt == "parquet":
            names = list(table.columns)
            arrays = [
                pa.array([str(v) if damage == "ids-three-ways" else v for v in table.iloc[:, i]])
                for i in range(len(names))
            ]
            pq.write_table(pa.Table.from_arrays(arrays, names=names), where)
        elif fmt in ("jsonl", "json"):
            _write(table, where)
        else:
            table.to_csv(where, index=False, sep="," if fmt == "csv" else "\t")
    if damage == "bytes":
        path.write_bytes(_damage_bytes(path.read_bytes(), data))
    args = [str(path), "--task", "recommendation", "--user", "user", "--item", "item"]
    args += ["--items", str(items_path)]

    result = _compare([*args, "--strategies", "recsys.popularity"], folder / "out")

    _assert_clean_exit(result, f"{fmt} {damage}")
    if result.exit_code == 0:
        # In a CSV a list is its text, "[3]": an id as good as another.
        assert damage not in ("nest-item", "nest-title", "repeat-column") or fmt in (
            "csv",
            "tsv",
        ), damage
        if damage in ("none", "ids-three-ways", "items-ids-as-floats", "nest-title"):
            # Every item id of the interactions matched one of the items file: none apart.
            assert _study(folder / "out")["dataset"]["items"] == _N_ITEMS


# --- costs, report, export: a damaged study.json ----------------------------------------------


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    path = folder / "tickets.csv"
    make_tickets(6).to_csv(path, index=False)
    result = _compare([str(path), "--strategies", "text.tfidf-linear"], folder / "out")
    assert result.exit_code == 0, result.output
    return folder / "out"


_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.just([]), st.just({})
)
#: Files of a compare output folder that are not the study, passed in its place.
_OTHER_FILES = ("decision.json", "leaderboard.csv", "costs.csv", "summary.md", "report.html")


def _damaged_study(data: st.DataObject, folder: Path, out: Path) -> Path:
    """A file passed as a study: another JSON, a cut study, another file of the output folder,
    or the study with a part dropped or replaced by a value of another JSON type."""
    study = json.loads((out / "study.json").read_text())
    how = data.draw(
        st.sampled_from(["drop", "junk", "junk-result", "truncate", "other-json", "other-file"]),
        label="how",
    )
    path = folder / "study.json"
    if how == "other-json":
        other = data.draw(st.dictionaries(st.text(max_size=4), _JUNK, max_size=3) | _JUNK)
        path.write_text(json.dumps(other))
    elif how == "truncate":
        text = json.dumps(study)
        path.write_text(text[: data.draw(st.integers(0, len(text) - 1), label="cut")])
    elif how == "other-file":
        name = data.draw(st.sampled_from(_OTHER_FILES), label="file")
        path = folder / name
        shutil.copy(out / name, path)
    elif how == "junk-result":
        index = data.draw(st.integers(0, len(study["results"]) - 1), label="result")
        study["results"][index] = data.draw(_JUNK, label="junk")
        path.write_text(json.dumps(study))
    else:
        key = data.draw(st.sampled_from(sorted(study)), label="key")
        if how == "drop":
            del study[key]
        else:
            study[key] = data.draw(_JUNK, label="junk")
        path.write_text(json.dumps(study))
    return path


@_settings("study-commands")
@given(command=st.sampled_from(["costs", "report", "export"]), data=st.data())
def test_study_commands_on_a_file_that_is_not_a_whole_study_exit_0_or_2(
    command: str,
    data: st.DataObject,
    study_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp(command)
    path = _damaged_study(data, folder, study_folder)
    extra = {
        "export": ["--out", str(folder / "model"), "--recommended"],
        "report": ["--out", str(folder / "report")],
    }

    result = CliRunner().invoke(app, [command, str(path), *extra.get(command, [])])

    _assert_clean_exit(result, f"{command} {path.name}")
    shutil.rmtree(folder, ignore_errors=True)


# --- advise: a damaged answers file -----------------------------------------------------------

_ANSWERS = {
    "problem": "domain",
    "labelled_examples": 120,
    "ship_within_days": 30,
    "upfront_budget_usd": 20000,
    "accuracy_critical": False,
    "ai_is_core_product": False,
    "monthly_volume": 500000,
    "data_may_leave": False,
}


@_settings("advise-answers")
@given(data=st.data())
def test_advise_on_a_damaged_answers_file_exits_0_or_2(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("advise") / "answers.yaml"
    answers: dict[str, Any] = dict(_ANSWERS)
    how = data.draw(st.sampled_from(["junk", "drop", "bytes", "other-yaml"]), label="how")
    if how == "junk":
        key = data.draw(st.sampled_from(sorted(answers)), label="key")
        answers[key] = data.draw(_JUNK | st.floats(allow_nan=True), label="junk")
    elif how == "drop":
        del answers[data.draw(st.sampled_from(sorted(answers)), label="key")]
    raw = json.dumps(answers).encode()
    if how == "bytes":
        raw = _damage_bytes(raw, data)
    elif how == "other-yaml":
        raw = data.draw(st.sampled_from([b"- a\n- b\n", b"a: [\n", b"3", b"", b"\t: x"]))
    path.write_bytes(raw)

    result = CliRunner().invoke(app, ["advise", "--answers", str(path), "--no-input", "--json"])

    _assert_clean_exit(result, f"advise {how}")
    if result.exit_code == 0 and how == "drop":
        raise AssertionError("an answer missing under --no-input must be an error")
