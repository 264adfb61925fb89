"""Model directories and clients for the serve tests."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

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


# -- what crossover promises, read without pinning its dependencies' wording or layout --------


def assert_field_refused(response: Any, loc: list[str | int], error_type: str) -> dict[str, Any]:
    """Check that ``response`` is crossover's 422 refusing the field at ``loc``; return the error.

    crossover's message names the field (``invalid request: inputs.1: ...``) and its details
    give the field's ``loc`` and the error type. ``error_type`` is one of pydantic's documented
    error codes (``missing``, ``string_type``...); the text after the field name is pydantic's
    wording, which a pydantic release may reword, so it is not compared.
    """
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request"
    field = ".".join(map(str, loc)) or "body"
    assert re.search(rf"(^invalid request: |; ){re.escape(field)}: ", error["message"]), error
    assert {"loc": loc, "type": error_type} in [
        {"loc": d["loc"], "type": d["type"]} for d in error["details"]
    ], error
    return error


def metric_value(text: str, name: str, **labels: str | float) -> float | None:
    """The value of the sample ``name`` in the Prometheus exposition ``text`` whose labels
    include ``labels`` (summed over the samples that match); None when none does.

    The text is read with prometheus_client's own parser, so neither the order of the labels
    nor the formatting of numbers matters; a bucket's ``le`` is compared as a number.
    """
    found: list[float] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                _label_matches(key, sample.labels.get(key), value) for key, value in labels.items()
            ):
                found.append(float(sample.value))
    return sum(found) if found else None


def _label_matches(key: str, actual: str | None, expected: str | float) -> bool:
    if actual is None:
        return False
    if key == "le":
        return float(actual) == float(expected)
    return actual == str(expected)


def schema_branches(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a JSON Schema of the OpenAPI ``document`` allows, each a plain schema:
    ``anyOf`` / ``oneOf`` branches flattened (each with its parent's other keywords, which hold
    for it too) and ``$ref`` within the document resolved; ``[schema]`` when it has none.

    So a test reads the constraint that crossover documents for one JSON type (the
    ``maxLength`` of a text, say) whatever order or nesting of branches pydantic generates.
    """
    schema = dict(schema)
    if "$ref" in schema:
        target: Any = document
        for part in schema.pop("$ref").removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **schema}
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            branches = schema.pop(keyword)
            return [
                alternative
                for branch in branches
                for alternative in schema_branches(document, {**schema, **branch})
            ]
    return [schema]


def json_types(branch: Mapping[str, Any]) -> set[str]:
    """The JSON types a branch of :func:`schema_branches` takes (``type`` may be a list)."""
    kind = branch.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def branches_of_type(
    document: Mapping[str, Any], schema: Mapping[str, Any], kind: str
) -> list[dict[str, Any]]:
    """The branches of ``schema`` (see :func:`schema_branches`) that take the JSON type ``kind``."""
    return [b for b in schema_branches(document, schema) if kind in json_types(b)]


def promised_checks() -> list[Any]:
    """The schemathesis checks that state what the app promises, named rather than left to the
    default (which grows with each schemathesis release): no server error; every status code
    and content type documented; every body as its schema says; and a request the schema
    refuses is refused (each route with a body answers it with a 422)."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
