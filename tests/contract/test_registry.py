from __future__ import annotations

import numpy as np
import pytest

from crossover.errors import ConfigError
from crossover.strategies import Registry, Strategy, registry


class _Toy(Strategy):
    key = "text.toy"
    kind = "custom"
    task = "text-classification"
    summary = "always the first class"

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        pass

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.array([self.classes_[0]] * len(X), dtype=object)


def test_registry_duplicate_key_is_an_error_that_says_how_to_fix() -> None:
    local = Registry()
    local.register(_Toy)
    local.register(_Toy)  # the same class again is harmless

    class Other(_Toy):
        pass

    with pytest.raises(
        ConfigError, match=r"already registered by .*_Toy; give .*Other another key"
    ):
        local.register(Other)


def test_registry_unknown_key_lists_known_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown strategy 'text\.nope'.*text\.tfidf-linear"):
        registry.get("text.nope")


def test_registry_rejects_unknown_kind() -> None:
    class Bad(_Toy):
        key = "text.bad"
        kind = "magic"  # type: ignore[assignment]

    with pytest.raises(ConfigError, match="kind 'magic'"):
        Registry().register(Bad)


def test_registry_candidates_are_pretrained_custom_hybrid() -> None:
    assert registry.candidates("text-classification") == [
        "text.zero-shot-embeddings",
        "text.tfidf-linear",
        "text.embedding-head",
        "text.ensemble",
    ]


def test_tfidf_linear_texts_without_ngrams_is_a_data_error() -> None:
    from crossover.errors import DataError
    from crossover.strategies.text import TfidfLinear

    with pytest.raises(DataError, match="hold no word or character n-gram"):
        TfidfLinear().fit(["!", "?", "!", "?"], ["a", "a", "b", "b"])
