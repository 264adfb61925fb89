"""Every route and every error of the app, through FastAPI's TestClient."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from crossover.errors import ConfigError
from crossover.serve import ServeSettings, create_app
from tests.serve.conftest import (
    FakeModel,
    assert_field_refused,
    branches_of_type,
    fake_client,
    metric_value,
)

# -- /v1/predict ------------------------------------------------------------------------------


def test_predict_single_text_gives_one_known_label(tfidf_client: TestClient) -> None:
    response = tfidf_client.post("/v1/predict", json={"inputs": "where is my parcel #NW-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "text.tfidf-linear"
    assert len(body["predictions"]) == 1
    assert body["predictions"][0]["label"] == "delivery_status"
    # The class list is given once, by /v1/model, not repeated in every answer.
    assert "labels" not in body
    labels = tfidf_client.get("/v1/model").json()["labels"]
    assert labels == ["delivery_status", "login_access", "refund_request"]


def test_predict_batch_probabilities_have_every_label_and_sum_to_one(
    embedding_client: TestClient,
) -> None:
    client = embedding_client
    texts = ["I want a refund for the lamp", "cannot log in", "my parcel is late", "hello"]
    response = client.post("/v1/predict", json={"inputs": texts})
    assert response.status_code == 200
    body = response.json()
    assert len(body["predictions"]) == len(texts)
    labels = client.get("/v1/model").json()["labels"]
    for prediction in body["predictions"]:
        probabilities = prediction["probabilities"]
        assert list(probabilities) == labels
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert prediction["label"] in labels


@pytest.mark.parametrize("which", ["tfidf_dir", "embedding_dir"])
def test_predict_answers_as_the_loaded_model_does(
    which: str, request: pytest.FixtureRequest
) -> None:
    from crossover.artifacts import load_model

    directory: Path = request.getfixturevalue(which)
    model = load_model(directory)
    texts = ["refund me for the rug", "password reset never arrives", "courier has not shown up"]
    with TestClient(create_app(directory)) as client:
        body = client.post("/v1/predict", json={"inputs": texts}).json()
    assert [p["label"] for p in body["predictions"]] == model.predict(texts)
    if not model.has_proba:  # TF-IDF with a linear SVM: labels only
        assert [p["probabilities"] for p in body["predictions"]] == [None] * len(texts)
        return
    expected = model.predict_proba(texts)
    got = np.array([list(p["probabilities"].values()) for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_predict_without_probabilities_gives_null() -> None:
    model = FakeModel()
    model.has_proba = False
    with fake_client(model) as client:
        body = client.post("/v1/predict", json={"inputs": ["a", "b"]}).json()
    assert [p["label"] for p in body["predictions"]] == ["a", "b"]
    assert [p["probabilities"] for p in body["predictions"]] == [None, None]


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"inputs": ["fine", 5]}, ["inputs", 1], "string_type"),
        ({}, ["inputs"], "missing"),
        ({"inputs": "ok", "params": {"k": 1}}, ["params"], "extra_forbidden"),
        ({"inputs": ""}, ["inputs"], "string_too_short"),
        ({"inputs": ["ok", ""]}, ["inputs", 1], "string_too_short"),
        ({"inputs": []}, ["inputs"], "too_short"),
    ],
)
def test_predict_refuses_a_bad_body_with_422_naming_the_field(
    payload: Any, loc: list[str | int], error_type: str, tfidf_client: TestClient
) -> None:
    assert_field_refused(tfidf_client.post("/v1/predict", json=payload), loc, error_type)


@pytest.mark.parametrize(
    ("payload", "loc", "message"),
    [
        ({"inputs": 5}, ["inputs"], "Input should be a string or a list of strings"),
        ({"inputs": None}, ["inputs"], "Input should be a string or a list of strings"),
        (
            {"inputs": {"text": "hello"}},
            ["inputs"],
            "Input should be a string or a list of strings",
        ),
        (
            {"inputs": " \n\t"},
            ["inputs"],
            "String should contain at least one non-whitespace character",
        ),
        (
            ["a bare list"],
            [],
            "the body must be a JSON object, sent with Content-Type: application/json",
        ),
    ],
)
def test_predict_explains_a_bad_body_in_its_own_words(
    payload: Any, loc: list[str | int], message: str, tfidf_client: TestClient
) -> None:
    # Messages crossover writes itself (where pydantic's would not help a client).
    response = tfidf_client.post("/v1/predict", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["message"] == f"invalid request: {'.'.join(map(str, loc)) or 'body'}: {message}"
    assert [(d["loc"], d["msg"]) for d in error["details"]] == [(loc, message)]


def test_predict_refuses_mlflow_dataframe_split(tfidf_client: TestClient) -> None:
    # mlflow answered this with 200 and a prediction made from the column name "text".
    payload = {"dataframe_split": {"columns": ["text"], "data": [["where is my parcel"]]}}
    response = tfidf_client.post("/v1/predict", json=payload)
    assert_field_refused(response, ["inputs"], "missing")
    assert_field_refused(response, ["dataframe_split"], "extra_forbidden")
    assert "predictions" not in response.json()


@pytest.mark.parametrize(
    ("content", "content_type", "prefix"),
    [
        (b'{"inputs": ', "application/json", "invalid request: body: the body is not valid JSON"),
        (
            b"inputs=hello",
            "application/x-www-form-urlencoded",
            "invalid request: body: the body must be a JSON object",
        ),
        # How the framework words a missing body is its own; crossover names the body.
        (b"", "application/json", "invalid request: body: "),
    ],
)
def test_predict_refuses_a_body_that_is_not_a_json_object(
    content: bytes, content_type: str, prefix: str, tfidf_client: TestClient
) -> None:
    response = tfidf_client.post(
        "/v1/predict", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["message"].startswith(prefix)
    assert [d["loc"] for d in error["details"]] == [[]]


def test_predict_refuses_a_batch_over_the_limit_with_422() -> None:
    with fake_client(settings=ServeSettings(max_batch=3)) as client:
        ok = client.post("/v1/predict", json={"inputs": ["a", "b", "c"]})
        response = client.post("/v1/predict", json={"inputs": ["a", "b", "c", "d"]})
    assert ok.status_code == 200
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "too_large"
    assert "4 texts" in error["message"] and "at most 3" in error["message"]


@pytest.mark.parametrize("route", ["/v1/predict", "/v1/embeddings"])
def test_a_text_over_the_limit_is_refused_with_422(route: str) -> None:
    field = "inputs" if route == "/v1/predict" else "input"
    with fake_client(settings=ServeSettings(max_text_chars=10)) as client:
        ok = client.post(route, json={field: ["a" * 10]})
        response = client.post(route, json={field: ["short", "a" * 11]})
    assert ok.status_code == 200
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "text 1 has 11 characters" in message and "at most 10" in message


def test_a_model_failure_is_a_500_that_quotes_nothing(
    serve_logs: pytest.LogCaptureFixture,
) -> None:
    model = FakeModel(fail_on="private words")
    with fake_client(model, raise_server_exceptions=False) as client:
        response = client.post("/v1/predict", json={"inputs": "private words"})
        after = client.post("/v1/predict", json={"inputs": "still alive"})
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_error"
    assert "private" not in response.text
    assert "private" not in serve_logs.text
    assert '"error": "ValueError"' in serve_logs.text
    assert after.status_code == 200


# -- API key ---------------------------------------------------------------------------------


@pytest.fixture
def keyed_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SERVE_TEST_KEY", "k-123-secret")
    with fake_client(settings=ServeSettings(api_key_env="SERVE_TEST_KEY")) as client:
        yield client


@pytest.mark.parametrize("route", ["/v1/predict", "/v1/embeddings", "/v1/model"])
def test_v1_routes_need_the_key_when_one_is_configured(
    route: str, keyed_client: TestClient
) -> None:
    field = "inputs" if route == "/v1/predict" else "input"
    method = keyed_client.get if route == "/v1/model" else keyed_client.post
    kwargs: dict[str, Any] = {} if route == "/v1/model" else {"json": {field: "a"}}
    missing = method(route, **kwargs)
    wrong = method(route, headers={"Authorization": "Bearer nope"}, **kwargs)
    bearer = method(route, headers={"Authorization": "Bearer k-123-secret"}, **kwargs)
    header = method(route, headers={"X-API-Key": "k-123-secret"}, **kwargs)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "missing_api_key"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "invalid_api_key"
    assert "k-123-secret" not in wrong.text
    assert bearer.status_code == 200
    assert header.status_code == 200


def test_operations_routes_need_no_key(keyed_client: TestClient) -> None:
    for route in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert keyed_client.get(route).status_code == 200, route


def test_an_unset_key_variable_is_refused_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVE_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"\$SERVE_TEST_KEY, which is not set"):
        create_app("anywhere", ServeSettings(api_key_env="SERVE_TEST_KEY"))


# -- health, model, metrics ------------------------------------------------------------------


def test_healthz_and_readyz_are_200_once_loaded(tfidf_client: TestClient) -> None:
    assert tfidf_client.get("/healthz").json() == {"status": "ok"}
    response = tfidf_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_and_predict_are_503_before_the_model_is_loaded() -> None:
    client = fake_client()  # not entered: the lifespan has not run, no model is loaded
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    predict = client.post("/v1/predict", json={"inputs": "a"})
    assert ready.status_code == 503
    assert ready.json()["error"]["type"] == "not_ready"
    assert predict.status_code == 503


def test_model_route_gives_the_manifest(tfidf_client: TestClient, tfidf_dir: Path) -> None:
    response = tfidf_client.get("/v1/model")
    assert response.status_code == 200
    assert response.json() == json.loads((tfidf_dir / "manifest.json").read_text())


def test_metrics_count_requests_and_observe_latency_and_batch_sizes(
    tfidf_client: TestClient,
) -> None:
    tfidf_client.post("/v1/predict", json={"inputs": ["my parcel is late", "refund me"]})
    tfidf_client.post("/v1/predict", json={"inputs": 3})
    response = tfidf_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = {"route": "/v1/predict"}
    for status in (200, 422):
        requests = metric_value(
            text, "crossover_http_requests_total", method="POST", status=status, **route
        )
        assert requests == 1, status
    assert metric_value(text, "crossover_http_request_duration_seconds_count", **route) == 2
    assert metric_value(text, "crossover_request_texts_bucket", le=2, **route) == 1
    assert metric_value(text, "crossover_request_texts_sum", **route) == 2
    # One model call at startup (the warm-up, 1 text), one for the request (2 texts).
    assert metric_value(text, "crossover_model_batch_texts_sum", call="predict") == 2


def test_unknown_route_and_method_get_json_errors(tfidf_client: TestClient) -> None:
    missing = tfidf_client.get("/v2/predict")
    wrong_method = tfidf_client.get("/v1/predict")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"
    assert "/docs" in missing.json()["error"]["message"]
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "method_not_allowed"


# -- /v1/embeddings --------------------------------------------------------------------------


def test_embeddings_follow_the_openai_format(embedding_client: TestClient) -> None:
    from crossover.artifacts import LoadedModel

    response = embedding_client.post(
        "/v1/embeddings", json={"input": "where is my parcel", "model": "text-embedding-3-small"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list"
    assert body["model"] == "tokenlearn/static-model-64d"
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    [item] = body["data"]
    assert item["object"] == "embedding" and item["index"] == 0
    assert len(item["embedding"]) == 64
    assert all(isinstance(v, float) for v in item["embedding"])
    served: LoadedModel = embedding_client.app.state.served.model  # type: ignore[attr-defined]
    np.testing.assert_allclose(item["embedding"], served.embed(["where is my parcel"])[0])


def test_embeddings_of_a_batch_keep_the_input_order(embedding_client: TestClient) -> None:
    texts = ["refund please", "locked out of my account", "parcel late"]
    body = embedding_client.post("/v1/embeddings", json={"input": texts}).json()
    single = [
        embedding_client.post("/v1/embeddings", json={"input": t}).json()["data"][0]["embedding"]
        for t in texts
    ]
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    np.testing.assert_allclose([d["embedding"] for d in body["data"]], single, rtol=1e-5)


def test_embeddings_in_base64_decode_to_the_float_vectors() -> None:
    with fake_client() as client:
        floats = client.post("/v1/embeddings", json={"input": ["abc"]}).json()
        encoded = client.post(
            "/v1/embeddings", json={"input": ["abc"], "encoding_format": "base64"}
        ).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert np.frombuffer(raw, dtype="<f4").tolist() == floats["data"][0]["embedding"]
    assert floats["data"][0]["embedding"] == [3.0, 1.5, -2.0, 0.25]


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"input": [1, 2, 3]}, ["input", 0], "string_type"),
        ({"input": ""}, ["input"], "string_too_short"),
        ({"input": "a", "encoding_format": "int8"}, ["encoding_format"], "literal_error"),
        ({"input": "a", "temperature": 0}, ["temperature"], "extra_forbidden"),
        ({"model": "m"}, ["input"], "missing"),
        ({"input": "a", "dimensions": 4}, ["dimensions"], "extra_forbidden"),
    ],
)
def test_embeddings_refuse_a_bad_body_with_422(
    payload: dict[str, Any], loc: list[str | int], error_type: str
) -> None:
    with fake_client() as client:
        response = client.post("/v1/embeddings", json=payload)
    assert_field_refused(response, loc, error_type)


def test_embeddings_of_a_tfidf_model_are_404_with_a_reason(tfidf_client: TestClient) -> None:
    response = tfidf_client.post("/v1/embeddings", json={"input": "hello"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "no_embedding_model"
    assert "(text.tfidf-linear) is not built on a sentence-embedding model" in error["message"]


# -- docs and logs ---------------------------------------------------------------------------


def test_docs_and_openapi_describe_the_strict_schemas(tfidf_client: TestClient) -> None:
    docs = tfidf_client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    schema = tfidf_client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/embeddings", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(
        schema["paths"]
    )
    components = schema["components"]["schemas"]
    assert components["PredictRequest"]["additionalProperties"] is False
    assert components["EmbeddingsRequest"]["additionalProperties"] is False
    inputs = components["PredictRequest"]["properties"]["inputs"]
    one = branches_of_type(schema, inputs, "string")
    many = branches_of_type(schema, inputs, "array")
    assert [b.get("maxLength") for b in one] == [10_000]
    assert [b.get("maxItems") for b in many] == [256]
    items = [t for b in many for t in branches_of_type(schema, b["items"], "string")]
    assert [t.get("maxLength") for t in items] == [10_000]
    predict = schema["paths"]["/v1/predict"]["post"]["responses"]
    assert predict["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert "400" in predict  # a body that is not even UTF-8


def test_logs_hold_neither_request_text_nor_key(
    monkeypatch: pytest.MonkeyPatch, serve_logs: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SERVE_TEST_KEY", "k-logged-never")
    settings = ServeSettings(api_key_env="SERVE_TEST_KEY")
    with fake_client(settings=settings) as client:
        headers = {"Authorization": "Bearer k-logged-never"}
        client.post("/v1/predict", json={"inputs": "my card 4111 leaked"}, headers=headers)
        client.post("/v1/embeddings", json={"input": "home address here"}, headers=headers)
        client.post("/v1/predict", json={"inputs": "no key sent"})
        client.post("/v1/predict?token=k-logged-never", json={"inputs": 7}, headers=headers)
    access = [r for r in serve_logs.records if r.name == "crossover.serve.access"]
    assert [getattr(r, "fields", {}).get("status") for r in access] == [200, 200, 401, 422]
    lines = [json.loads(line) for line in serve_logs.text.splitlines()]
    assert [line["route"] for line in lines[-4:]] == ["/v1/predict", "/v1/embeddings"] + [
        "/v1/predict"
    ] * 2
    for needle in ("4111", "home address", "no key sent", "k-logged-never", "token="):
        assert needle not in serve_logs.text
