"""Reading tables from files: formats, delimiters, encodings; what cannot be read as meant is
refused (or, where crossover can still read it as meant, read with a warning that says how).

Refused, a ``DataError`` naming the file and the place: a column name given twice (pandas
would rename the second ``text.1``), a JSON Lines line that is not a JSON object (its line
number), a JSON key repeated within one record. Read with a warning: a ``.csv`` separated by
``;`` (or ``|``, or tabs) and a ``.tsv`` separated by commas, when the header and the first rows
all split into the same columns with that separator (Excel's first line ``sep=;`` is obeyed
silently); rows that end with a separator the header does not have; a file that is not UTF-8
(its encoding detected); a file mixing UTF-8 lines with lines of a Windows code page (each
decoded as what it is, the other lines named). Refused too: a row wider than the header by a
value (pandas would shift every column by one).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal
from warnings import catch_warnings, simplefilter

import pandas as pd

from crossover.errors import DataError

__all__ = ["ARROW_TYPES", "SUPPORTED_SUFFIXES", "read_table", "refuse_duplicates"]

_TEXT_FORMATS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_JSONL = {".jsonl", ".ndjson"}
_PARQUET = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = (*_TEXT_FORMATS, *_JSONL, ".json", *_PARQUET)
#: ``DataFrame.attrs`` key of a Parquet table's nested columns: name -> Arrow type.
ARROW_TYPES = "crossover_arrow_types"

_SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_SNIFF_ROWS = 50
_EXCEL_SEP = re.compile(r'"?sep=([^\r\n"])"?\r?\n')
_SHOWN_LINES = 5
# A line that is not UTF-8 in a file of UTF-8 lines: by default bytes of the Windows code page
# of Western Europe, what a spreadsheet on Windows writes (the five bytes it leaves undefined as
# Latin-1). Detection on a few short lines is unreliable (it ranks cp1250 first for "crème",
# which it reads "crčme"), so another code page is detected only for lines that cp1252 turns
# into words of accented letters alone, as it does Cyrillic or Greek.
_FALLBACK = "cp1252"
_MAX_NON_ASCII_LETTERS = 0.5


def _bytes_as(encoding: str) -> str:
    """The name of a decoding error handler that reads each undecodable byte in
    ``encoding`` (a single-byte code page), Latin-1 where it leaves a byte undefined."""
    name = f"crossover-{encoding}"
    try:
        codecs.lookup_error(name)
    except LookupError:

        def handler(exc: UnicodeError) -> tuple[str, int]:
            if not isinstance(exc, UnicodeDecodeError):
                raise exc
            bad = exc.object[exc.start : exc.end]
            return "".join(_byte_as(b, encoding) for b in bad), exc.end

        codecs.register_error(name, handler)
    return name


def _byte_as(byte: int, encoding: str) -> str:
    try:
        return bytes([byte]).decode(encoding)
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")


def _western(line: bytes) -> bool:
    """Whether cp1252 reads ``line`` as words mostly of ASCII letters (module comment)."""
    letters = [c for c in line.decode(_FALLBACK, errors="replace") if c.isalpha()]
    return sum(not c.isascii() for c in letters) <= _MAX_NON_ASCII_LETTERS * len(letters)


def _code_page_of(lines: list[bytes]) -> str:
    """The single-byte code page detected for ``lines``; cp1252 when none is."""
    best = _detect(b"\n".join(lines)) if lines else None
    if best is None:
        return _FALLBACK
    try:  # a code page of one byte a character: each line's other bytes are read one by one
        high = bytes(range(0x80, 0x100)).decode(best.encoding, errors="replace")
    except LookupError:
        return _FALLBACK
    return str(best.encoding) if len(high) == 0x80 else _FALLBACK


def _decode_mixed(body: bytes, bad: list[int]) -> tuple[str, list[str]]:
    """``body`` decoded line by line: UTF-8 where valid, the bytes of the ``bad`` lines that
    are not in cp1252, or in the code page detected for the lines cp1252 cannot read; and
    the code pages used."""
    lines = body.split(b"\n")
    not_utf8 = set(bad)
    western = {n for n in bad if _western(lines[n - 1])}
    other = _code_page_of([lines[n - 1] for n in bad if n not in western])
    out = []
    for number, line in enumerate(lines, 1):
        if number in not_utf8:
            encoding = _FALLBACK if number in western else other
            line_text = line.decode("utf-8", errors=_bytes_as(encoding))
        else:
            line_text = line.decode("utf-8")
        out.append(line_text)
    used = [_FALLBACK] if western else []
    used += [other] if len(western) < len(bad) and other not in used else []
    return "\n".join(out), used


def _lines_not_utf8(raw: bytes) -> tuple[list[int], int]:
    """The (1-based) numbers of the lines that are not UTF-8, and how many other lines hold
    UTF-8 beyond ASCII."""
    bad: list[int] = []
    n_utf8 = 0
    for number, line in enumerate(raw.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
        else:
            n_utf8 += 1
    return bad, n_utf8


def _some(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_SHOWN_LINES]))
    return shown + (
        f" and {len(numbers) - _SHOWN_LINES} more" if len(numbers) > _SHOWN_LINES else ""
    )


def _decode(raw: bytes, path: Path, warnings: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # UTF-16 and UTF-32 (with their BOM, or their NUL bytes) are not read line by line.
    wide = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw[:4096]
    if not wide:
        bad, n_utf8 = _lines_not_utf8(raw)
        if n_utf8:
            # Rows appended by another program: detecting one encoding for the whole file
            # would misread the UTF-8 rows (``café`` -> ``cafķ``); each line is read as what
            # it is instead, UTF-8 where it is valid.
            body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
            text, used = _decode_mixed(body, bad)
            named = " and ".join(
                f"{e} (Windows, Western Europe)" if e == _FALLBACK else f"{e}, detected"
                for e in used
            )
            warnings.append(
                f"{path}: {len(bad)} line(s) are not UTF-8 (line {_some(bad)}) while the "
                f"others are; read those as {named}, the others as UTF-8. Check those rows, "
                "or re-save the file as UTF-8"
            )
            return text
    best = _detect(raw)
    if best is None or best.encoding in {"utf_8", "utf-8"}:
        raise DataError(
            f"{path}: byte {first_bad} is not valid UTF-8 and the file's encoding could not be "
            "detected; re-save it as UTF-8"
        )
    warnings.append(
        f"{path} is not UTF-8 (first bad byte at offset {first_bad}); read it as "
        f"{best.encoding}, detected. Re-save it as UTF-8 to be sure every character is right."
    )
    return str(best)


def _detect(raw: bytes) -> Any:
    """charset_normalizer's best match for ``raw`` (None when it finds none), cp1252 on a tie."""
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = top = matches.best()
    if top is not None:
        # charset_normalizer ranks ties (same mess and coherence) by the order it tried the
        # code pages, so French read as cp1252 and as cp1250 tie and cp1250 wins ("crème"
        # becomes "crčme"). On a tie prefer cp1252, the encoding of Western Windows exports.
        best = next(
            (
                m
                for m in matches
                if m.encoding == "cp1252"
                and abs(m.chaos - top.chaos) < 0.005
                and abs(m.coherence - top.coherence) <= 0.02
            ),
            top,
        )
    return best


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _quoting(sep: str) -> Literal[0, 3]:
    """Tab-separated exports rarely quote; a stray quote must not swallow rows."""
    return csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL


def _tsv_quoting(text: str) -> Literal[0, 3]:
    """Quotes of a tab-separated file are read as quotes when they are a writer's (pandas,
    Excel): every quoted field quoted whole, and every row then of the header's width. A
    quoted field may hold tabs and line breaks, which read as text would split one row into
    two. Otherwise (a stray quote such as ``5" screen``) quotes are plain characters."""
    if '"' not in text:
        return csv.QUOTE_NONE
    try:
        rows = csv.reader(io.StringIO(text), delimiter="\t", strict=True)
        widths = {len(row) for row in rows if row}
    except csv.Error:
        return csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL if len(widths) == 1 else csv.QUOTE_NONE


def _rows(text: str, sep: str) -> Iterator[list[str]]:
    quoting = _quoting(sep)
    sample = "".join(islice(io.StringIO(text), _SNIFF_ROWS))
    return (row for row in csv.reader(io.StringIO(sample), delimiter=sep, quoting=quoting) if row)


def _separator(text: str, expected: str, path: Path, warnings: list[str]) -> str:
    """``expected`` (the suffix's separator), unless the header has none of it and another
    separator splits the header and nearly every sampled row into the same columns."""
    try:
        header = next(_rows(text, expected), [])
    except csv.Error:
        return expected
    if len(header) > 1:
        return expected
    for sep in _SEPARATORS:
        if sep == expected:
            continue
        try:
            rows = list(_rows(text, sep))
        except csv.Error:
            continue
        n_columns = len(rows[0]) if rows else 0
        if n_columns < 2 or sum(len(r) == n_columns for r in rows) < 0.9 * len(rows):
            continue
        warnings.append(
            f"{path}: the header has no {_SEPARATOR_NAMES[expected]} but splits on "
            f"{_SEPARATOR_NAMES[sep]} into {n_columns} columns, as the rows do; read it as "
            f"{_SEPARATOR_NAMES[sep]}-separated"
        )
        return sep
    return expected


def _check_header(text: str, sep: str, path: Path) -> None:
    """Refuse a name that the header gives twice: pandas would rename the second ``text.1``."""
    try:
        header = next(_rows(text, sep), [])
    except csv.Error:
        return  # pandas says what is wrong with the file
    refuse_duplicates([name.strip() for name in header], path, "the header")


def _wider_rows(text: str, sep: str, quoting: Literal[0, 3], path: Path) -> bool:
    """Whether the rows are wider than the header by empty fields only (a separator ending
    each line): then they are read without those. pandas would make the first column the
    index when the first row is wider, shifting every value into the column to its left; a
    wider row with a value in its extra fields is a ``DataError`` naming its line."""
    rows = (row for row in csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting) if row)
    try:
        width = len(next(rows))
        first = next(rows, [])
    except (csv.Error, StopIteration):
        return False  # pandas says what is wrong with the file
    if len(first) <= width:
        return False
    reader = csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting)
    for row in reader:
        if any(cell.strip() for cell in row[width:]):
            name = _SEPARATOR_NAMES[sep]
            raise DataError(
                f"{path}: line {reader.line_num} has {len(row)} fields where the header names "
                f"{width}; put a text that holds {name} in quotes, or give every column a name"
            )
    return True


def refuse_duplicates(names: list[str], path: Path | str, where: str) -> None:
    """A ``DataError`` when a (non-empty) name occurs twice in ``names``, giving its positions."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, 1):
        if name:
            positions.setdefault(name, []).append(position)
    for name, found in positions.items():
        if len(found) > 1:
            places = ", ".join(map(str, found))
            raise DataError(
                f"{path}: column name {name!r} appears {len(found)} times in {where} (columns "
                f"{places}); rename or remove all but one, crossover would not know which "
                "one you mean"
            )


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(k for k in keys if keys.count(k) > 1)
        raise _RepeatedKeyError(repeated)
    return dict(pairs)


class _RepeatedKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _check_json_lines(text: str, path: Path) -> None:
    """Every non-blank line one JSON object without a repeated key; else a DataError that
    gives the line (and column) rather than a byte offset."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_no_repeated_keys)
        except _RepeatedKeyError as exc:
            raise DataError(
                f"{path}: line {number} gives key {exc.key!r} twice; keep one, crossover "
                "would not know which value you mean"
            ) from None
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                "fix that line: JSON Lines holds one JSON object per line"
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}: line {number} holds a JSON {type(record).__name__}, not an object; "
                'JSON Lines holds one object per line, such as {"text": "...", "label": "..."}'
            )


def _json_records(text: str, path: Path) -> pd.DataFrame:
    try:
        records = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKeyError as exc:
        raise DataError(
            f"{path}: a record gives key {exc.key!r} twice; keep one, crossover would not know "
            "which value you mean"
        ) from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "fix the file"
        ) from None
    if isinstance(records, list):
        wrong = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
        if wrong is not None:
            raise DataError(
                f"{path}: record {wrong + 1} of the array is a JSON "
                f"{type(records[wrong]).__name__}, not an object; the file must be an array "
                'of records such as [{"text": "...", "label": "..."}]'
            )
        return pd.DataFrame.from_records(records)
    if isinstance(records, dict):
        return pd.DataFrame(records)
    raise DataError(
        f"{path}: holds a JSON {type(records).__name__}, not an array of records such as "
        '[{"text": "...", "label": "..."}]'
    )


def _read_parquet(raw: bytes, path: Path) -> pd.DataFrame:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pq.read_schema(io.BytesIO(raw))
    refuse_duplicates([str(name).strip() for name in schema.names], path, "the schema")
    frame = pd.read_parquet(io.BytesIO(raw))
    nested = {
        str(field.name).strip(): str(field.type)
        for field in schema
        if pa.types.is_nested(field.type) or pa.types.is_union(field.type)
    }
    if nested:
        frame.attrs[ARROW_TYPES] = nested
    return frame


def _read_delimited(
    text: str, sep: str, quoting: Literal[0, 3], typed: bool, path: Path, warnings: list[str]
) -> pd.DataFrame:
    wider = _wider_rows(text, sep, quoting, path)
    if wider:
        warnings.append(
            f"{path}: the rows end with empty fields the header does not name (a "
            f"{_SEPARATOR_NAMES[sep]} at the end of each line); they are ignored"
        )
    with catch_warnings():
        # Told to keep the first column (index_col=False), pandas warns of the empty fields.
        simplefilter("ignore", pd.errors.ParserWarning)
        if typed:
            return pd.read_csv(
                io.StringIO(text),
                sep=sep,
                quoting=quoting,
                index_col=False if wider else None,
            )
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            quoting=quoting,
            index_col=False if wider else None,
        )


def read_table(path: str | Path, warnings: list[str], *, typed: bool = False) -> pd.DataFrame:
    """Read CSV, TSV, JSON Lines (or a JSON array of records) or Parquet into a DataFrame.

    Every string cell is read as text (no type guessing on labels such as ``"01"``), unless
    ``typed``: then CSV/TSV columns get pandas' types (numbers, with ``NA``, ``null`` and the
    like as missing), as a table's numeric features need.
    Problems become a ``DataError`` naming the file; warnings are appended to ``warnings``.
    Cells that hold lists or records (Parquet's nested types, JSON arrays and objects) are
    kept as they are; a task refuses them in the columns it uses (``crossover.data.check_flat``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path (relative to {Path.cwd()})")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass the data file inside it")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"{path}: unsupported file type {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    if not raw.strip():
        raise DataError(f"{path} is empty; it holds no rows")

    try:
        if suffix in _PARQUET:
            frame = _read_parquet(raw, path)
        else:
            text = _decode(raw, path, warnings)
            if suffix in _TEXT_FORMATS:
                declared = _EXCEL_SEP.match(text)
                if declared:  # Excel's first line "sep=;" names the separator
                    sep, text = declared.group(1), text[declared.end() :]
                else:
                    sep = _separator(text, _TEXT_FORMATS[suffix], path, warnings)
                _check_header(text, sep, path)
                quoting = _tsv_quoting(text) if sep == "\t" else csv.QUOTE_MINIMAL
                frame = _read_delimited(text, sep, quoting, typed, path, warnings)
            elif suffix in _JSONL:
                _check_json_lines(text, path)
                with catch_warnings():
                    # pandas 2.3 warns that date-like columns of digit strings will parse as
                    # dates (pandas 3 does); the file reads the same either way for real dates.
                    simplefilter("ignore", FutureWarning)
                    frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
            else:
                frame = _json_records(text, path)
    except DataError:
        raise
    except Exception as exc:  # pandas raises many types; the user needs the file and the reason
        raise DataError(f"{path}: cannot be parsed as {suffix[1:]} ({_first_line(exc)})") from exc
    if frame.empty:
        raise DataError(f"{path} is empty; it has a header but no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    refuse_duplicates(list(frame.columns), path, "the file")
    return frame
