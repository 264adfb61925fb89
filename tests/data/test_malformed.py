"""Bad input that used to be read silently wrong (issue 18): each is now an error naming the
file, the column or the line, or a warning that says what was done.

Nested Parquet (and JSON) cells, repeated column names, ids spelt ``3``, ``"3"`` and ``3.0``,
a file mixing UTF-8 and Windows lines; and what was poorly explained: a ``;``-separated
``.csv``, one class or one row without ``--label``, a JSON Lines error as a byte offset, and a
JSON file that is not a study.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from crossover.cli import app
from crossover.data import check_flat, one_spelling
from crossover.data._read import read_table
from crossover.errors import DataError
from crossover.study import load_study
from crossover.tasks import load
from crossover.tasks.recommendation.compare import read_and_prepare
from tests.conftest import make_tickets


def _named(path: Path) -> str:
    return re.escape(str(path))


def _tickets_table(n_per_class: int = 6) -> pa.Table:
    return pa.Table.from_pandas(make_tickets(n_per_class), preserve_index=False)


# --- nested types ------------------------------------------------------------------------------


def test_parquet_list_text_column_is_an_error_naming_the_arrow_type(tmp_path: Path) -> None:
    tickets = make_tickets(6)
    words = pa.array([t.split() for t in tickets["text"]], type=pa.list_(pa.string()))
    path = tmp_path / "tokens.parquet"
    pq.write_table(pa.table({"text": words, "label": tickets["label"]}), path)

    # It used to be read as numpy's repr, "['I' 'want' ...]", and scored 0.48.
    with pytest.raises(
        DataError,
        match=rf"{_named(path)}: column 'text' holds lists \(Arrow type list<element: string>\), "
        r"not one value per cell.*join each list into one value",
    ):
        load(path, text="text", label="label")


def test_parquet_struct_label_is_an_error(tmp_path: Path) -> None:
    tickets = make_tickets(6)
    labels = [{"topic": label, "score": 1} for label in tickets["label"]]
    path = tmp_path / "struct_label.parquet"
    pq.write_table(pa.table({"text": tickets["text"], "label": labels}), path)

    with pytest.raises(
        DataError,
        match=r"column 'label' holds records \(Arrow type struct<.*spread the records' fields",
    ):
        load(path)


def test_parquet_struct_feature_of_a_table_is_an_error_not_a_crash(tmp_path: Path) -> None:
    n = 40
    path = tmp_path / "table.parquet"
    table = pa.table(
        {
            "amount": [round((i * 7.3) % 11, 2) for i in range(n)],
            "meta": [{"shop": f"s{i % 3}", "n": i} for i in range(n)],
            "label": [str(i % 2) for i in range(n)],
        }
    )
    pq.write_table(table, path)

    # It used to crash with "unhashable type: 'dict'".
    with pytest.raises(DataError, match=r"column 'meta' holds records.*--drop meta"):
        load(path, task="tabular-classification", label="label")
    # Left out with --drop, the table is read.
    dataset = load(path, task="tabular-classification", label="label", drop=["meta"])
    assert "meta" not in dataset.frame.columns


def test_parquet_nested_column_not_used_is_ignored(tmp_path: Path) -> None:
    tickets = make_tickets(6)
    path = tmp_path / "extra.parquet"
    extra = pa.array([["a", "b"]] * len(tickets), type=pa.list_(pa.string()))
    pq.write_table(
        pa.table({"text": tickets["text"], "label": tickets["label"], "tags": extra}), path
    )

    dataset = load(path, text="text", label="label")

    assert list(dataset.frame.columns) == ["text", "label"]


def test_json_lines_arrays_in_cells_are_an_error_naming_json(tmp_path: Path) -> None:
    path = tmp_path / "tokens.jsonl"
    rows = [{"text": t.split(), "label": y} for t, y in make_tickets(6).itertuples(index=False)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    with pytest.raises(DataError, match=r"column 'text' holds lists \(JSON arrays\)"):
        load(path, text="text", label="label")


def test_dataframe_of_lists_is_an_error_naming_python_lists() -> None:
    tickets = make_tickets(6)
    frame = tickets.assign(text=[t.split() for t in tickets["text"]])

    with pytest.raises(
        DataError, match=r"<DataFrame>: column 'text' holds lists \(Python lists or arrays\)"
    ):
        load(frame, text="text", label="label")


def test_check_flat_passes_flat_columns() -> None:
    check_flat(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}), ["a", "b"], "<DataFrame>")


# --- repeated column names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("t.csv", "text,label,text\nhello there,a,bye now\n"),
        ("t.tsv", "text\tlabel\ttext\nhello there\ta\tbye now\n"),
        ("spaced.csv", "text,label, text\nhello there,a,bye now\n"),
    ],
)
def test_repeated_column_name_in_a_header_is_an_error_naming_its_positions(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    # pandas used to rename the second one "text.1", quietly.
    with pytest.raises(
        DataError,
        match=rf"{_named(path)}: column name 'text' appears 2 times in the header "
        r"\(columns 1, 3\); rename or remove all but one",
    ):
        read_table(path, [])


def test_repeated_key_in_a_json_lines_record_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"text": "hello there", "label": "a"}\n{"text": "hi", "label": "b", "text": "x"}\n',
        encoding="utf-8",
    )

    with pytest.raises(DataError, match=rf"{_named(path)}: line 2 gives key 'text' twice"):
        read_table(path, [])


def test_repeated_key_in_a_json_record_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[{"text": "hello there", "label": "a", "label": "b"}]', encoding="utf-8")

    with pytest.raises(DataError, match=rf"{_named(path)}: a record gives key 'label' twice"):
        read_table(path, [])


def test_repeated_column_of_a_dataframe_is_an_error() -> None:
    frame = pd.DataFrame([["hello there", "a", "bye"]], columns=["text", "label", "text"])

    with pytest.raises(DataError, match=r"<DataFrame>: column name 'text' appears 2 times"):
        load(frame)


# --- ids written three ways --------------------------------------------------------------------


def _interactions_jsonl(path: Path) -> Path:
    rows = []
    for user in range(6):
        for item in range(6):
            rows.append({"user": user, "item": item})
    # The same user and item 3 written as an integer, a string and a float.
    rows += [{"user": 0, "item": "3"}, {"user": 1, "item": 3.0}, {"user": 2, "item": " 3"}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_ids_3_and_quoted_3_and_3_0_are_one_item_with_a_warning(tmp_path: Path) -> None:
    path = _interactions_jsonl(tmp_path / "events.jsonl")
    warnings: list[str] = []

    prepared = read_and_prepare(path, None, warnings, user="user", item="item", holdout=1)

    items = set(prepared.train["item"]) | set(prepared.test["item"])
    assert items == {"0", "1", "2", "3", "4", "5"}  # not "3.0" and "3" apart
    found = [w for w in prepared.warnings if "written in more than one way" in w]
    assert found == [
        "1 id(s) of column 'item' of the interactions are written in more than one way (e.g. "
        "3, '3', 3.0 and ' 3', all '3'); each is read as one, 4 spellings merged into 1"
    ]
    # The merged rows repeat a user and item: they are collapsed, and said so.
    assert any("3 duplicate interaction(s)" in w for w in prepared.warnings)


def test_ids_of_the_items_file_match_whichever_way_they_are_written(tmp_path: Path) -> None:
    # The interactions' item ids are floats (a missing rating widens nothing here, but a CSV
    # written from floats does), the items file's integers: they used to match nothing.
    events = pd.DataFrame(
        {"user": [u for u in range(6) for _ in range(4)], "item": [float(i) for i in range(4)] * 6}
    )
    items = pd.DataFrame({"item": range(4), "title": ["red mug", "blue mug", "lamp", "rug"]})
    events.to_csv(tmp_path / "events.csv", index=False)
    items.to_csv(tmp_path / "items.csv", index=False)

    prepared = read_and_prepare(
        tmp_path / "events.csv", tmp_path / "items.csv", [], user="user", item="item", holdout=1
    )

    assert prepared.items is not None
    assert set(prepared.items["item"]) == {"0", "1", "2", "3"}
    assert set(prepared.train["item"]) <= set(prepared.items["item"])


def test_ids_with_leading_zeros_stay_apart(tmp_path: Path) -> None:
    events = pd.DataFrame({"user": ["a", "a", "b", "b"], "item": ["007", "7", "007", "7"]})
    warnings: list[str] = []

    prepared = read_and_prepare(events, None, warnings, user="user", item="item", holdout=1)

    assert set(prepared.train["item"]) | set(prepared.test["item"]) == {"007", "7"}
    assert not any("more than one way" in w for w in prepared.warnings)


def test_labels_1_and_quoted_1_and_1_0_are_one_class_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "numbers.jsonl"
    tickets = make_tickets(6)
    labels: list[object] = [[1, "1", 1.0][i % 3] if i % 2 else "other" for i in range(len(tickets))]
    rows = [{"text": t, "label": y} for t, y in zip(tickets["text"], labels, strict=True)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    dataset = load(path, text="text", label="label")

    assert sorted(set(dataset.labels)) == ["1", "other"]  # not "1" and "1.0" apart
    merged = [w for w in dataset.warnings if "spellings merged" in w]
    assert merged == [
        f"1 label(s) of column 'label' of {path} are written in more than one way (e.g. "
        "'1', 1 and 1.0, all '1'); each is read as one, 3 spellings merged into 1"
    ]


def test_labels_1_and_1_0_of_a_table_are_one_class(tmp_path: Path) -> None:
    path = tmp_path / "table.jsonl"
    rows = [{"amount": round(i * 1.7 % 5, 2), "label": [0, 1, 1.0, "0"][i % 4]} for i in range(40)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    dataset = load(path, task="tabular-classification", label="label")

    assert sorted(set(dataset.labels)) == ["0", "1"]


def test_labels_written_one_way_are_kept_as_written(tmp_path: Path) -> None:
    path = tmp_path / "floats.jsonl"
    tickets = make_tickets(6)
    rows = [{"text": t, "label": "1.0" if i % 2 else "2.0"} for i, t in enumerate(tickets["text"])]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    dataset = load(path, text="text", label="label")

    assert sorted(set(dataset.labels)) == ["1.0", "2.0"]


@pytest.mark.parametrize(
    ("values", "expected", "n_warnings"),
    [
        (
            [3, "3", 3.0, " 3", "3.00", "007", 7, None, 2.5],
            ["3"] * 5 + ["007", "7", None, "2.5"],
            1,
        ),
        ([3.0, 4.0, None], ["3", "4", None], 0),
        (["a", " a", "b"], ["a", "a", "b"], 1),
        ([10, 20], ["10", "20"], 0),
    ],
)
def test_one_spelling_writes_each_value_one_way(
    values: list[object], expected: list[str | None], n_warnings: int
) -> None:
    series = pd.Series(values, dtype=object if any(isinstance(v, str) for v in values) else None)

    out, warnings = one_spelling(series, "id(s)", "the test")

    assert [None if pd.isna(v) else v for v in out] == expected
    assert len(warnings) == n_warnings


# --- mixed encodings ---------------------------------------------------------------------------


def test_mixed_utf8_and_latin1_rows_decode_each_as_itself_and_name_the_lines(
    tmp_path: Path,
) -> None:
    rows = [f"le café numéro {i} est très bon,{'a' if i % 2 else 'b'}\n" for i in range(20)]
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"text,label\n"
        + "".join(rows).encode("utf-8")
        + "un café crème à emporter,a\n".encode("latin-1")
        + "déjà vu, encore,b\n".replace(",", ";", 1).encode("utf-8")
        + "naïve façade,b\n".encode("cp1252")
    )
    warnings: list[str] = []

    frame = read_table(path, warnings)

    texts = frame["text"].tolist()
    # The whole file used to be detected as one code page (cp775: café -> cafķ).
    assert texts[0] == "le café numéro 0 est très bon"
    assert texts[20] == "un café crème à emporter"
    assert texts[21] == "déjà vu; encore"
    assert texts[22] == "naïve façade"
    assert warnings == [
        f"{path}: 2 line(s) are not UTF-8 (line 22, 24) while the others are; read those as "
        "cp1252 (Windows, Western Europe), the others as UTF-8. Check those rows, or re-save "
        "the file as UTF-8"
    ]


def test_mixed_utf8_and_cyrillic_rows_detect_the_cyrillic_code_page(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "text,label\nle café est bon,a\n".encode()
        + "Где моя посылка,b\nПривет мир,a\n".encode("cp1251")
        + "une crème brûlée,b\n".encode("cp1252")
    )
    warnings: list[str] = []

    frame = read_table(path, warnings)

    assert frame["text"].tolist() == [
        "le café est bon",
        "Где моя посылка",
        "Привет мир",
        "une crème brûlée",
    ]
    assert warnings == [
        f"{path}: 3 line(s) are not UTF-8 (line 3, 4, 5) while the others are; read those as "
        "cp1252 (Windows, Western Europe) and cp1251, detected, the others as UTF-8. Check "
        "those rows, or re-save the file as UTF-8"
    ]


def test_a_line_mixing_both_encodings_keeps_its_utf8_characters(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "text,label\nle café est bon,a\n".encode()
        + "café ".encode()
        + "crème".encode("cp1252")
        + b",b\n"
    )

    frame = read_table(path, [])

    assert frame["text"].tolist() == ["le café est bon", "café crème"]


def test_a_wholly_latin1_file_is_still_detected_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nLe café était froid et la crème brûlée,a\n".encode("cp1252"))
    warnings: list[str] = []

    frame = read_table(path, warnings)

    assert frame["text"].tolist() == ["Le café était froid et la crème brûlée"]
    assert "is not UTF-8 (first bad byte at offset" in warnings[0]


@pytest.mark.parametrize("bom", [b"", b"\xff\xfe"])
def test_a_utf16_file_is_detected_as_a_whole(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "unicode.tsv"
    path.write_bytes(bom + "text\tlabel\nle café est bon\ta\nПривет мир\tb\n".encode("utf-16-le"))

    frame = read_table(path, [])

    assert frame.to_dict("list") == {"text": ["le café est bon", "Привет мир"], "label": ["a", "b"]}


# --- separators --------------------------------------------------------------------------------


def test_semicolon_separated_csv_is_read_with_a_warning_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    make_tickets(6).to_csv(path, index=False, sep=";")
    warnings: list[str] = []

    dataset = load(path)
    frame = read_table(path, warnings)

    assert list(frame.columns) == ["text", "label"]
    assert warnings == [
        f"{path}: the header has no ',' but splits on ';' into 2 columns, as the rows do; "
        "read it as ';'-separated"
    ]
    assert dataset.spec.inputs == ("text",)
    assert any("';'-separated" in w for w in dataset.warnings)


def test_excel_sep_line_names_the_separator(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\ntext;label\nhello, there;a\nbye now;b\n", encoding="utf-8")

    frame = read_table(path, [])

    assert list(frame.columns) == ["text", "label"]
    assert frame["text"].tolist() == ["hello, there", "bye now"]


def test_rows_wider_than_the_header_are_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "shifted.csv"
    path.write_text("text,label\nhello,world,a\nbye,now,b\n", encoding="utf-8")

    # pandas used to make 'hello' the index: text 'world', label 'a'.
    with pytest.raises(
        DataError,
        match=rf"{_named(path)}: line 2 has 3 fields where the header names 2; put a text "
        r"that holds ',' in quotes",
    ):
        read_table(path, [])


@pytest.mark.parametrize("typed", [False, True])
def test_a_separator_ending_each_row_is_ignored_with_a_warning(tmp_path: Path, typed: bool) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("text,label\nhello,a,\nbye,b,\n", encoding="utf-8")
    warnings: list[str] = []

    frame = read_table(path, warnings, typed=typed)

    # pandas used to make the texts the index: text 'a', label missing.
    assert frame.to_dict("list") == {"text": ["hello", "bye"], "label": ["a", "b"]}
    assert warnings == [
        f"{path}: the rows end with empty fields the header does not name (a ',' at the end "
        "of each line); they are ignored"
    ]


def test_comma_separated_tsv_is_read_with_a_warning_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    make_tickets(6).to_csv(path, index=False)
    warnings: list[str] = []

    frame = read_table(path, warnings)

    assert list(frame.columns) == ["text", "label"]
    assert "read it as ','-separated" in warnings[0]


def test_one_column_csv_with_semicolons_in_its_rows_is_not_split(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("text\nhello; world\nbye; now\n", encoding="utf-8")
    warnings: list[str] = []

    frame = read_table(path, warnings)

    assert list(frame.columns) == ["text"]
    assert frame["text"].tolist() == ["hello; world", "bye; now"]
    assert warnings == []


# --- one class, one row ------------------------------------------------------------------------


def test_one_class_without_label_says_so(tmp_path: Path) -> None:
    path = tmp_path / "one_class.csv"
    make_tickets(6).assign(label="refund_request").to_csv(path, index=False)

    with pytest.raises(
        DataError,
        match=rf"{_named(path)}: column 'label' holds one value \('refund_request'\) in every "
        r"row: a single class, and a classifier needs at least two",
    ):
        load(path)


def test_one_row_without_label_says_so(tmp_path: Path) -> None:
    path = tmp_path / "one_row.csv"
    path.write_text("text,label\nmy parcel never arrived at all,delivery\n", encoding="utf-8")

    with pytest.raises(DataError, match=rf"{_named(path)} holds a single row; a classifier"):
        load(path)


# --- JSON errors by line -----------------------------------------------------------------------


def test_json_lines_error_gives_the_line_and_column_not_a_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "a", "label": "x"}\n\n{"text": "b", "label": "y"}\n{"text": "c" "label": "z"}\n',
        encoding="utf-8",
    )

    with pytest.raises(
        DataError,
        match=rf"{_named(path)}: line 4 is not valid JSON \(Expecting ',' delimiter at column "
        r"14\)",
    ):
        read_table(path, [])


def test_json_lines_line_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n["b", "y"]\n', encoding="utf-8")

    with pytest.raises(DataError, match=r"line 2 holds a JSON list, not an object"):
        read_table(path, [])


def test_json_array_of_non_records_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "values.json"
    path.write_text('[{"text": "a", "label": "x"}, 3]', encoding="utf-8")

    with pytest.raises(DataError, match=r"record 2 of the array is a JSON int, not an object"):
        read_table(path, [])


def test_json_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n {"text": "a",\n  "label": }\n]', encoding="utf-8")

    with pytest.raises(DataError, match=r"not valid JSON at line 3, column 12"):
        read_table(path, [])


# --- a JSON file that is not a study -----------------------------------------------------------


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", ["costs", "report", "export"])
@pytest.mark.parametrize(
    ("content", "found"),
    [
        ('{"model": "bert", "accuracy": 0.9}', "it holds keys 'model', 'accuracy'"),
        ("[1, 2, 3]", "it holds a JSON list"),
        ('{"schema_version": 1}', "it holds keys 'schema_version'"),
    ],
)
def test_command_on_a_json_that_is_not_a_study_says_so(
    tmp_path: Path, command: str, content: str, found: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(content, encoding="utf-8")
    extra = ["--out", str(tmp_path / "model")] if command == "export" else []

    result = _invoke(command, str(path), *extra)

    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {path} is not a crossover study (no schema_version and task; {found}); "
        "pass the study.json that `crossover compare` wrote (or its output folder)"
    )


def test_costs_on_a_csv_says_it_is_not_a_study(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    make_tickets(6).to_csv(path, index=False)

    result = _invoke("costs", str(path))

    assert result.exit_code == 2, result.output
    assert f"error: {path} is not a crossover study: not JSON (Expecting value at line 1" in (
        result.stderr
    )


def test_load_study_of_a_damaged_study_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"schema_version": 1, "task": "text-classification"}))

    with pytest.raises(
        DataError, match=r"a crossover study, but damaged or edited \(no 'headline'"
    ):
        load_study(path)


def test_load_study_of_another_schema_version_says_so(tmp_path: Path) -> None:
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"schema_version": 99}))

    with pytest.raises(DataError, match=r"study schema version 99 is not supported"):
        load_study(path)


def test_advise_answers_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(b"\xff\xfeproblem: domain\n")

    result = _invoke("advise", "--answers", str(path), "--no-input")

    # It was a UnicodeDecodeError traceback, exit 1.
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {path}: byte 0 is not UTF-8 text; the answers are a YAML or JSON file"
    )
