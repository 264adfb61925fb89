"""The custom tabular models: ``TablePreprocessor``, ``GbmClassifier``, ``LinearClassifier``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError, ModelError
from crossover.tasks.tabular import infer_column_types, pr_auc, repeated_stratified_splits
from crossover.tasks.tabular.models import GbmClassifier, LinearClassifier, TablePreprocessor
from tests.conftest import shared_data

MODELS = [GbmClassifier, LinearClassifier]


def _table(n: int = 600, n_classes: int = 2, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric, categorical, datetime and id columns with missing values; a learnable label.

    The class follows ``x + (colour == "red")`` cut at quantiles, so both numeric and
    categorical features matter.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    score = x + 1.5 * (colour == "red") + rng.normal(scale=0.3, size=n)
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.array(["a", "b", "c"])[np.searchsorted(cuts, score)]
    frame = pd.DataFrame(
        {
            "transaction_id": [f"T{i:05d}" for i in range(n)],
            "x": np.where(rng.random(n) < 0.1, np.nan, x),
            "noise": rng.normal(size=n),
            "colour": np.where(rng.random(n) < 0.05, None, colour),
            "when": pd.date_range("2024-01-01", periods=n, freq="37min").astype(str),
        }
    )
    return frame, y


def test_table_preprocessor_types_the_synthetic_columns_as_intended() -> None:
    frame, y = _table()
    types = infer_column_types(frame.assign(label=y), "label")
    assert types.kinds == {
        "transaction_id": "identifier",
        "x": "numeric",
        "noise": "numeric",
        "colour": "categorical",
        "when": "datetime",
    }


def test_table_preprocessor_ordinal_imputes_indicates_and_drops_the_id() -> None:
    frame, y = _table()
    types = infer_column_types(frame.assign(label=y), "label")
    pre = TablePreprocessor(types, "ordinal").fit(frame)
    out = pre.transform(frame)
    names = pre.feature_names_out_
    assert "transaction_id" not in names
    assert "missingindicator_x" in names and "missingindicator_noise" not in names
    assert {"when__epoch_s", "when__hour", "when__day_of_week", "when__month"} <= set(names)
    assert out.shape == (len(frame), len(names))
    numeric = np.delete(out, pre.categorical_indices_, axis=1)
    assert not np.isnan(numeric).any()
    codes = out[:, pre.categorical_indices_[0]]
    assert names[pre.categorical_indices_[0]] == "colour"
    assert np.isnan(codes).sum() == frame["colour"].isna().sum()
    assert set(codes[~np.isnan(codes)]) == {0.0, 1.0, 2.0}


def test_table_preprocessor_unseen_category_is_missing_or_all_zero() -> None:
    frame, y = _table()
    types = infer_column_types(frame.assign(label=y), "label")
    new = frame.head(3).assign(colour=["purple", "red", None])
    ordinal = TablePreprocessor(types, "ordinal").fit(frame)
    codes = ordinal.transform(new)[:, ordinal.categorical_indices_[0]]
    assert np.isnan(codes[0]) and not np.isnan(codes[1]) and np.isnan(codes[2])
    onehot = TablePreprocessor(types, "onehot", scale=True).fit(frame)
    encoded = onehot.transform(new)
    dense = np.asarray(encoded.todense() if hasattr(encoded, "todense") else encoded)
    colour_columns = [i for i, n in enumerate(onehot.feature_names_out_) if n.startswith("colour_")]
    assert "colour_missing" in onehot.feature_names_out_
    row_sums = dense[:, colour_columns].sum(axis=1)
    assert row_sums.tolist() == [0.0, 1.0, 1.0]


def test_table_preprocessor_names_a_missing_column() -> None:
    frame, y = _table()
    types = infer_column_types(frame.assign(label=y), "label")
    pre = TablePreprocessor(types).fit(frame)
    with pytest.raises(DataError, match="'colour'"):
        pre.transform(frame.drop(columns="colour"))


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_model_probabilities_have_the_right_shape_and_beat_chance(
    model_class: type[GbmClassifier | LinearClassifier], n_classes: int
) -> None:
    frame, y = _table(n_classes=n_classes)
    test_frame, test_y = _table(300, n_classes=n_classes, seed=1)
    model = model_class(infer_column_types(frame.assign(label=y), "label")).fit(frame, y)
    proba = model.predict_proba(test_frame)
    assert model.classes_.tolist() == ["a", "b", "c"][:n_classes]
    assert proba.shape == (len(test_frame), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    accuracy = np.mean(model.predict(test_frame) == test_y)
    assert accuracy > 1.0 / n_classes + 0.25


@pytest.mark.parametrize("model_class", MODELS)
def test_model_infers_column_types_when_none_are_given(
    model_class: type[GbmClassifier | LinearClassifier],
) -> None:
    frame, y = _table()
    model = model_class().fit(frame, y)
    assert "transaction_id" not in model.preprocessor_.feature_names_out_
    assert model.predict_proba(frame).shape == (len(frame), 2)


@pytest.mark.parametrize("model_class", MODELS)
def test_model_survives_unseen_categories_and_all_missing_rows(
    model_class: type[GbmClassifier | LinearClassifier],
) -> None:
    frame, y = _table()
    model = model_class().fit(frame, y)
    odd = pd.DataFrame(
        {
            "transaction_id": ["new1", None],
            "x": [np.nan, np.nan],
            "noise": [np.nan, np.nan],
            "colour": ["purple", None],
            "when": ["not a date", None],
        }
    )
    proba = model.predict_proba(odd)
    assert proba.shape == (2, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("model_class", MODELS)
def test_model_is_deterministic_for_a_seed(
    model_class: type[GbmClassifier | LinearClassifier],
) -> None:
    frame, y = _table()
    first = model_class().fit(frame, y).predict_proba(frame)
    second = model_class().fit(frame, y).predict_proba(frame)
    np.testing.assert_array_equal(first, second)


def test_gbm_classifier_different_seeds_hold_out_different_rows() -> None:
    frame, y = _table()
    first = GbmClassifier(random_state=0).fit(frame, y).predict_proba(frame)
    second = GbmClassifier(random_state=1).fit(frame, y).predict_proba(frame)
    assert not np.array_equal(first, second)


def test_gbm_classifier_early_stopping_stops_before_the_most_rounds() -> None:
    frame, y = _table()
    model = GbmClassifier(n_estimators=1000, early_stopping_rounds=20).fit(frame, y)
    assert 1 <= model.best_iteration_ < 500
    assert model.model_.booster_.current_iteration() < 1000


def test_gbm_classifier_trains_without_validation_when_a_class_is_tiny() -> None:
    frame, y = _table(60)
    y = np.where(np.arange(60) < 1, "rare", "common")
    model = GbmClassifier(fallback_rounds=7).fit(frame, y)
    assert model.best_iteration_ == 7
    assert model.predict_proba(frame).shape == (60, 2)


@pytest.mark.parametrize("imbalance", ["balanced", "sqrt"])
def test_gbm_classifier_weighting_raises_the_rare_class_probability(imbalance: str) -> None:
    frame, _ = _table()
    rng = np.random.default_rng(3)
    y = np.where(rng.random(len(frame)) < 0.08, "fraud", "ok")
    plain = GbmClassifier(imbalance="none").fit(frame, y).predict_proba(frame)[:, 0]
    weighted = GbmClassifier(imbalance=imbalance).fit(frame, y).predict_proba(frame)[:, 0]  # type: ignore[arg-type]
    assert weighted.mean() > plain.mean()


def test_gbm_classifier_rejects_an_unknown_imbalance() -> None:
    frame, y = _table()
    with pytest.raises(ModelError, match="imbalance"):
        GbmClassifier(imbalance="oversample").fit(frame, y)  # type: ignore[arg-type]


@pytest.mark.parametrize("model_class", MODELS)
def test_model_refuses_to_predict_before_fit(
    model_class: type[GbmClassifier | LinearClassifier],
) -> None:
    frame, _ = _table(10)
    with pytest.raises(ModelError, match="not fitted"):
        model_class().predict_proba(frame)


def test_model_rejects_a_single_class() -> None:
    frame, _ = _table(50)
    with pytest.raises(DataError, match="single class"):
        LinearClassifier().fit(frame, np.zeros(50))


def test_linear_classifier_balanced_weights_raise_the_rare_class_probability() -> None:
    frame, _ = _table()
    y = np.where(np.random.default_rng(3).random(len(frame)) < 0.08, 1, 0)
    plain = LinearClassifier().fit(frame, y).predict_proba(frame)[:, 1]
    weighted = LinearClassifier(class_weight="balanced").fit(frame, y).predict_proba(frame)[:, 1]
    assert weighted.mean() > plain.mean() + 0.1


def test_gbm_classifier_on_the_credit_card_sample_reaches_pr_auc_0_90() -> None:
    frame = pd.read_csv(shared_data("creditcard_fraud", "creditcard_sample.csv"))
    types = infer_column_types(frame, "Class")
    features, y = frame.drop(columns="Class"), frame["Class"].to_numpy()
    scores = []
    for train, test in repeated_stratified_splits(y, n_repeats=3):
        model = GbmClassifier(types).fit(features.iloc[train], y[train])
        scores.append(pr_auc(y[test], model.predict_proba(features.iloc[test])[:, 1]))
    assert np.mean(scores) >= 0.90, scores
