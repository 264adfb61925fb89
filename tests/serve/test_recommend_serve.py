"""Serving a recommendation model: ``POST /v1/recommend`` for a known user or a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from crossover.artifacts import export_strategy, load_model
from crossover.serve import ServeSettings, create_app
from crossover.strategies.recsys import RecsysHybrid
from crossover.tasks.recommendation.task import prepare
from tests.conftest import FAST_MODEL
from tests.serve.conftest import (
    assert_field_refused,
    branches_of_type,
    fake_client,
    metric_value,
)
from tests.strategies.recsys.test_recommenders import make_shop


@pytest.fixture(scope="module")
def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_shop()


@pytest.fixture(scope="module")
def recsys_dir(
    shop: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    interactions, items = shop
    prepared = prepare(interactions, user="user", item="item", time="t", items=items, holdout=2)
    rows = pd.concat([prepared.train, prepared.test], ignore_index=True)
    fitted = RecsysHybrid(
        model=FAST_MODEL, text_columns=list(prepared.text_columns), time="time", factors=8
    ).fit(rows, items=prepared.items)
    return export_strategy(fitted, tmp_path_factory.mktemp("serve") / "recsys")


@pytest.fixture(scope="module")
def client(recsys_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(recsys_dir)) as test_client:
        yield test_client


def _history(shop: tuple[pd.DataFrame, pd.DataFrame], user: str) -> set[str]:
    interactions, _ = shop
    return set(interactions.loc[interactions["user"] == user, "item"].astype(str))


def _error(response: Any, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_
    return str(error["message"])


def test_known_user_gets_k_items_outside_their_history(
    client: TestClient, recsys_dir: Path, shop: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    response = client.post("/v1/recommend", json={"user": "space-user-3", "k": 7})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["k"] == 7 and body["user"] == "space-user-3" and body["known_user"] is True
    assert body["strategy"] == body["model"] == "recsys.hybrid"
    assert len(body["items"]) == 7 and len(set(body["items"])) == 7
    assert not _history(shop, "space-user-3") & set(body["items"])
    assert body["items"] == load_model(recsys_dir).recommend("space-user-3", k=7)
    default = client.post("/v1/recommend", json={"user": "space-user-3"}).json()
    assert default["k"] == 10 and len(default["items"]) == 10


def test_session_items_are_ranked_from_and_never_returned(client: TestClient) -> None:
    session = ["kitchen-1", "kitchen-2", "kitchen-5"]
    response = client.post("/v1/recommend", json={"items": session, "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] is None and body["known_user"] is False
    assert len(body["items"]) == 5 and not set(session) & set(body["items"])
    assert sum(i.startswith("kitchen-") for i in body["items"]) >= 4  # ranked from the session


def test_exclude_is_honoured_for_users_and_sessions(client: TestClient) -> None:
    first = client.post("/v1/recommend", json={"user": "kitchen-user-2", "k": 5}).json()["items"]
    hidden = first[:2]
    again = client.post(
        "/v1/recommend", json={"user": "kitchen-user-2", "k": 5, "exclude": hidden}
    ).json()["items"]
    assert len(again) == 5 and not set(hidden) & set(again) and again[:3] == first[2:]
    session = client.post("/v1/recommend", json={"items": ["space-3"], "k": 4}).json()["items"]
    without = client.post(
        "/v1/recommend", json={"items": ["space-3"], "k": 4, "exclude": session[:1]}
    ).json()["items"]
    assert session[0] not in without and len(without) == 4


def test_integer_ids_are_compared_as_text(tmp_path: Path) -> None:
    interactions = pd.DataFrame(
        {"user": [1, 1, 2, 2, 3, 3, 3, 4], "item": [10, 11, 10, 12, 11, 12, 13, 13]}
    )
    from crossover.strategies.recsys import RecsysPopularity

    folder = export_strategy(RecsysPopularity().fit(interactions), tmp_path / "pop")
    with TestClient(create_app(folder)) as numbers:
        by_number = numbers.post("/v1/recommend", json={"user": 1, "k": 2}).json()
        by_text = numbers.post("/v1/recommend", json={"user": "1", "k": 2}).json()
        session = numbers.post("/v1/recommend", json={"items": [10, "11"], "k": 3}).json()
    assert by_number == by_text and by_number["user"] == "1"
    assert by_number["items"] == ["12", "13"]  # 10 and 11 are the user's own
    assert session["items"] == ["12", "13"]


def test_unknown_user_is_a_404_that_says_to_send_items(client: TestClient) -> None:
    message = _error(client.post("/v1/recommend", json={"user": "nobody"}), 404, "unknown_user")
    assert "nobody" in message and "no history" in message and '"items"' in message


def test_unknown_items_are_named(client: TestClient) -> None:
    response = client.post(
        "/v1/recommend", json={"items": ["space-1", "ghost-1"], "exclude": ["ghost-2"]}
    )
    message = _error(response, 422, "unknown_items")
    assert "ghost-1" in message and "ghost-2" in message and "space-1" not in message
    locs = [d["loc"] for d in response.json()["error"]["details"]]
    assert locs == [["items", 1], ["exclude", 0]]
    many = [f"ghost-{i}" for i in range(8)]
    message = _error(client.post("/v1/recommend", json={"items": many}), 422, "unknown_items")
    assert "ghost-4" in message and "ghost-5" not in message and "3 more" in message
    _error(
        client.post("/v1/recommend", json={"user": "space-user-0", "exclude": ["ghost-9"]}),
        422,
        "unknown_items",
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"user": "space-user-0", "items": ["space-1"]}, 'both "user" and "items"'),
        ({"k": 3}, 'neither "user" nor "items"'),
        ({"user": True}, "user: an id must be a non-empty string or an integer"),
        ({"user": ""}, "user: an id must be"),
        ({"items": ["space-1", None]}, "items.1: an id must be"),
    ],
)
def test_bad_requests_are_422(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    message = _error(client.post("/v1/recommend", json=body), 422, "invalid_request")
    assert fragment in message


@pytest.mark.parametrize(
    ("body", "loc", "error_type"),
    [
        ({"user": "space-user-0", "k": 0}, ["k"], "greater_than_equal"),
        ({"user": "space-user-0", "k": 101}, ["k"], "less_than_equal"),
        ({"user": "space-user-0", "k": "5"}, ["k"], "int_type"),
        ({"items": []}, ["items"], "too_short"),
        ({"user": "space-user-0", "limit": 3}, ["limit"], "extra_forbidden"),
    ],
)
def test_a_body_the_schema_refuses_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], loc: list[str | int], error_type: str
) -> None:
    assert_field_refused(client.post("/v1/recommend", json=body), loc, error_type)


def test_bad_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/recommend", content=b'{"user": ', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in _error(response, 422, "invalid_request")


def test_too_many_ids_is_too_large(recsys_dir: Path) -> None:
    with TestClient(create_app(recsys_dir, ServeSettings(max_batch=3))) as small:
        response = small.post("/v1/recommend", json={"items": ["space-1"] * 4})
        assert "at most 3" in _error(response, 422, "too_large")
        openapi = small.get("/openapi.json").json()
    exclude = openapi["components"]["schemas"]["RecommendRequest"]["properties"]["exclude"]
    assert [b.get("maxItems") for b in branches_of_type(openapi, exclude, "array")] == [3]


def test_predict_on_a_recommender_names_the_recommend_route(client: TestClient) -> None:
    message = _error(client.post("/v1/predict", json={"inputs": "x"}), 404, "not_a_classifier")
    assert "/v1/recommend" in message
    assert _error(client.post("/v1/predict", content=b"junk"), 404, "not_a_classifier")


def test_recommend_on_a_classifier_names_the_predict_route() -> None:
    with fake_client() as classifier:
        response = classifier.post("/v1/recommend", json={"user": "1"})
        message = _error(response, 404, "not_a_recommender")
        paths = classifier.get("/openapi.json").json()["paths"]
    assert "/v1/predict" in message and "/v1/recommend" not in paths


def test_openapi_documents_recommend(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    assert "/v1/recommend" in openapi["paths"] and "/v1/predict" not in openapi["paths"]
    operation = openapi["paths"]["/v1/recommend"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/RecommendRequest") and answer_ref.endswith("/RecommendResponse")
    assert "404" in operation["responses"] and "422" in operation["responses"]
    schemas = openapi["components"]["schemas"]
    assert set(schemas["RecommendRequest"]["properties"]) == {"user", "items", "k", "exclude"}
    assert {"items", "k", "user", "known_user", "strategy"} <= set(
        schemas["RecommendResponse"]["properties"]
    )
    assert client.get("/docs").status_code == 200


def test_health_metrics_and_manifest(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    manifest = client.get("/v1/model").json()
    assert manifest["task"] == "recommendation" and manifest["strategy"] == "recsys.hybrid"
    client.post("/v1/recommend", json={"user": "space-user-1", "k": 2})
    metrics = client.get("/metrics").text
    answered = metric_value(
        metrics, "crossover_http_requests_total", method="POST", route="/v1/recommend", status=200
    )
    assert answered is not None and answered >= 1


def test_the_key_guards_recommend(recsys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVE_TEST_KEY", "k-123-secret")
    settings = ServeSettings(api_key_env="SERVE_TEST_KEY")
    with TestClient(create_app(recsys_dir, settings)) as keyed:
        body = {"user": "space-user-0", "k": 3}
        assert keyed.post("/v1/recommend", json=body).status_code == 401
        ok = keyed.post("/v1/recommend", json=body, headers={"X-API-Key": "k-123-secret"})
    assert ok.status_code == 200 and len(ok.json()["items"]) == 3


def test_a_folder_exported_before_manifests_recorded_input_kind_still_recommends(
    recsys_dir: Path, tmp_path: Path
) -> None:
    # Its strategy's class (named by the manifest's loader) says that it takes interactions.
    import json
    import shutil

    copy = Path(shutil.copytree(recsys_dir, tmp_path / "old"))
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["input_kind"]
    from tests.manifests import reseal  # a manifest covers itself: seal the edit again

    manifest = reseal(copy, manifest)
    assert load_model(copy).recommends
    with TestClient(create_app(copy)) as old:
        answer = old.post("/v1/recommend", json={"user": "space-user-1", "k": 2})
        assert answer.status_code == 200 and len(answer.json()["items"]) == 2
        _error(old.post("/v1/predict", json={"inputs": "a"}), 404, "not_a_classifier")
        assert old.get("/v1/model").json() == manifest
