"""Property-based checks of the app against its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid; every answer must be documented
(status code, content type, body schema), no request may cause a server error, and an invalid
body must be refused (the checks are named in ``promised_checks``, conftest). The schema
does not depend on the model, so it is read from an app serving a small in-memory model; the
same generated requests then go to that app (whose embeddings route answers) and to an app
serving a real exported TF-IDF model (whose embeddings route is a documented 404).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from crossover.serve import ServeSettings, create_app
from tests.serve.conftest import FakeModel, promised_checks

LIMITS = ServeSettings(max_batch=16, max_text_chars=200)
_fake = FakeModel()
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app("fake", LIMITS, loader=lambda _: _fake)
)
bounded = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
#: Named, so that a schemathesis release that adds a check does not change what is tested.
CHECKS = promised_checks()


@pytest.fixture(scope="module")
def tfidf_app(tfidf_dir: Path) -> FastAPI:
    return create_app(tfidf_dir, LIMITS)


@pytest.mark.slow
@schema.parametrize()
@bounded
def test_app_with_an_embedding_model_conforms_to_its_schema(case: schemathesis.Case) -> None:
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code < 500


@pytest.mark.slow
@schema.parametrize()
@bounded
def test_app_with_a_tfidf_model_conforms_to_its_schema(
    case: schemathesis.Case, tfidf_app: FastAPI
) -> None:
    response = case.call_and_validate(app=tfidf_app, checks=CHECKS)
    assert response.status_code < 500
