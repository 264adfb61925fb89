from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from crossover.models import Embedder
from tests.conftest import FAST_MODEL

TEXTS = ["refund please", "where is my parcel", "refund please", "cannot log in"]


def test_embedder_embeds_each_text_once_across_calls_and_instances(tmp_path: Path) -> None:
    first = Embedder(FAST_MODEL, cache_dir=tmp_path)
    vectors = first.encode(TEXTS)
    assert vectors.shape == (4, 64)
    assert first.model_calls == 3  # the duplicate is embedded once
    again = first.encode(TEXTS[::-1])
    assert first.model_calls == 3
    np.testing.assert_array_equal(again, vectors[::-1])
    # A new instance (as in a new run) reads the same cache file.
    second = Embedder(FAST_MODEL, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.encode(TEXTS), vectors)
    assert second.model_calls == 0
    assert len(second.cache) == 3


def test_embedder_cached_equals_uncached(tmp_path: Path) -> None:
    embedder = Embedder(FAST_MODEL, cache_dir=tmp_path)
    cached = embedder.encode(TEXTS)
    fresh = embedder.encode(TEXTS, use_cache=False)
    assert embedder.model_calls == 3 + 4
    np.testing.assert_allclose(cached, fresh, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, rtol=1e-5)


def test_embedder_without_cache_writes_nothing(tmp_path: Path) -> None:
    embedder = Embedder(FAST_MODEL, cache_dir=tmp_path, use_cache=False)
    embedder.encode(TEXTS)
    assert embedder.model_calls == 4
    assert not (tmp_path / "embeddings").exists()


def test_embedder_cache_is_keyed_by_model(tmp_path: Path) -> None:
    a = Embedder(FAST_MODEL, cache_dir=tmp_path)
    a.encode(TEXTS)
    copy_dir = tmp_path / "copy"
    import shutil

    shutil.copytree(a.resolved.path, copy_dir)
    b = Embedder(str(copy_dir), cache_dir=tmp_path)
    b.encode(TEXTS)
    assert b.model_calls == 3  # another model identity: nothing reused


def test_embedder_reports_progress(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    Embedder(FAST_MODEL, cache_dir=tmp_path).encode(
        [f"text number {i}" for i in range(1200)], on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (1200, 1200)
    assert len(seen) == 3


def test_embedder_encodes_the_missing_texts_longest_first_across_chunks(tmp_path: Path) -> None:
    # Texts in an order unrelated to length (as in a CSV ordered by label): the model is
    # called with chunks of like lengths, longest first, and the rows come back in input order.
    rng = np.random.default_rng(0)
    texts = [" ".join(["word"] * int(n)) + f" {i}" for i, n in enumerate(rng.integers(1, 60, 1100))]
    embedder = Embedder(FAST_MODEL, cache_dir=tmp_path)
    chunks: list[list[str]] = []
    run_model = embedder._run_model

    def spy(chunk: list[str]) -> np.ndarray:
        chunks.append(list(chunk))
        return run_model(chunk)

    embedder._run_model = spy  # type: ignore[method-assign]
    vectors = embedder.encode(texts)
    assert len(chunks) == 3
    for longer, shorter in pairwise(chunks):
        assert min(map(len, longer)) >= max(map(len, shorter))
    fresh = Embedder(FAST_MODEL, cache_dir=tmp_path, use_cache=False).encode(texts[:50])
    np.testing.assert_allclose(vectors[:50], fresh, rtol=1e-5, atol=1e-6)
