"""Reading tables from files, with the encoding detected when it is not UTF-8."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from crossover.errors import DataError

__all__ = ["SUPPORTED_SUFFIXES", "read_table"]

_TEXT_FORMATS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_JSONL = {".jsonl", ".ndjson"}
_PARQUET = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = (*_TEXT_FORMATS, *_JSONL, ".json", *_PARQUET)


def _decode(raw: bytes, path: Path, warnings: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
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


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_table(path: str | Path, warnings: list[str], *, typed: bool = False) -> pd.DataFrame:
    """Read CSV, TSV, JSON Lines (or a JSON array of records) or Parquet into a DataFrame.

    Every string cell is read as text (no type guessing on labels such as ``"01"``), unless
    ``typed``: then CSV/TSV columns get pandas' types (numbers, with ``NA``, ``null`` and the
    like as missing), as a table's numeric features need.
    Problems become a ``DataError`` naming the file; warnings are appended to ``warnings``.
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
            frame = pd.read_parquet(io.BytesIO(raw))
        else:
            text = _decode(raw, path, warnings)
            if suffix in _TEXT_FORMATS:
                sep = _TEXT_FORMATS[suffix]
                # Tab-separated exports rarely quote; a stray quote must not swallow rows.
                if typed:
                    frame = pd.read_csv(
                        io.StringIO(text),
                        sep=sep,
                        quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
                    )
                else:
                    frame = pd.read_csv(
                        io.StringIO(text),
                        sep=sep,
                        dtype=str,
                        keep_default_na=False,
                        na_values=[""],
                        quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
                    )
            elif suffix in _JSONL:
                frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
            else:
                records = json.loads(text)
                frame = pd.DataFrame.from_records(records)
    except DataError:
        raise
    except Exception as exc:  # pandas raises many types; the user needs the file and the reason
        raise DataError(f"{path}: cannot be parsed as {suffix[1:]} ({_first_line(exc)})") from exc
    if frame.empty:
        raise DataError(f"{path} is empty; it has a header but no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
