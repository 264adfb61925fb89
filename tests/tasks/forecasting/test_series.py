"""Reading series in long format: columns, frequency, gaps, duplicates, short series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError
from crossover.tasks.forecasting.backtest import clip, cuts, window_cut
from crossover.tasks.forecasting.series import MIN_TRAIN, read_series, season_of


def monthly(ids: dict[str, int], start: str = "2020-01-01") -> pd.DataFrame:
    """Series ``id -> length`` of month starts, values 1, 2, 3 ... per series."""
    parts = [
        pd.DataFrame(
            {
                "unique_id": key,
                "ds": pd.date_range(start, periods=n, freq="MS"),
                "y": np.arange(1.0, n + 1),
            }
        )
        for key, n in ids.items()
    ]
    return pd.concat(parts, ignore_index=True)


def test_nixtla_columns_are_found_and_the_frequency_inferred() -> None:
    panel = read_series(monthly({"a": 30, "b": 40}), horizon=6)
    assert panel.ids == ["a", "b"]
    assert panel.freq == "MS" and panel.season == 12 and panel.horizon == 6
    assert list(panel.lengths) == [30, 40]
    np.testing.assert_array_equal(panel.series[0].values, np.arange(1.0, 31))
    assert any("inferred" in note for note in panel.notes)
    back = panel.to_frame()
    assert list(back.columns) == ["unique_id", "ds", "y"] and len(back) == 70
    assert back["ds"].iloc[29] == pd.Timestamp("2022-06-01")


def test_rows_in_any_order_are_sorted_by_series_and_time() -> None:
    frame = monthly({"a": 20, "b": 20}).sample(frac=1.0, random_state=0)
    panel = read_series(frame, horizon=3)
    np.testing.assert_array_equal(panel.series[1].values, np.arange(1.0, 21))


def test_other_column_names_are_named_or_inferred() -> None:
    frame = monthly({"s1": 24}).rename(columns={"unique_id": "store", "ds": "when", "y": "units"})
    frame["when"] = frame["when"].dt.strftime("%Y-%m")  # text: not found by its type either
    with pytest.raises(DataError, match=r"which column holds the timestamps\? Name it with --time"):
        read_series(frame)
    panel = read_series(frame, id="store", time="when", target="units")
    assert panel.ids == ["s1"] and panel.horizon == 12  # one season by default
    with pytest.raises(DataError, match=r"no column 'sku' for the series ids"):
        read_series(frame, id="sku", time="when")


def test_without_an_id_column_the_rows_are_one_series() -> None:
    frame = monthly({"x": 24}).drop(columns="unique_id")
    panel = read_series(frame, horizon=4)
    assert panel.ids == ["series"] and panel.columns["id"] is None


def test_a_repeated_timestamp_is_refused_naming_the_series() -> None:
    frame = monthly({"a": 24, "b": 24})
    frame = pd.concat([frame, frame.iloc[[30]]], ignore_index=True)
    with pytest.raises(DataError, match=r"series 'b' has timestamp 2020-07-01.* more than once"):
        read_series(frame, horizon=4)


def test_values_that_are_not_numbers_are_refused_with_their_row() -> None:
    frame = monthly({"a": 24})
    frame["y"] = frame["y"].astype(object)
    frame.loc[5, "y"] = "n/a?"
    with pytest.raises(DataError, match=r"series 'a' has 'n/a\?' in column 'y' \(row 6\)"):
        read_series(frame, horizon=4)


def test_dates_that_do_not_parse_are_refused_with_their_row() -> None:
    frame = monthly({"a": 24})
    frame["ds"] = frame["ds"].dt.strftime("%Y-%m-%d").astype(object)
    frame.loc[3, "ds"] = "someday"
    with pytest.raises(DataError, match=r"'someday' in row 4, which is not a date"):
        read_series(frame, horizon=4)


def test_gaps_are_filled_and_counted_or_refused_when_strict() -> None:
    frame = monthly({"a": 30, "b": 30}).drop(index=[5, 6]).reset_index(drop=True)
    frame.loc[40, "y"] = np.nan  # series b, a missing value
    panel = read_series(frame, horizon=6)
    a, b = panel.series
    assert (a.filled, b.filled) == (2, 1)
    np.testing.assert_allclose(a.values, np.arange(1.0, 31))  # linear: exact on a line
    assert any("3 gap(s) in 2 series filled by linear interpolation" in w for w in panel.warnings)
    zero = read_series(frame, horizon=6, fill="zero")
    assert zero.series[0].values[5] == 0.0
    with pytest.raises(DataError, match=r"series 'a' has 2 gap\(s\), the first at 2020-06-01"):
        read_series(frame, horizon=6, strict=True)


def test_a_timestamp_off_the_grid_is_refused() -> None:
    frame = monthly({"a": 24})
    frame.loc[10, "ds"] = pd.Timestamp("2020-11-15")
    with pytest.raises(DataError, match=r"series 'a' has a timestamp 2020-11-15.* not on the MS"):
        read_series(frame, horizon=4, freq="MS")


def test_short_series_are_left_out_and_named_or_refused() -> None:
    frame = monthly({"long": 40, "short": 10})
    panel = read_series(frame, horizon=6, windows=2)
    assert panel.ids == ["long"]
    needed = 6 * 2 + MIN_TRAIN
    assert any(f"left out, shorter than the {needed} points" in w for w in panel.warnings)
    with pytest.raises(DataError, match=r"1 of 2 series are shorter .* 'short'"):
        read_series(frame, horizon=6, windows=2, strict=True)
    with pytest.raises(DataError, match=r"2 of 2 series .* lower --horizon or --windows"):
        read_series(frame, horizon=14, windows=3)


def test_negative_values_are_a_warning() -> None:
    frame = monthly({"a": 24, "b": 24})
    frame.loc[3, "y"] = -2.0
    panel = read_series(frame, horizon=4)
    assert any("1 series have negative values" in w and "'a'" in w for w in panel.warnings)


@pytest.mark.parametrize(
    ("freq", "season"),
    [
        ("MS", 12),
        ("ME", 12),
        ("QS-JAN", 4),
        ("W-SUN", 52),
        ("D", 7),
        ("h", 24),
        ("YS", 1),
        (None, 1),
    ],
)
def test_season_lengths_follow_the_frequency(freq: str | None, season: int) -> None:
    assert season_of(freq) == season


def test_weekly_data_with_gaps_gets_its_frequency_from_the_common_step() -> None:
    weeks = pd.date_range("2023-01-01", periods=30, freq="W-SUN").delete([3, 9, 15, 21, 27])
    frame = pd.DataFrame({"ds": weeks, "y": np.arange(len(weeks), dtype=float)})
    panel = read_series(frame, horizon=4)
    assert panel.freq == "W-SUN" and panel.season == 52
    assert panel.series[0].filled == 5


def test_integer_steps_have_no_calendar() -> None:
    frame = pd.DataFrame({"id": ["a"] * 20, "t": range(1, 21), "y": np.ones(20)})
    panel = read_series(frame, time="t", horizon=3, season=4)
    assert panel.freq is None and panel.season == 4
    assert list(panel.index(panel.series[0], 18)) == [19, 20]
    with pytest.raises(ConfigError, match=r"whole numbers .* no pandas frequency"):
        read_series(frame, time="t", horizon=3, freq="D")


def test_a_bad_frequency_or_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"--freq 'fortnightly' is not a pandas frequency"):
        read_series(monthly({"a": 24}), freq="fortnightly")
    with pytest.raises(ConfigError, match=r"--fill 'mean'"):
        read_series(monthly({"a": 24}), fill="mean")


def test_a_csv_file_reads_like_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    monthly({"a": 26, "b": 30}).to_csv(path, index=False)
    panel = read_series(path, horizon=6)
    assert panel.source == str(path) and panel.freq == "MS"
    assert panel.fingerprint == read_series(monthly({"a": 26, "b": 30}), horizon=6).fingerprint


# -- backtest cut-offs --------------------------------------------------------------------------


def test_windows_cut_each_series_from_its_end() -> None:
    # Two series of 30 and 40 points, 3 windows of 6 steps: the last window ends at the end.
    got = [(c.series, c.window, c.end) for c in cuts([30, 40], 3, 6)]
    assert got == [(0, 0, 12), (1, 0, 22), (0, 1, 18), (1, 1, 28), (0, 2, 24), (1, 2, 34)]
    assert window_cut(30, 0, 3, 6, step=1) == 22
    with pytest.raises(ConfigError, match=r"too short for 3 backtest window"):
        window_cut(15, 0, 3, 6)


def test_clip_keeps_the_last_points() -> None:
    history = np.arange(10.0)
    np.testing.assert_array_equal(clip(history, 3), [7.0, 8.0, 9.0])
    assert clip(history, None) is history and clip(history, 50) is history


def test_usual_sales_names_are_found_and_the_value_option_is_the_one_named() -> None:
    frame = pd.DataFrame(
        {
            "store": ["a"] * 30 + ["b"] * 30,
            "month": list(pd.date_range("2020-01-01", periods=30, freq="MS")) * 2,
            "units": np.arange(60, dtype=float),
        }
    )
    panel = read_series(frame, horizon=3)
    assert panel.columns == {"id": "store", "time": "month", "target": "units"}
    assert panel.ids == ["a", "b"]
    two = frame.assign(other=1.0).rename(columns={"units": "x"})
    with pytest.raises(DataError, match="Name it with --value"):
        read_series(two, horizon=3)
