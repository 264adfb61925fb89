"""``crossover.load`` (texts): formats, column inference, a fixed test set, label descriptions,
and one test per bad input, each checking that the ``DataError`` names what to fix."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import charset_normalizer
import pandas as pd
import pytest
from charset_normalizer import CharsetMatches

from crossover.data import load_label_descriptions
from crossover.errors import ConfigError, DataError
from crossover.tasks import load
from tests.conftest import make_tickets

LABELS = ("refund_request", "login_access", "delivery_status")
DESCRIPTIONS = {
    "refund_request": "The customer wants their money back.",
    "login_access": "The customer cannot sign in to their account.",
    "delivery_status": "The customer asks where their parcel is.",
}
FRENCH = [
    ("Le café était froid et la crème brûlée trop sucrée", "food"),
    ("Une question naïve sur la facture du déjeuner de février", "billing"),
    ("Le gâteau à la crème était délicieux, très réussi", "food"),
    ("Pourquoi ma facture de décembre est-elle erronée ?", "billing"),
    ("Le thé au café du coin était très épicé", "food"),
    ("Je n'ai reçu aucun reçu pour mon paiement à l'hôtel", "billing"),
    ("La crème fraîche était périmée, quel dégoût", "food"),
    ("Le prélèvement a été effectué deux fois ce mois-ci", "billing"),
]

# A header, then bytes that cannot start a UTF-8 sequence: the first bad byte is at offset 11.
NOT_UTF8 = b"text,label\n" + bytes(range(0x80, 0x100)) * 16


def _path(tmp_path: Path, name: str) -> str:
    """The path as a regular expression, to check that a message names the file."""
    return re.escape(str(tmp_path / name))


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:  # pragma: no cover - a typo in a test
        raise AssertionError(path.suffix)
    return path


def _with_accents(frame: pd.DataFrame) -> pd.DataFrame:
    """The tickets plus rows with commas and non-ASCII characters, to exercise quoting/UTF-8."""
    extra = pd.DataFrame(
        {
            "text": ["remboursez-moi, le café est arrivé cassé", "mot de passe oublié, naïve"],
            "label": ["refund_request", "login_access"],
        }
    )
    return pd.concat([frame, extra], ignore_index=True)


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_load_file_formats_give_the_same_rows_as_the_dataframe(
    tmp_path: Path, tickets: pd.DataFrame, suffix: str
) -> None:
    frame = _with_accents(tickets)
    path = _write(frame, tmp_path / f"tickets{suffix}")

    from_file = load(path)
    from_frame = load(frame)

    pd.testing.assert_frame_equal(from_file.frame, from_frame.frame)
    assert from_file.spec == from_frame.spec
    assert from_file.fingerprint == from_frame.fingerprint
    assert from_file.source == str(path)
    assert from_file.warnings == []
    assert "remboursez-moi, le café est arrivé cassé" in set(from_file.texts)


def test_load_dataframe_keeps_every_row_and_names_its_source(tickets: pd.DataFrame) -> None:
    dataset = load(tickets)

    assert dataset.source == "<DataFrame>"
    assert len(dataset.frame) == len(tickets) == 36
    assert list(dataset.texts) == list(tickets["text"])
    assert sorted(dataset.labels.unique()) == sorted(LABELS)
    assert dataset.test is None


def test_load_labels_stay_text_and_are_not_parsed_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    frame = make_tickets().assign(
        label=lambda f: f["label"].map(dict(zip(LABELS, ["01", "02", "10"], strict=True)))
    )
    _write(frame, path)

    dataset = load(path, text="text", label="label")

    assert sorted(dataset.labels.unique()) == ["01", "02", "10"]


def test_load_unknown_task_is_an_error(tickets: pd.DataFrame) -> None:
    # The task registry answers, naming the known tasks.
    with pytest.raises(ConfigError, match="unknown task 'ner'; known tasks: text-classification"):
        load(tickets, task="ner")


# --- column inference ------------------------------------------------------------------------


def test_load_infers_one_free_text_and_one_low_cardinality_column(
    tmp_path: Path, tickets: pd.DataFrame
) -> None:
    frame = tickets.assign(id=[f"T{i}" for i in range(len(tickets))])[["id", "label", "text"]]
    path = _write(frame, tmp_path / "tickets.csv")

    dataset = load(path)

    assert dataset.inferred == {"text": "text", "label": "label"}
    assert dataset.spec.inputs == ("text",)
    assert dataset.spec.target == "label"
    assert list(dataset.frame.columns) == ["text", "label"]


def test_load_infers_only_the_column_that_was_not_given(tickets: pd.DataFrame) -> None:
    dataset = load(tickets.rename(columns={"text": "body"}), text="body")

    assert dataset.inferred == {"label": "label"}
    assert dataset.spec.inputs == ("body",)


def test_load_given_columns_are_not_recorded_as_inferred(tickets: pd.DataFrame) -> None:
    assert load(tickets, text="text", label="label").inferred == {}


def test_load_two_free_text_columns_is_an_error_naming_both(tickets: pd.DataFrame) -> None:
    frame = tickets.assign(subject=[f"subject line number {i} of the ticket" for i in range(36)])

    with pytest.raises(DataError, match=r"free-text columns: 'text', 'subject'.*pass --text"):
        load(frame)


def test_load_two_label_like_columns_is_an_error_naming_both(tickets: pd.DataFrame) -> None:
    frame = tickets.assign(priority=["low", "high"] * 18)

    with pytest.raises(
        DataError, match=r"low-cardinality columns: 'label', 'priority'.*pass --label"
    ):
        load(frame)


def test_load_no_free_text_column_is_an_error_listing_the_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"code": ["a", "b", "c"] * 4, "label": ["x", "y"] * 6})
    path = _write(frame, tmp_path / "short.csv")

    with pytest.raises(
        DataError,
        match=rf"{_path(tmp_path, 'short.csv')}: .*free-text columns: none.*'code', 'label'",
    ):
        load(path)


# --- a fixed test set ------------------------------------------------------------------------


def _test_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [
                "I would like a refund for the chair I returned",
                "the login page says my password is wrong",
                "parcel stuck at the depot for a week",
            ],
            "label": list(LABELS),
        }
    )


def test_load_fixed_test_file_is_kept_apart(tmp_path: Path, tickets_csv: Path) -> None:
    test_path = _write(_test_rows(), tmp_path / "test.csv")

    dataset = load(tickets_csv, test=test_path)

    assert dataset.test is not None
    assert list(dataset.test["text"]) == list(_test_rows()["text"])
    assert dataset.test_source == str(test_path)
    assert len(dataset.frame) == 36
    assert dataset.warnings == []
    assert dataset.summary()["test_rows"] == 3


def test_load_fixed_test_set_changes_the_fingerprint(tickets: pd.DataFrame) -> None:
    assert load(tickets, test=_test_rows()).fingerprint != load(tickets).fingerprint


def test_load_test_labels_unseen_in_training_is_an_error_naming_them(
    tmp_path: Path, tickets_csv: Path
) -> None:
    rows = pd.concat(
        [_test_rows(), pd.DataFrame({"text": ["my invoice is wrong"], "label": ["billing"]})]
    )
    test_path = _write(rows, tmp_path / "test.csv")

    with pytest.raises(
        DataError, match=rf"{_path(tmp_path, 'test.csv')}: test label\(s\) 'billing' never occur"
    ):
        load(tickets_csv, test=test_path)


def test_load_test_file_without_the_label_column_is_an_error(
    tmp_path: Path, tickets_csv: Path
) -> None:
    test_path = _write(_test_rows().rename(columns={"label": "topic"}), tmp_path / "test.csv")

    with pytest.raises(
        DataError, match=rf"{_path(tmp_path, 'test.csv')}: no column 'label'.*'text', 'topic'"
    ):
        load(tickets_csv, test=test_path)


def test_load_rows_in_both_train_and_test_give_a_leakage_warning(
    tmp_path: Path, tickets: pd.DataFrame, tickets_csv: Path
) -> None:
    leaked = pd.DataFrame(
        {
            "text": [tickets["text"][0], "  " + tickets["text"][20].upper() + "  "],
            "label": [tickets["label"][0], tickets["label"][20]],
        }
    )
    test_path = _write(pd.concat([_test_rows(), leaked]), tmp_path / "test.csv")

    dataset = load(tickets_csv, test=test_path)

    leakage = [w for w in dataset.warnings if "leakage" in w]
    assert len(leakage) == 1
    assert "2 test row(s) of 5" in leakage[0]


# --- label descriptions ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_load_label_descriptions_from_yaml_and_json(
    tmp_path: Path, tickets: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path / f"labels{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(DESCRIPTIONS), encoding="utf-8")
    else:
        path.write_text("".join(f"{k}: {v}\n" for k, v in DESCRIPTIONS.items()), encoding="utf-8")

    dataset = load(tickets, label_descriptions=path)

    assert dataset.spec.label_descriptions == DESCRIPTIONS
    assert dataset.warnings == []


def test_load_label_descriptions_bundled_example_matches_its_data() -> None:
    from crossover.data import example_path

    path = example_path()
    dataset = load(path, label_descriptions=path.with_name("support_tickets_labels.yaml"))

    assert dataset.spec.label_descriptions is not None
    assert set(dataset.spec.label_descriptions) == set(dataset.labels)


def test_load_label_descriptions_missing_some_labels_warns(tickets: pd.DataFrame) -> None:
    partial = {"refund_request": DESCRIPTIONS["refund_request"]}

    dataset = load(tickets, label_descriptions=partial)

    assert any("no description for 2 label(s)" in w for w in dataset.warnings)


def test_load_label_descriptions_of_only_unknown_labels_is_an_error(
    tickets: pd.DataFrame,
) -> None:
    with pytest.raises(DataError, match=r"none of the described labels \('billing'\) occur"):
        load(tickets, label_descriptions={"billing": "money matters"})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.yaml", "refund_request: [never closed\n", "not valid YAML/JSON"),
        ("bad.json", '{"refund_request": "money back",}', "not valid YAML/JSON"),
        ("list.yaml", "- refund_request\n- login_access\n", "expected a mapping of label"),
        ("blank.yaml", "refund_request: ''\n", "label 'refund_request' is not a non-empty text"),
    ],
)
def test_load_label_descriptions_bad_file_is_an_error_naming_it(
    tmp_path: Path, tickets: pd.DataFrame, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(DataError, match=rf"{_path(tmp_path, name)}: .*{re.escape(message)}"):
        load(tickets, label_descriptions=path)


def test_load_label_descriptions_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"{_path(tmp_path, 'nope.yaml')}: no such"):
        load_label_descriptions(tmp_path / "nope.yaml")


# --- bad inputs: the file --------------------------------------------------------------------


def test_load_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"{_path(tmp_path, 'nope.csv')}: no such file"):
        load(tmp_path / "nope.csv")


def test_load_unreadable_file_is_an_error_naming_it(tmp_path: Path, tickets_csv: Path) -> None:
    tickets_csv.chmod(0)
    try:
        if os.access(tickets_csv, os.R_OK):
            pytest.skip("running as root: a chmod 000 file is still readable")
        with pytest.raises(
            DataError, match=rf"{re.escape(str(tickets_csv))}: cannot be read .*permissions"
        ):
            load(tickets_csv)
    finally:
        tickets_csv.chmod(0o644)


def test_load_read_permission_error_is_a_data_error(
    tickets_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the chmod test, but it also runs as root."""

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)

    with pytest.raises(
        DataError,
        match=rf"{re.escape(str(tickets_csv))}: cannot be read \(Permission denied\)",
    ):
        load(tickets_csv)


def test_load_folder_instead_of_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "data.csv").mkdir()

    with pytest.raises(DataError, match=rf"{_path(tmp_path, 'data.csv')} is a folder"):
        load(tmp_path / "data.csv")


@pytest.mark.parametrize(("name", "shown"), [("tickets.xlsx", "'.xlsx'"), ("tickets", "'(no")])
def test_load_unsupported_suffix_is_an_error_naming_it(
    tmp_path: Path, name: str, shown: str
) -> None:
    (tmp_path / name).write_text("text,label\n", encoding="utf-8")

    with pytest.raises(
        DataError,
        match=rf"{_path(tmp_path, name)}: unsupported file type {re.escape(shown)}.*\.csv",
    ):
        load(tmp_path / name)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_load_empty_file_is_an_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")

    with pytest.raises(
        DataError, match=rf"{_path(tmp_path, path.name)} is empty; it holds no rows"
    ):
        load(path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_load_header_only_file_is_an_error(tmp_path: Path, suffix: str) -> None:
    path = _write(pd.DataFrame({"text": [], "label": []}, dtype=str), tmp_path / f"h{suffix}")

    with pytest.raises(DataError, match=rf"{_path(tmp_path, path.name)} is empty; it has a header"):
        load(path)


def test_load_empty_dataframe_is_an_error() -> None:
    with pytest.raises(DataError, match="<DataFrame>: the DataFrame is empty"):
        load(pd.DataFrame({"text": [], "label": []}))


def test_load_unparsable_json_lines_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "hello there", "label": "a"}\n{"text": oops\n', encoding="utf-8")

    with pytest.raises(
        DataError, match=rf"{_path(tmp_path, 'broken.jsonl')}: line 2 is not valid JSON"
    ):
        load(path)


# --- bad inputs: columns and classes ---------------------------------------------------------


@pytest.mark.parametrize(("kwarg", "flag"), [("text", "--text"), ("label", "--label")])
def test_load_unknown_column_is_an_error_listing_the_columns(
    tmp_path: Path, tickets_csv: Path, kwarg: str, flag: str
) -> None:
    with pytest.raises(
        DataError,
        match=rf"{re.escape(str(tickets_csv))}: no column 'body' \(given by {flag}\); "
        r"the columns are: 'text', 'label'",
    ):
        load(tickets_csv, **{kwarg: "body"})


def test_load_fewer_than_two_classes_is_an_error(tmp_path: Path, tickets: pd.DataFrame) -> None:
    path = _write(tickets.assign(label="refund_request"), tmp_path / "one.csv")

    with pytest.raises(
        DataError,
        match=rf"{_path(tmp_path, 'one.csv')}: column 'label' has fewer than two classes "
        r"\(found 'refund_request'\)",
    ):
        load(path, text="text", label="label")


def test_load_class_with_a_single_row_is_an_error_naming_it(
    tmp_path: Path, tickets: pd.DataFrame
) -> None:
    extra = pd.DataFrame(
        {"text": ["the warranty card is missing from the box"], "label": ["warranty"]}
    )
    path = _write(pd.concat([tickets, extra]), tmp_path / "rare.csv")

    with pytest.raises(
        DataError,
        match=rf"{_path(tmp_path, 'rare.csv')}: class\(es\) 'warranty' in column 'label' "
        "have a single row",
    ):
        load(path)


# --- bad inputs: empty values ----------------------------------------------------------------


def _with_empty_texts(tmp_path: Path, tickets: pd.DataFrame) -> Path:
    frame = tickets.copy()
    frame.loc[3, "text"] = ""
    frame.loc[10, "text"] = "   "
    return _write(frame, tmp_path / "gaps.csv")


def test_load_empty_texts_are_dropped_with_a_warning(tmp_path: Path, tickets: pd.DataFrame) -> None:
    path = _with_empty_texts(tmp_path, tickets)

    dataset = load(path)

    assert len(dataset.frame) == 34
    assert dataset.texts.str.strip().ne("").all()
    assert len(dataset.warnings) == 1
    assert re.search(
        rf"{re.escape(str(path))}: dropped 2 row\(s\) with an empty or missing text in column "
        r"'text' \(first at line 5\)",
        dataset.warnings[0],
    )


def test_load_null_texts_and_labels_in_a_dataframe_are_dropped(tickets: pd.DataFrame) -> None:
    frame = tickets.astype(object)
    frame.loc[0, "text"] = None
    frame.loc[1, "text"] = float("nan")
    frame.loc[2, "label"] = None

    dataset = load(frame, text="text", label="label")

    assert len(dataset.frame) == 33
    assert any("dropped 2 row(s) with an empty or missing text" in w for w in dataset.warnings)
    assert any("dropped 1 row(s) with an empty or missing label" in w for w in dataset.warnings)


def test_load_empty_texts_with_strict_is_an_error(tmp_path: Path, tickets: pd.DataFrame) -> None:
    path = _with_empty_texts(tmp_path, tickets)

    with pytest.raises(
        DataError,
        match=rf"{re.escape(str(path))}: 2 row\(s\) have an empty or missing text in column "
        r"'text' \(first at line 5\)",
    ):
        load(path, strict=True)


def test_load_only_empty_texts_is_an_error(tickets: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no rows left with both a text and a label"):
        load(tickets.assign(text=""), text="text", label="label")


# --- bad inputs: encodings -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_load_non_utf8_file_is_decoded_with_a_warning(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "french.csv"
    rows = "".join(f'"{text}",{label}\n' for text, label in FRENCH)
    path.write_bytes(("text,label\n" + rows).encode(encoding))

    dataset = load(path)

    assert list(dataset.texts) == [text for text, _ in FRENCH]
    assert "crème brûlée" in dataset.texts[0]
    assert "naïve" in dataset.texts[1]
    assert len(dataset.warnings) == 1
    # Which code page charset-normalizer names (cp1252, latin-1, ...) is its choice: the
    # decoded texts above are crossover's promise, the warning need only name one.
    assert re.search(
        rf"{re.escape(str(path))} is not UTF-8 \(first bad byte at offset 18\); "
        r"read it as \S+, detected",
        dataset.warnings[0],
    )


def test_load_utf8_with_a_byte_order_mark_reads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    rows = "".join(f'"{text}",{label}\n' for text, label in FRENCH)
    path.write_bytes(("text,label\n" + rows).encode("utf-8-sig"))

    dataset = load(path)

    assert dataset.inferred == {"text": "text", "label": "label"}
    assert dataset.texts[0] == FRENCH[0][0]
    assert dataset.warnings == []


def test_load_undetectable_encoding_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(NOT_UTF8)
    # Whether charset-normalizer gives up on given bytes is its call; crossover's promise is
    # the error when it does, so make it find nothing (``_decode`` imports it at call time).
    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda raw, **_: CharsetMatches())

    with pytest.raises(
        DataError,
        match=rf"{_path(tmp_path, 'garbage.csv')}: byte 11 is not valid UTF-8 and the file's "
        "encoding could not be detected; re-save it as UTF-8",
    ):
        load(path)
