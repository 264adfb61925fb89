"""Custom ``text.tfidf-linear``: word and character n-gram TF-IDF + a linear SVM."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from crossover.errors import DataError
from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies.base import Strategy
from crossover.strategies.registry import register

__all__ = ["TfidfLinear"]


@register
class TfidfLinear(Strategy):
    """Word 1-2-grams and character 2-5-grams (within word boundaries), TF-IDF with sublinear
    term frequency (so long texts do not drown short ones), and a linear SVM.

    The SVM was chosen over logistic regression after measuring both on banking77: the same
    accuracy (0.913) at a tenth of the fit time (2 s against 22 s). It gives no probabilities.
    """

    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "skops", "scipy")

    key = "text.tfidf-linear"
    kind = "custom"
    task = "text-classification"
    summary = "word + character n-gram TF-IDF with a linear SVM, trained from scratch"

    def __init__(
        self,
        *,
        C: float = 0.5,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.random_state = random_state

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        assert X is not None and y is not None
        features = make_union(
            TfidfVectorizer(
                ngram_range=tuple(self.word_ngrams),
                sublinear_tf=True,
                token_pattern=r"(?u)\b\w+\b",  # keep one-letter words and numbers ("2fa", "i")
            ),
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngrams),
                sublinear_tf=True,
                min_df=2 if len(X) >= 1000 else 1,
            ),
        )
        clf = LinearSVC(C=self.C, random_state=self.random_state)
        try:
            self.pipeline_ = make_pipeline(features, clf).fit(X, np.asarray(y, dtype=object))
        except ValueError as exc:
            if "empty vocabulary" not in str(exc):
                raise
            raise DataError(
                f"{self.key}: the {len(X)} training texts hold no word or character n-gram "
                "that occurs often enough to learn from; check the --text column"
            ) from exc

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.asarray(self.pipeline_.predict(X), dtype=object)

    def _save_state(self, path: Path) -> None:
        save_sklearn(self.pipeline_, path / "pipeline.skops")

    def _load_state(self, path: Path) -> None:
        self.pipeline_ = load_sklearn(path / "pipeline.skops")

    def _parameter_count(self) -> int:
        clf = self.pipeline_[-1]
        return int(clf.coef_.size + clf.intercept_.size)
