"""Model directories and clients for the serve tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from crossover.serve import ServeSettings, create_app
from tests.conftest import FAST_MODEL, make_tickets


class FakeModel:
    """A two-class in-memory model: 'a' when the text holds an 'a'; embeddings of length 4."""

    def __init__(self, *, embedding: bool = True, fail_on: str | None = None) -> None:
        self.manifest = {"strategy": "text.fake", "labels": ["a", "b"], "format_version": 1}
        self.labels = ["a", "b"]
        self.has_proba = True
        self.embedding_model = "fake/embedder" if embedding else None
        self.fail_on = fail_on
        self.calls: list[list[str]] = []

    def _called(self, texts: list[str]) -> None:
        self.calls.append(list(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot handle {self.fail_on}")

    def predict(self, texts: list[str]) -> list[str]:
        self._called(texts)
        return ["a" if "a" in t else "b" for t in texts]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self._called(texts)
        return np.array([[0.75, 0.25] if "a" in t else [0.1, 0.9] for t in texts])

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array([[len(t), 1.5, -2.0, 0.25] for t in texts], dtype=np.float32)


@pytest.fixture(scope="session")
def tfidf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossover.artifacts import export_strategy
    from crossover.strategies.text import TfidfLinear

    df = make_tickets(10)
    fitted = TfidfLinear().fit(df.text.tolist(), df.label.tolist())
    return export_strategy(fitted, tmp_path_factory.mktemp("serve") / "tfidf")


@pytest.fixture(scope="session")
def embedding_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossover.artifacts import export_strategy
    from crossover.strategies.text import EmbeddingHead

    df = make_tickets(10)
    fitted = EmbeddingHead(model=FAST_MODEL).fit(df.text.tolist(), df.label.tolist())
    return export_strategy(fitted, tmp_path_factory.mktemp("serve") / "embedding")


@pytest.fixture
def tfidf_client(tfidf_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tfidf_dir)) as client:
        yield client


@pytest.fixture
def embedding_client(embedding_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(embedding_dir)) as client:
        yield client


def fake_client(
    model: FakeModel | None = None, settings: ServeSettings | None = None, **kwargs: bool
) -> TestClient:
    """A client of an app serving ``model`` (enter it with ``with``)."""
    served = model or FakeModel()
    return TestClient(create_app("fake-model", settings, loader=lambda _: served), **kwargs)


@pytest.fixture
def serve_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on the serve loggers themselves (the CLI may stop propagation), its ``text`` the
    JSON lines the server writes."""
    from crossover.serve.server import JsonFormatter

    logger = logging.getLogger("crossover.serve")
    formatter = caplog.handler.formatter
    caplog.handler.setFormatter(JsonFormatter())  # caplog.text: the lines the server writes
    logger.addHandler(caplog.handler)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False  # each record once, whatever the root logger holds
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        caplog.handler.setFormatter(formatter)
        logger.setLevel(level)
        logger.propagate = propagate
