"""Serving an image model (``image-classification``): base64 JSON and multipart uploads in,
labels and probabilities out; every bad image refused by index (and file name) before the model
runs."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from PIL import Image
from schemathesis import GenerationMode

from crossover.artifacts import LoadedModel, export_strategy, load_model
from crossover.data.images import content_key
from crossover.errors import DataError
from crossover.serve import ServeSettings, create_app
from crossover.serve.images import decode_base64
from crossover.serve.served import predict_images
from crossover.strategies.image.embedding_head import ImageEmbeddingHead
from tests.serve.conftest import promised_checks
from tests.serve.test_process import served

COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}


def png(colour: tuple[int, int, int], seed: int, size: int = 24) -> bytes:
    """A PNG of ``colour`` with noise (so no two images are the same bytes)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size, size, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def images() -> tuple[list[bytes], list[str]]:
    """30 training images, 10 per colour, and their labels."""
    data, labels = [], []
    for i in range(30):
        label = list(COLOURS)[i % 3]
        data.append(png(COLOURS[label], seed=i))
        labels.append(label)
    return data, labels


@pytest.fixture(scope="module")
def queries() -> list[bytes]:
    """Images never trained on, one of each colour."""
    return [png(colour, seed=1000 + i) for i, colour in enumerate(COLOURS.values())]


@pytest.fixture(scope="module")
def fitted(
    images: tuple[list[bytes], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> ImageEmbeddingHead:
    cache = tmp_path_factory.mktemp("features")
    return ImageEmbeddingHead(image_size=64, C=1.0, cache_dir=str(cache)).fit(*images)


@pytest.fixture(scope="module")
def model_dir(fitted: ImageEmbeddingHead, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_strategy(fitted, tmp_path_factory.mktemp("serve") / "image")


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(model_dir)) as client:
        yield client


def answers(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


def assert_as_strategy(
    predictions: list[dict[str, Any]], fitted: ImageEmbeddingHead, data: list[bytes]
) -> None:
    """The served answers are the strategy's own ``predict_proba`` on the same bytes, with
    every label, in the model's order."""
    expected = fitted.predict_proba(data)
    labels = [str(c) for c in fitted.classes_]
    assert len(predictions) == len(data)
    for prediction, row in zip(predictions, expected, strict=True):
        assert list(prediction["probabilities"]) == labels
        assert list(prediction["probabilities"].values()) == pytest.approx(row.tolist(), abs=1e-6)
        assert prediction["label"] == labels[int(np.argmax(row))]


def refused_images(response: Any) -> list[dict[str, Any]]:
    """The details of a 422 refusing images (each names index and filename)."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_image"
    details: list[dict[str, Any]] = error["details"]
    for detail in details:
        assert f"image {detail['index']}" in error["message"]
    return details


# -- answers ----------------------------------------------------------------------------------


def test_base64_json_answers_as_the_strategy_on_the_same_bytes(
    client: TestClient, fitted: ImageEmbeddingHead, queries: list[bytes]
) -> None:
    response = client.post("/v1/predict", json={"images": [b64(q) for q in queries]})
    predictions = answers(response)
    assert response.json()["model"] == "image.embedding-head"
    assert_as_strategy(predictions, fitted, queries)
    # The colours are easy: the model learnt them.
    assert [p["label"] for p in predictions] == list(COLOURS)


def test_one_image_as_a_data_url_with_line_breaks_answers_the_same(
    client: TestClient, fitted: ImageEmbeddingHead, queries: list[bytes]
) -> None:
    wrapped = base64.encodebytes(queries[1]).decode("ascii")  # a line break every 76 characters
    response = client.post("/v1/predict", json={"image": f"data:image/png;base64,{wrapped}"})
    assert_as_strategy(answers(response), fitted, queries[1:2])
    url_safe = base64.urlsafe_b64encode(queries[2]).decode("ascii").rstrip("=")
    response = client.post("/v1/predict", json={"image": url_safe})
    assert_as_strategy(answers(response), fitted, queries[2:])


def test_a_multipart_upload_of_two_files_answers_as_base64_does(
    client: TestClient, fitted: ImageEmbeddingHead, queries: list[bytes]
) -> None:
    files = [
        ("images", ("b.png", queries[2], "image/png")),
        ("images", ("a.png", queries[0], "image/png")),
    ]
    uploaded = answers(client.post("/v1/predict", files=files))
    as_json = answers(
        client.post("/v1/predict", json={"images": [b64(queries[2]), b64(queries[0])]})
    )
    assert uploaded == as_json
    assert_as_strategy(uploaded, fitted, [queries[2], queries[0]])


def test_an_upload_under_any_field_name_is_read_in_the_order_sent(
    client: TestClient, queries: list[bytes]
) -> None:
    files = [("file", ("x.png", queries[1], "image/png")), ("photo", ("y", queries[0], ""))]
    assert [p["label"] for p in answers(client.post("/v1/predict", files=files))] == [
        "green",
        "red",
    ]


def test_grayscale_jpeg_and_transparent_png_are_read(client: TestClient) -> None:
    gray, rgba = io.BytesIO(), io.BytesIO()
    Image.new("L", (20, 30), 90).save(gray, format="JPEG")
    Image.new("RGBA", (16, 16), (40, 60, 200, 128)).save(rgba, format="PNG")
    response = client.post(
        "/v1/predict", json={"images": [b64(gray.getvalue()), b64(rgba.getvalue())]}
    )
    assert len(answers(response)) == 2


# -- bad images: a 422 that names each ---------------------------------------------------------


def test_invalid_base64_is_a_422_naming_its_index(client: TestClient, queries: list[bytes]) -> None:
    response = client.post("/v1/predict", json={"images": [b64(queries[0]), "not base64!"]})
    [detail] = refused_images(response)
    assert detail["index"] == 1
    assert detail["loc"] == ["images", 1]
    assert detail["type"] == "invalid_base64"
    assert "character '!' at position 10" in detail["msg"]
    message = response.json()["error"]["message"]
    assert message.startswith("1 of the 2 image(s) cannot be read: image 1: not base64")


def test_a_zero_byte_upload_is_a_422_naming_its_file(
    client: TestClient, queries: list[bytes]
) -> None:
    files = [
        ("images", ("fine.png", queries[0], "image/png")),
        ("images", ("empty.png", b"", "image/png")),
    ]
    [detail] = refused_images(client.post("/v1/predict", files=files))
    assert (detail["index"], detail["filename"], detail["type"]) == (1, "empty.png", "empty_image")
    assert detail["msg"].startswith("image 1 ('empty.png'): empty file (0 bytes)")


def test_a_truncated_png_is_a_422_naming_it(client: TestClient, queries: list[bytes]) -> None:
    cut = queries[1][: len(queries[1]) // 2]
    [detail] = refused_images(client.post("/v1/predict", json={"images": [b64(cut)]}))
    assert (detail["index"], detail["filename"], detail["type"]) == (0, None, "damaged_image")
    assert "image 0: the image is damaged" in detail["msg"]
    files = [("images", ("cut.png", cut, "image/png"))]
    [detail] = refused_images(client.post("/v1/predict", files=files))
    assert (detail["filename"], detail["type"]) == ("cut.png", "damaged_image")


def test_a_file_that_is_no_image_is_a_422_naming_it(
    client: TestClient, queries: list[bytes]
) -> None:
    files = [
        ("images", ("notes.txt", b"a shopping list, not a picture", "text/plain")),
        ("images", ("ok.png", queries[0], "image/png")),
        ("images", ("empty.jpg", b"", "image/jpeg")),
    ]
    response = client.post("/v1/predict", files=files)
    details = refused_images(response)
    assert [(d["index"], d["filename"], d["type"]) for d in details] == [
        (0, "notes.txt", "not_an_image"),
        (2, "empty.jpg", "empty_image"),
    ]
    assert "not an image Pillow can read" in details[0]["msg"]
    assert "2 of the 3 image(s)" in response.json()["error"]["message"]


def test_an_image_over_the_pixel_limit_is_a_422_not_a_warning(
    client: TestClient, queries: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200)  # 24 x 24 = 576 pixels: a "bomb"
    [detail] = refused_images(client.post("/v1/predict", json={"image": b64(queries[0])}))
    assert (detail["loc"], detail["type"]) == (["image"], "too_many_pixels")
    assert "576 pixels, more than the limit of 200" in detail["msg"]


def test_a_text_field_in_an_upload_is_refused_naming_it(client: TestClient) -> None:
    response = client.post(
        "/v1/predict", data={"caption": "a cat"}, files=[("images", ("a", b"x"))]
    )
    assert response.status_code == 422
    assert "'caption' hold text, not a file" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ({}, "exactly one of the two"),
        ({"images": []}, "images: List should have at least 1 item"),
        ({"images": [b64(b"x"), 3]}, "images.1:"),
        ({"image": None}, "image:"),
        ({"images": ["a"], "image": "b"}, "exactly one of the two"),
    ],
)
def test_a_json_body_of_the_wrong_shape_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], wanted: str
) -> None:
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert wanted in error["message"]


def test_a_body_that_is_not_json_nor_multipart_says_what_to_send(client: TestClient) -> None:
    not_json = client.post(
        "/v1/predict", content=b'{"images": [', headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.json()["error"]["message"]
    raw = client.post("/v1/predict", content=b"\x89PNG", headers={"content-type": "image/png"})
    assert raw.status_code == 422
    assert "multipart/form-data uploads, not image/png" in raw.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("YWI+", b"ab>"),
        ("YWI-", b"ab>"),  # URL-safe alphabet
        ("YQ", b"a"),  # no padding
        (" YW\nI+\n", b"ab>"),  # line breaks, as base64 tools wrap
        ("data:image/x-icon;base64,YWI+", b"ab>"),  # a '-' in the media type changes nothing
        ("DATA:;base64,YQ==", b"a"),
    ],
)
def test_base64_as_encoders_write_it_is_read(text: str, data: bytes) -> None:
    assert decode_base64(text) == data


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc=def", "'=' before the end"),
        ("a", "1 character, a length no base64 has"),
        ("data:text/plain,hello", "a data URL without ';base64'"),
        ("ab+c-d", "character '+' at position 2"),  # one alphabet or the other
        ("ab\x00c", "character U+0000 at position 2"),
    ],
)
def test_what_is_not_base64_is_named(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        decode_base64(text)


# -- limits -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413(model_dir: Path, queries: list[bytes]) -> None:
    limits = ServeSettings(max_body_mb=0.01)  # 10 KiB; each image is about 2 KB
    with TestClient(create_app(model_dir, limits)) as small:
        response = small.post("/v1/predict", json={"images": [b64(queries[0])] * 8})
        files = [("images", (f"{i}.png", queries[0], "image/png")) for i in range(8)]
        uploaded = small.post("/v1/predict", files=files)
        one = small.post("/v1/predict", json={"images": [b64(queries[0])]})
    for refused in (response, uploaded):
        assert refused.status_code == 413
        assert refused.json()["error"]["type"] == "body_too_large"
    assert one.status_code == 200


def test_more_images_than_max_batch_is_too_large(model_dir: Path, queries: list[bytes]) -> None:
    with TestClient(create_app(model_dir, ServeSettings(max_batch=2))) as small:
        response = small.post("/v1/predict", json={"images": [b64(q) for q in queries]})
        files = [("images", (f"{i}.png", q, "image/png")) for i, q in enumerate(queries)]
        uploaded = small.post("/v1/predict", files=files)
        schema = small.get("/openapi.json").json()
    for refused in (response, uploaded):
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["type"] == "too_large"
        assert "3 images; this server accepts at most 2" in error["message"]
    content = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    for media in ("application/json", "multipart/form-data"):
        assert content[media]["schema"]["properties"]["images"]["maxItems"] == 2


# -- the other kinds of input, the manifest, the schema -----------------------------------------


def test_texts_sent_to_an_image_model_say_what_it_takes(client: TestClient) -> None:
    for body, sent in (({"inputs": "a cat"}, "texts"), ({"rows": [{"a": 1}]}, "table rows")):
        response = client.post("/v1/predict", json=body)
        assert response.status_code == 422
        message = response.json()["error"]["message"]
        assert message.startswith(f"this model classifies images, not {sent}: send")
        assert '{"images": ["<base64>", ...]}' in message


def test_images_sent_to_a_text_model_say_what_it_takes(
    tfidf_client: TestClient, queries: list[bytes]
) -> None:
    as_json = tfidf_client.post("/v1/predict", json={"images": [b64(queries[0])]})
    uploaded = tfidf_client.post("/v1/predict", files=[("images", ("a.png", queries[0]))])
    for response in (as_json, uploaded):
        assert response.status_code == 422
        message = response.json()["error"]["message"]
        assert message.startswith("this model classifies texts, not images: send JSON")


def test_the_manifest_states_the_input_schema_of_an_image(
    client: TestClient, model_dir: Path
) -> None:
    manifest = client.get("/v1/model").json()
    assert manifest["input_kind"] == "image"
    assert manifest["task"] == "image-classification"
    schema = manifest["input_schema"]
    assert schema["required"] == ["image"]
    assert schema["properties"]["image"]["contentEncoding"] == "base64"
    assert schema["x-image-size"] == 64


def test_embeddings_of_an_image_model_are_a_404_with_a_reason(client: TestClient) -> None:
    response = client.post("/v1/embeddings", json={"input": "a cat"})
    assert response.status_code == 404
    assert "classifies images" in response.json()["error"]["message"]


def test_openapi_documents_json_and_multipart_bodies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/v1/predict"]["post"]
    content = post["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    body = content["application/json"]["schema"]
    assert set(body["properties"]) == {"images", "image"}
    assert body["properties"]["images"]["maxItems"] == 256
    upload = content["multipart/form-data"]["schema"]
    assert upload["properties"]["images"]["items"]["format"] == "binary"
    assert "422" in post["responses"] and "200" in post["responses"]
    assert "256 images per request" in schema["info"]["description"]


def test_request_images_never_reach_the_feature_cache(
    client: TestClient, fitted: ImageEmbeddingHead, images: tuple[list[bytes], list[str]]
) -> None:
    fitted_image = images[0][0]
    # The exported strategy keeps the cache folder it was trained with; serving must not add
    # the features of request images to it (private, seen once, and the file would grow).
    cache = fitted.feature_encoder().cache
    assert len(cache.get_many([content_key(fitted_image)])) == 1  # training images are there
    fresh = [png((10, 10, 10), seed=5000 + i) for i in range(3)]
    answers(client.post("/v1/predict", json={"images": [b64(f) for f in fresh]}))
    assert cache.get_many([content_key(f) for f in fresh]) == {}


# -- micro-batches ------------------------------------------------------------------------------


class RefusingModel:
    """A loaded model that refuses one image (as a model that cannot decode it would), and
    counts the images of each call."""

    def __init__(self, model: LoadedModel, refused: bytes) -> None:
        self.model = model
        self.refused = refused
        self.calls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict_proba(self, images: list[bytes]) -> np.ndarray:
        self.calls.append(len(images))
        if self.refused in images:
            raise DataError(f"image {images.index(self.refused)}: the model cannot read it")
        return self.model.predict_proba(images)


def test_an_image_the_model_refuses_fails_only_its_own_request(
    model_dir: Path, queries: list[bytes]
) -> None:
    model = RefusingModel(load_model(model_dir), refused=queries[1])
    results = predict_images(model, queries)
    assert results[0] is not None and results[2] is not None and results[1] is None
    assert model.calls == [3, 1, 1, 1]  # the batch failed; then each image alone
    with TestClient(create_app(model_dir, loader=lambda _: model)) as client:
        response = client.post("/v1/predict", json={"images": [b64(q) for q in queries[:2]]})
        after = client.post("/v1/predict", json={"image": b64(queries[0])})
    assert response.status_code == 422
    assert "could not read image(s) 1" in response.json()["error"]["message"]
    assert after.status_code == 200


def test_concurrent_requests_each_get_their_own_answer(
    model_dir: Path, fitted: ImageEmbeddingHead
) -> None:
    sent = [png(colour, seed=2000 + i) for i in range(4) for colour in COLOURS.values()]
    limits = ServeSettings(max_wait_ms=50)  # wide enough for requests to share calls
    with TestClient(create_app(model_dir, limits)) as client, ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda d: client.post("/v1/predict", json={"image": b64(d)}), sent)
        )
    assert_as_strategy([answers(r)[0] for r in responses], fitted, sent)


# -- a real server process ----------------------------------------------------------------------


@pytest.mark.slow
def test_crossover_serve_answers_base64_and_multipart_over_http(
    model_dir: Path, fitted: ImageEmbeddingHead, queries: list[bytes]
) -> None:
    import httpx

    with (
        served(model_dir) as (base, process),
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        as_json = http.post("/v1/predict", json={"images": [b64(q) for q in queries]})
        uploaded = http.post(
            "/v1/predict",
            files=[("images", (f"{i}.png", q, "image/png")) for i, q in enumerate(queries)],
        )
        refused = http.post("/v1/predict", files=[("images", ("bad.png", b"", "image/png"))])
    process.communicate()
    assert process.returncode is not None  # stopped
    assert_as_strategy(answers(as_json), fitted, queries)
    assert answers(uploaded) == answers(as_json)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["filename"] == "bad.png"


# -- schema-driven checks -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode))
def test_app_with_an_image_model_conforms_to_its_schema(
    mode: GenerationMode, model_dir: Path
) -> None:
    # Every operation of the app's own schema gets generated requests, valid or invalid, in
    # JSON and multipart: every answer must be documented, none may be a server error, and an
    # invalid body must be refused. (A valid body may still be a 422: random base64 is rarely
    # an image.)
    app = create_app(model_dir, ServeSettings(max_batch=16, max_text_chars=200))
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    if mode is GenerationMode.NEGATIVE:  # only a body can be invalid here
        operations = [op for op in operations if len(op.body)]
    statuses: dict[str, set[int]] = {}
    checks = promised_checks()
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def conforms(case: Any) -> None:
            response = case.call_and_validate(checks=checks)
            assert response.status_code < 500
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        conforms()
    predict = statuses["POST /v1/predict"]
    assert predict <= {200, 422} if mode is GenerationMode.POSITIVE else 200 not in predict


# -- a study's model, exported and served -------------------------------------------------------


@pytest.mark.slow
def test_a_study_of_an_image_folder_exports_a_model_that_serves(
    tmp_path: Path, queries: list[bytes]
) -> None:
    # `crossover export` reads the images again from the study's folder and trains on them all.
    from typer.testing import CliRunner

    from crossover.cli import app

    folder = tmp_path / "photos"
    for label, colour in COLOURS.items():
        (folder / label).mkdir(parents=True)
        for i in range(8):
            (folder / label / f"{i}.png").write_bytes(png(colour, seed=100 * len(label) + i))
    options = ["--strategies", "image.embedding-head", "--budgets", "full", "--seeds", "1"]
    compare = ["compare", str(folder), "--task", "image-classification", *options]
    result = CliRunner().invoke(app, [*compare, "--out", str(tmp_path / "study")])
    assert result.exit_code == 0, result.output
    export = ["export", str(tmp_path / "study"), "--strategy", "image.embedding-head"]
    result = CliRunner().invoke(app, [*export, "--out", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(tmp_path / "model")) as study_client:
        manifest = study_client.get("/v1/model").json()
        response = study_client.post("/v1/predict", json={"images": [b64(q) for q in queries]})
    assert manifest["trained_on"]["rows"] == 24
    assert manifest["input_schema"]["x-image-size"] == 160
    assert [p["label"] for p in answers(response)] == list(COLOURS)
