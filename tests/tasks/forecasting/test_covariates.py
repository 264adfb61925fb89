"""Covariates of a forecasting panel: static columns (one value per series) and columns known
in advance (a value at every timestamp, the future's included): read and checked, handed to
the strategy honestly in a backtest, learned from by the boosted model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import crossover
from crossover.errors import ConfigError, DataError
from crossover.strategies.forecast import ForecastGbm, ForecastSeasonalNaive
from crossover.strategies.forecast._base import Covariates
from crossover.tasks.forecasting.evaluate import backtest
from crossover.tasks.forecasting.present import data_summary
from crossover.tasks.forecasting.series import read_series

#: A promotion multiplies the week's sales by this, by store size: the static category says
#: how much (small stores gain most).
LIFTS = {"small": 3.0, "medium": 2.0, "large": 1.5}
LEVELS = {"small": 20.0, "medium": 100.0, "large": 500.0}


def promo_sales(count: int = 30, weeks: int = 104, seed: int = 0) -> pd.DataFrame:
    """Weekly sales of ``count`` stores: a level set by the store's ``size`` (static), a
    yearly wave, noise, and ``promo`` weeks (known in advance, 1 week in 5 at random) that
    lift the week's sales by the size's factor. Columns: store, week, sales, promo, size."""
    rng = np.random.default_rng(seed)
    sizes = list(LIFTS)
    frames = []
    weeks_index = pd.date_range("2022-01-02", periods=weeks, freq="W-SUN")
    for i in range(count):
        size = sizes[i % len(sizes)]
        level = LEVELS[size] * (1 + 0.1 * rng.normal())
        promo = rng.random(weeks) < 0.2
        wave = 1 + 0.1 * np.sin(2 * np.pi * np.arange(weeks) / 52)
        noise = 1 + 0.05 * rng.normal(size=weeks)
        sales = level * wave * np.where(promo, LIFTS[size], 1.0) * noise
        frames.append(
            pd.DataFrame(
                {
                    "store": f"store-{i}",
                    "week": weeks_index,
                    "sales": sales.round(3),
                    "promo": promo,
                    "size": size,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def small(frame: pd.DataFrame | None = None, **options: Any) -> Any:
    """The first 3 stores, horizon 4, read with the options given."""
    data = promo_sales(3, 30) if frame is None else frame
    return read_series(data, id="store", time="week", target="sales", horizon=4, **options)


# -- reading -------------------------------------------------------------------------------------


def test_covariates_are_read_into_each_series_and_the_fingerprint() -> None:
    frame = promo_sales(3, 30)
    panel = small(frame, static=["size"], known="promo")
    assert panel.static_names == ("size",) and panel.known_names == ("promo",)
    first = panel.series[0]
    assert first.static == {"size": "small"}
    assert first.known is not None and first.known.shape == (30, 1)
    rows = frame[frame["store"] == "store-0"]
    np.testing.assert_array_equal(first.known[:, 0], rows["promo"].to_numpy(dtype=float))
    assert set(np.unique(first.known)) <= {0.0, 1.0}  # booleans as 0 and 1
    assert "static covariates: 'size' (categories)" in panel.notes
    assert "known covariates (known in advance): 'promo'" in panel.notes
    # The covariates are part of the data: another promotion week, another fingerprint.
    plain = small(frame)
    assert plain.fingerprint != panel.fingerprint and not plain.has_covariates
    changed = frame.copy()
    changed.loc[0, "promo"] = not changed.loc[0, "promo"]
    assert small(changed, static="size", known="promo").fingerprint != panel.fingerprint
    # Without covariates the fingerprint is that of the columns alone (as before them).
    alone = small(frame.drop(columns=["promo", "size"]))
    assert alone.fingerprint == plain.fingerprint


def test_a_comma_separated_text_names_several_columns() -> None:
    frame = promo_sales(3, 30)
    frame["price"] = 9.99
    frame["region"] = "north"
    panel = small(frame, static="size, region", known="promo,price")
    assert panel.static_names == ("size", "region") and panel.known_names == ("promo", "price")
    assert panel.series[1].static == {"size": "medium", "region": "north"}
    with pytest.raises(ConfigError, match=r"--known names the column 'promo' twice"):
        small(frame, known="promo,promo")


def test_columns_left_unused_are_named_in_a_note() -> None:
    panel = small(promo_sales(3, 30))
    assert panel.known_names == () and panel.series[0].known is None
    [note] = [n for n in panel.notes if "not used" in n]
    assert "'promo', 'size' not used" in note and "--known" in note and "--static" in note
    used = small(promo_sales(3, 30), known="promo")
    assert any("'size' not used" in n for n in used.notes)


def test_a_missing_covariate_column_is_refused_listing_the_columns() -> None:
    with pytest.raises(DataError, match=r"no column 'price' for --known; its columns are: 'store'"):
        small(known="price")
    with pytest.raises(DataError, match=r"no column 'region' for --static; its columns are: "):
        small(static="region")


def test_a_column_named_twice_is_refused() -> None:
    with pytest.raises(DataError, match=r"'promo' is named by both --static and --known"):
        small(static="promo", known="promo")
    with pytest.raises(DataError, match=r"'sales' holds the values; it cannot also be .*--known"):
        small(known="sales")
    with pytest.raises(DataError, match=r"'week' holds the timestamps; .*\(--static\)"):
        small(static="week")
    with pytest.raises(DataError, match=r"'store' holds the series ids; .*\(--static\)"):
        small(static="store")


def test_a_covariate_is_never_taken_for_the_values() -> None:
    """Without --value, the one numeric column left is the values: a known column is not."""
    frame = promo_sales(3, 30).rename(columns={"sales": "amount"})
    frame["promo"] = frame["promo"].astype(float)
    with pytest.raises(DataError, match=r"which column holds the values"):
        read_series(frame, id="store", time="week", horizon=4)
    panel = read_series(frame, id="store", time="week", horizon=4, known="promo")
    assert panel.columns["target"] == "amount"


def test_a_static_column_that_varies_within_a_series_is_refused_naming_both_rows() -> None:
    frame = promo_sales(3, 30)
    frame.loc[5, "size"] = "large"  # store-0's sixth week
    with pytest.raises(
        DataError,
        match=r"series 'store-0' has 'small' \(row 1\) and 'large' \(row 6\) in the static "
        r"column 'size'; a --static column holds one value per series",
    ):
        small(frame, static="size")


def test_a_static_value_missing_in_some_rows_is_the_series_value() -> None:
    frame = promo_sales(3, 30).astype({"size": object})
    frame.loc[[0, 1], "size"] = None
    frame.loc[frame["store"] == "store-2", "size"] = None
    panel = small(frame, static="size")
    assert panel.series[0].static == {"size": "small"}
    assert panel.series[2].static == {"size": None}
    assert any("'size' is missing for 1 series" in n and "'store-2'" in n for n in panel.notes)


def test_text_in_a_known_column_is_refused_with_its_row() -> None:
    frame = promo_sales(3, 30)
    frame["promo"] = frame["promo"].map({True: "yes", False: "no"})
    with pytest.raises(
        DataError,
        match=r"series 'store-0' has 'no' in the known covariate column 'promo' \(row 1\), "
        r"which is not a number; --known takes numbers or booleans",
    ):
        small(frame, known="promo")
    frame["promo"] = 1.0
    frame.loc[3, "promo"] = np.inf
    with pytest.raises(
        DataError, match=r"infinite value in the known covariate column 'promo' \(row 4\)"
    ):
        small(frame, known="promo")


def test_missing_known_values_are_filled_and_counted_or_refused_when_strict() -> None:
    frame = promo_sales(3, 30)
    frame["price"] = np.arange(len(frame), dtype=float)
    frame.loc[[2, 3], "price"] = np.nan  # store-0, weeks 3 and 4
    frame.loc[30, "price"] = np.nan  # store-1's first week: filled from the one after
    panel = small(frame, known="price")
    first, second = panel.series[0], panel.series[1]
    np.testing.assert_array_equal(first.known[:6, 0], [0, 1, 1, 1, 4, 5])  # type: ignore[index]
    assert second.known[0, 0] == 31.0  # type: ignore[index]
    assert first.known_filled == 2 and second.known_filled == 1
    assert any("3 missing known covariate value(s) in 2 series filled" in n for n in panel.notes)
    with pytest.raises(
        DataError,
        match=r"series 'store-0' has no value of the known covariate 'price' at 2022-01-16 .*"
        r"--strict refuses them",
    ):
        small(frame, known="price", strict=True)


def test_a_gap_in_the_timestamps_gets_the_known_value_before_it() -> None:
    frame = promo_sales(3, 30)
    frame["price"] = np.arange(len(frame), dtype=float)
    frame = frame.drop(index=[4])  # store-0's fifth week is missing altogether
    panel = small(frame, known="price")
    first = panel.series[0]
    assert first.filled == 1 and len(first) == 30
    np.testing.assert_array_equal(first.known[3:6, 0], [3, 3, 5])  # type: ignore[index]


def test_a_known_column_without_any_value_in_a_series_is_refused() -> None:
    frame = promo_sales(3, 30)
    frame["price"] = 1.0
    frame.loc[frame["store"] == "store-1", "price"] = np.nan
    with pytest.raises(
        DataError, match=r"series 'store-1' has no value at all in the known covariate column"
    ):
        small(frame, known="price")


# -- the backtest --------------------------------------------------------------------------------


class CovariateSpy(ForecastSeasonalNaive):
    """A forecaster that takes covariates and records what it is given: the histories and
    covariates at ``fit``, the histories and covariates at ``forecast``."""

    uses_covariates = True
    calls: ClassVar[list[tuple[str, list[np.ndarray], Covariates]]] = []

    def _fit_covariates(self, histories: list[np.ndarray], covariates: Covariates) -> None:
        self._fit_series(histories)

    def settle(self, X: Any, **kwargs: Any) -> list[np.ndarray]:
        learned = super().settle(X, **kwargs)
        type(self).calls.append(("fit", [np.asarray(h) for h in X], kwargs["covariates"]))
        return learned

    def _forecast_covariates(
        self, histories: list[np.ndarray], horizon: int, covariates: Any
    ) -> Any:
        type(self).calls.append(("forecast", histories, covariates))
        return self._forecast(histories, horizon)


def test_the_backtest_never_hands_the_strategy_a_value_after_the_cut_off() -> None:
    """Each window: the histories end at the cut-off; the known covariates cover exactly the
    history at fit and the history plus the horizon at forecast; the static ones are the
    series'; clipping the history clips the known covariates alike."""
    panel = small(static="size", known="promo")
    horizon = panel.horizon
    for history in (None, 8):
        CovariateSpy.calls = []
        backtest(panel, CovariateSpy(), windows=2, history=history)
        assert [c[0] for c in CovariateSpy.calls] == ["fit", "forecast"] * 2
        for w, (kind, histories, covariates) in enumerate(CovariateSpy.calls):
            window = w // 2
            for s, seen, known, static in zip(
                panel.series, histories, covariates.known, covariates.static, strict=True
            ):
                end = len(s) - horizon * (2 - window)
                start = end - (len(seen))
                assert len(seen) == (end if history is None else history)
                np.testing.assert_array_equal(seen, s.values[start:end])  # the past only
                ahead = horizon if kind == "forecast" else 0
                np.testing.assert_array_equal(known, s.known[start : end + ahead])
                assert static == s.static


def test_a_panel_without_covariates_calls_the_strategy_as_before() -> None:
    """A strategy whose methods take no ``covariates`` still runs on a panel without any."""

    class Old(ForecastSeasonalNaive):
        def forecast(self, histories, horizon=None):  # type: ignore[no-untyped-def,override]
            return super().forecast(histories, horizon)

    result = backtest(small(), Old(), windows=2)
    assert np.isfinite(result.metrics["smape"])


@pytest.mark.slow
def test_gbm_learns_the_promotions_and_the_sizes_that_scale_them() -> None:
    """30 weekly stores whose promotion weeks (known in advance) triple, double or add half to
    the sales by the store's size (static): the boosted model with its covariates scores a
    MASE well under half of the one without (about 0.17 against 0.63 here)."""
    panel = read_series(
        promo_sales(),
        id="store",
        time="week",
        target="sales",
        horizon=8,
        windows=2,
        static="size",
        known="promo",
    )
    fast = {"n_estimators": 100}
    with_them = backtest(panel, ForecastGbm(**fast), windows=2).metrics["mase"]
    without = backtest(panel, ForecastGbm(covariates=False, **fast), windows=2).metrics["mase"]
    promo_only = read_series(
        promo_sales(), id="store", time="week", horizon=8, windows=2, known="promo"
    )
    promo = backtest(promo_only, ForecastGbm(**fast), windows=2).metrics["mase"]
    assert with_them < 0.5 * without
    assert promo < 0.6 * without  # the promotions alone carry most of it
    assert with_them < promo  # the sizes say how much each lifts


# -- a whole study -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_study_with_covariates_compares_and_reports_them(tmp_path: Path) -> None:
    study = crossover.compare(
        promo_sales(9, 80),
        task="forecasting",
        id="store",
        time="week",
        value="sales",
        horizon=6,
        known=["promo"],
        static=["size"],
        strategies="forecast.seasonal-naive,forecast.gbm",
        jobs=1,
        trials_dir=tmp_path / "trials",
        n_resamples=1000,
        progress=False,
    )
    assert study.spec["known"] == ["promo"] and study.spec["static"] == ["size"]
    assert any("known covariates" in note for note in study.dataset["notes"])
    rows = dict(data_summary(study))
    assert rows["Covariates"] == "static: size; known in advance: promo"
    mase = {r.trial.strategy: r.metrics["mase"] for r in study.leaderboard_results}
    # The promotions make the last season a poor guess; the boosted model knows them.
    assert mase["forecast.gbm"] < 0.5 * mase["forecast.seasonal-naive"]
    gbm = next(r for r in study.leaderboard_results if r.trial.strategy == "forecast.gbm")
    assert gbm.latency_p50_ms > 0  # timed with its covariates, as serving calls it
