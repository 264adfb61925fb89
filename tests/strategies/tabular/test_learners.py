"""The custom tabular learners: ``TablePreprocessor``, ``GbmClassifier``, ``LinearClassifier``,
``ForestClassifier`` and ``BlendClassifier``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError, ModelError
from crossover.strategies.tabular.blend import BlendClassifier, _simplex_grid
from crossover.strategies.tabular.features import TablePreprocessor
from crossover.strategies.tabular.learners import (
    ForestClassifier,
    GbmClassifier,
    LinearClassifier,
)
from crossover.tasks.tabular import infer_column_types, pr_auc, repeated_stratified_splits
from tests.conftest import shared_data

Model = GbmClassifier | LinearClassifier | ForestClassifier | BlendClassifier
MODELS = [GbmClassifier, LinearClassifier, ForestClassifier, BlendClassifier]


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
    model_class: type[Model], n_classes: int
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
    model_class: type[Model],
) -> None:
    frame, y = _table()
    model = model_class().fit(frame, y)
    fitted = model.estimators_ if isinstance(model, BlendClassifier) else [model]
    for member in fitted:
        assert "transaction_id" not in member.preprocessor_.feature_names_out_
    assert model.predict_proba(frame).shape == (len(frame), 2)


@pytest.mark.parametrize("model_class", MODELS)
def test_model_survives_unseen_categories_and_all_missing_rows(
    model_class: type[Model],
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
    model_class: type[Model],
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
    model_class: type[Model],
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


def _dense(x: object) -> np.ndarray:
    return np.asarray(x.todense() if hasattr(x, "todense") else x)


def test_table_preprocessor_quantile_maps_numeric_features_to_a_normal_shape() -> None:
    frame, y = _table(400)
    frame = frame.assign(amount=np.random.default_rng(5).lognormal(3.0, 2.0, size=len(frame)))
    types = infer_column_types(frame.assign(label=y), "label")
    plain = TablePreprocessor(types, "onehot", scale=True).fit(frame)
    mapped = TablePreprocessor(types, "onehot", scale=True, quantile=True).fit(frame)
    column = plain.feature_names_out_.index("amount")
    assert mapped.feature_names_out_ == plain.feature_names_out_
    skewed = _dense(plain.transform(frame))[:, column]
    normal = _dense(mapped.transform(frame))[:, column]

    def skew(v: np.ndarray) -> float:
        return float(np.mean(((v - v.mean()) / v.std()) ** 3))

    assert skew(skewed) > 3.0 and abs(skew(normal)) < 0.5
    assert abs(np.median(normal)) < 0.1
    assert np.corrcoef(np.argsort(np.argsort(skewed)), np.argsort(np.argsort(normal)))[0, 1] > 0.99


def test_table_preprocessor_quantile_works_on_fewer_rows_than_quantiles() -> None:
    frame, y = _table(30)
    types = infer_column_types(frame.assign(label=y), "label")
    out = TablePreprocessor(types, "onehot", scale=True, quantile=True).fit_transform(frame)
    assert out.shape[0] == 30 and np.isfinite(_dense(out)).all()


def test_linear_classifier_quantile_is_off_by_default_and_changes_the_features() -> None:
    frame, y = _table()
    plain = LinearClassifier().fit(frame, y)
    mapped = LinearClassifier(quantile=True).fit(frame, y)
    assert plain.preprocessor_.quantile is False and mapped.preprocessor_.quantile is True
    assert not np.allclose(plain.predict_proba(frame), mapped.predict_proba(frame))


def test_forest_classifier_codes_missing_and_unseen_categories_as_minus_one() -> None:
    frame, y = _table()
    model = ForestClassifier(n_estimators=20).fit(frame, y)
    new = frame.head(3).assign(colour=["purple", "red", None])
    x = model._features(model.preprocessor_.transform(new))
    codes = x[:, model.preprocessor_.categorical_indices_[0]]
    assert codes[0] == -1.0 and codes[1] >= 0.0 and codes[2] == -1.0
    assert not np.isnan(x).any()
    assert model.model_.n_estimators == 20 and len(model.model_.estimators_) == 20


def test_blend_classifier_defaults_to_equal_weights_of_linear_and_trees() -> None:
    frame, y = _table()
    model = BlendClassifier().fit(frame, y)
    assert [type(m) for m in model.estimators_] == [LinearClassifier, ForestClassifier]
    assert model.estimators_[0].quantile is True
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])


def test_blend_classifier_is_the_geometric_mean_of_its_members_for_two_classes() -> None:
    frame, y = _table()
    model = BlendClassifier().fit(frame, y)
    linear, trees = (np.clip(m.predict_proba(frame), 1e-4, 1.0) for m in model.estimators_)
    logit = 0.5 * (np.log(linear[:, 1] / linear[:, 0]) + np.log(trees[:, 1] / trees[:, 0]))
    np.testing.assert_allclose(model.predict_proba(frame)[:, 1], 1.0 / (1.0 + np.exp(-logit)))


def test_blend_classifier_with_one_weight_gives_that_member() -> None:
    frame, y = _table(n_classes=3)
    test_frame, _ = _table(200, n_classes=3, seed=1)
    blend = BlendClassifier(weights=[1.0, 0.0]).fit(frame, y)
    alone = LinearClassifier(quantile=True).fit(frame, y).predict_proba(test_frame)
    expected = np.clip(alone, 1e-4, 1.0)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(blend.predict_proba(test_frame), expected, atol=1e-12)
    np.testing.assert_allclose(blend.weights_, [1.0, 0.0])


def test_blend_classifier_normalises_given_weights() -> None:
    frame, y = _table()
    model = BlendClassifier(weights=(1.0, 3.0)).fit(frame, y)
    np.testing.assert_allclose(model.weights_, [0.25, 0.75])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_blend_classifier_cv_weights_lie_on_the_grid_and_repeat_for_a_seed(
    n_classes: int,
) -> None:
    frame, y = _table(n_classes=n_classes)
    first = BlendClassifier(weights="cv", n_folds=3, random_state=4).fit(frame, y)
    second = BlendClassifier(weights="cv", n_folds=3, random_state=4).fit(frame, y)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    np.testing.assert_array_equal(first.predict_proba(frame), second.predict_proba(frame))
    assert first.weights_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(first.weights_ * 10, np.round(first.weights_ * 10), atol=1e-9)


def test_blend_classifier_cv_weights_drop_a_useless_member() -> None:
    """On an XOR label a linear model is at chance: inner CV gives the trees the most weight."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=800), rng.normal(size=800)
    frame = pd.DataFrame({"a": a, "b": b})
    y = np.where((a > 0) ^ (b > 0), "yes", "no")
    model = BlendClassifier(weights="cv", n_folds=3).fit(frame, y)
    assert model.weights_[1] >= 0.8


def test_blend_classifier_cv_falls_back_to_equal_weights_when_a_class_is_tiny() -> None:
    frame, _ = _table(60)
    y = np.where(np.arange(60) < 3, "rare", "common")
    model = BlendClassifier(weights="cv", n_folds=5).fit(frame, y)
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])


def test_blend_classifier_with_the_gbm_handles_three_classes() -> None:
    frame, y = _table(n_classes=3)
    model = BlendClassifier(members=("linear", "trees", "gbm")).fit(frame, y)
    assert isinstance(model.estimators_[2], GbmClassifier)
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), 3) and model.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.weights_, [1 / 3] * 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"members": ("linear", "knn")}, "unknown blend member"),
        ({"members": ()}, "at least one member"),
        ({"weights": "best"}, "weights must be"),
        ({"weights": [1.0]}, "one non-negative number per member"),
        ({"weights": [-1.0, 2.0]}, "one non-negative number per member"),
        ({"weights": [0.0, 0.0]}, "not all zero"),
    ],
)
def test_blend_classifier_rejects_bad_members_and_weights(
    kwargs: dict[str, object], match: str
) -> None:
    frame, y = _table(100)
    with pytest.raises(ModelError, match=match):
        BlendClassifier(**kwargs).fit(frame, y)  # type: ignore[arg-type]


def test_simplex_grid_sums_to_one_and_starts_nearest_to_equal() -> None:
    grid = _simplex_grid(3, 10)
    assert len(grid) == 66
    assert all(w.sum() == pytest.approx(1.0) for w in grid)
    assert np.abs(grid[0] - 1 / 3).sum() == min(np.abs(w - 1 / 3).sum() for w in grid)
    np.testing.assert_allclose(_simplex_grid(2, 10)[0], [0.5, 0.5])


def test_blend_classifier_on_the_credit_card_sample_beats_its_members() -> None:
    frame = pd.read_csv(shared_data("creditcard_fraud", "creditcard_sample.csv"))
    types = infer_column_types(frame, "Class")
    features, y = frame.drop(columns="Class"), frame["Class"].to_numpy()
    blend, members = [], []
    for train, test in repeated_stratified_splits(y, n_repeats=3):
        model = BlendClassifier(types).fit(features.iloc[train], y[train])
        blend.append(pr_auc(y[test], model.predict_proba(features.iloc[test])[:, 1]))
        members.append(
            [pr_auc(y[test], m.predict_proba(features.iloc[test])[:, 1]) for m in model.estimators_]
        )
    assert np.mean(blend) >= 0.945, blend
    assert np.mean(blend) > np.mean(members, axis=0).max(), (blend, members)


def test_blend_classifier_state_round_trips_through_sklearn_io(tmp_path: Path) -> None:
    """Every learned part is saved by crossover's ``save_sklearn`` and loads again with
    ``load_sklearn``, whose trust list refuses anything unexpected, predicting the same."""
    from crossover.models.sklearn_io import load_sklearn, save_sklearn

    frame, y = _table()
    model = BlendClassifier().fit(frame, y)
    before = model.predict_proba(frame)

    def round_trip(obj: object, name: str) -> object:
        path = tmp_path / f"{name}.skops"
        save_sklearn(obj, path)
        return load_sklearn(path)  # a ModelError names any type outside the trust list

    for k, member in enumerate(model.estimators_):
        member.model_ = round_trip(member.model_, f"{k}-model")
        member.preprocessor_.transformer_ = round_trip(member.preprocessor_.transformer_, f"{k}")
    np.testing.assert_array_equal(model.predict_proba(frame), before)
