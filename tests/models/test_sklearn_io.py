"""Saving scikit-learn objects: skops for the estimator, a JSON term list for vocabularies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from crossover.errors import ModelError
from crossover.models.sklearn_io import load_sklearn, save_sklearn, vocabulary_path

TEXTS = [
    "my card has not arrived yet",
    "how do I top up my account",
    "the card payment was declined",
    "top up failed twice today",
    "where is my new card",
    "can I top up by bank transfer",
]
LABELS = ["card", "top_up", "card", "top_up", "card", "top_up"]


def _pipeline():
    union = make_union(TfidfVectorizer(), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)))
    return make_pipeline(union, LinearSVC(random_state=0)).fit(TEXTS, LABELS)


def test_pipeline_round_trip_keeps_its_vocabularies_and_predictions(tmp_path: Path) -> None:
    pipeline = _pipeline()
    before = {name: dict(vec.vocabulary_) for name, vec in pipeline[0].transformer_list}
    path = tmp_path / "pipeline.skops"
    save_sklearn(pipeline, path)

    # The object saved is left as it was.
    assert {name: vec.vocabulary_ for name, vec in pipeline[0].transformer_list} == before
    sidecar = vocabulary_path(path)
    assert sidecar.name == "pipeline.vocabulary.json"
    stored = json.loads(sidecar.read_text(encoding="utf-8"))
    assert sorted(len(terms) for terms in stored.values()) == sorted(
        len(v) for v in before.values()
    )

    loaded = load_sklearn(path)
    assert {name: vec.vocabulary_ for name, vec in loaded[0].transformer_list} == before
    probe = ["card declined again", "top up please", "unseen words only"]
    np.testing.assert_array_equal(loaded.predict(probe), pipeline.predict(probe))
    np.testing.assert_array_equal(
        loaded.decision_function(probe), pipeline.decision_function(probe)
    )


def test_a_lone_vectorizer_round_trips(tmp_path: Path) -> None:
    vec = TfidfVectorizer().fit(TEXTS)
    save_sklearn(vec, tmp_path / "vec.skops")
    loaded = load_sklearn(tmp_path / "vec.skops")
    assert loaded.vocabulary_ == vec.vocabulary_
    assert (loaded.transform(TEXTS) != vec.transform(TEXTS)).nnz == 0


def test_an_estimator_without_vocabulary_writes_no_sidecar(tmp_path: Path) -> None:
    save_sklearn(LinearSVC().fit([[0.0], [1.0]], [0, 1]), tmp_path / "head.skops")
    assert not vocabulary_path(tmp_path / "head.skops").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable vocabulary file"),
        ('["a", "b"]', "expected an object of term lists"),
        ('{"no-such-step": ["a"]}', "names no text vectorizer"),
        ('{"featureunion__tfidfvectorizer-1": ["a", "a"]}', "not a list of distinct terms"),
    ],
)
def test_a_damaged_vocabulary_file_is_refused_by_name(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "pipeline.skops"
    save_sklearn(_pipeline(), path)
    vocabulary_path(path).write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=message) as info:
        load_sklearn(path)
    assert "pipeline.vocabulary.json" in str(info.value)
