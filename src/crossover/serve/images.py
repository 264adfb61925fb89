"""Serving an image model (``input_kind`` "image"): its request bodies, decoding, checks, route.

``POST /v1/predict`` takes the images in either of the two ways clients send files:

- JSON: ``{"images": ["<base64>", ...]}``, or ``{"image": "<base64>"}`` for one. Each string
  is the image file's bytes in base64, standard or URL-safe alphabet, line breaks and missing
  padding allowed (what ``base64`` tools and browsers write), or a data URL
  (``data:image/png;base64,...``, what a browser's ``FileReader`` gives);
- ``multipart/form-data``: one or more file uploads under any field name (``images`` is
  usual: ``curl -F images=@cat.jpg -F images=@dog.png``), in the order sent.

Every image is decoded here once, before anything reaches the model
(``crossover.data.images.open_image``, which reads training files the same way), so a bad
image is refused with the reason the training side gives: empty, not an image Pillow can read,
truncated, or over Pillow's pixel limit (a decompression bomb). All the images of a request are
checked and all the bad ones named in one 422 (``invalid_image``), each by its index in the
request and, for an upload, its field and file name; a string that is not base64 gets the same
answer. The encoded bytes then go to the model, which decodes them as it decodes a training
file: the prediction for an image served is the one ``predict_proba`` gives for its bytes.

Limits: at most ``max_batch`` images per request (a 422 ``too_large`` beyond, as for texts),
and the body limit ``max_body_mb`` (a 413 from :mod:`crossover.serve.limits`, counted as the
body streams, so an upload over it is never read whole).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Self

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from crossover.data.images import open_image
from crossover.errors import DataError
from crossover.serve.errors import ApiError, error_responses
from crossover.serve.recommend import recommend_unsupported
from crossover.serve.schemas import LimitExceeded, Prediction, PredictResponse
from crossover.serve.served import MetricsDep, ServedDep
from crossover.serve.settings import ServeSettings
from crossover.serve.table import TableSpec

__all__ = [
    "IMAGE_PREDICT_DOC",
    "ImagePredictRequest",
    "ImagePredictResponse",
    "SentImage",
    "add_image_routes",
    "decode_base64",
    "document_image_limits",
    "image_problems",
    "read_images",
]

#: One image in a JSON body: its file's bytes in base64 (or a data URL of them).
Base64Image = Annotated[
    StrictStr,
    StringConstraints(min_length=1),
    Field(
        description="An image file (JPEG, PNG, WebP, GIF, BMP, TIFF) in base64, or a data URL "
        "of it (data:image/png;base64,...).",
        json_schema_extra={"contentEncoding": "base64", "contentMediaType": "image/*"},
    ),
]


def _one_of_two(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Exactly one of "images" and "image": with unknown fields refused, that is one property.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    schema["minProperties"] = 1
    schema["maxProperties"] = 1
    schema["examples"] = [{"image": _EXAMPLE_PNG}]


class ImagePredictRequest(BaseModel):
    """``{"images": ["<base64>", ...]}`` or ``{"image": "<base64>"}``."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_one_of_two)

    # Typed without None (the default is only "not sent"): a null is refused, not read as absent.
    images: list[Base64Image] = Field(
        None,  # type: ignore[arg-type]
        min_length=1,
        description="The images, each one prediction, in order.",
    )
    image: Base64Image = Field(
        None,  # type: ignore[assignment]
        description="One image (instead of images).",
    )

    @model_validator(mode="after")
    def _images_or_image(self) -> Self:
        if len(self.model_fields_set & {"images", "image"}) != 1:
            raise PydanticCustomError(
                "images_or_image",
                'send the images as {"images": ["<base64>", ...]}, or one image as '
                '{"image": "<base64>"}; exactly one of the two',
            )
        return self

    def sent(self) -> list[tuple[list[str | int], str]]:
        """Each image sent, with its location in the body, in order."""
        if "image" in self.model_fields_set:
            return [(["image"], self.image)]
        return [(["images", i], text) for i, text in enumerate(self.images)]


class ImagePredictResponse(PredictResponse):
    predictions: list[Prediction] = Field(description="One per image, in the order sent.")


#: A 1x1 white PNG, the schema's example (a client can send it as it is).
_EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)


@dataclass(frozen=True)
class SentImage:
    """One image of a request: its encoded bytes (``None`` when they could not be had: see
    ``problem``), where it was in the request, and what was wrong with it, if anything."""

    index: int
    loc: list[str | int]
    data: bytes | None
    filename: str | None = None
    problem: str | None = None
    problem_type: str | None = None

    @property
    def name(self) -> str:
        """How a message names the image: its index, and for an upload its file name."""
        if self.filename is None:
            return f"image {self.index}"
        return f"image {self.index} ({self.filename!r})"

    def refused(self, message: str, kind: str) -> Self:
        return type(self)(self.index, self.loc, None, self.filename, message, kind)

    def detail(self) -> dict[str, Any]:
        """The problem as an entry of the 422's details."""
        return {
            "loc": self.loc,
            "index": self.index,
            "filename": self.filename,
            "msg": self.problem,
            "type": self.problem_type,
        }


# -- reading the body ---------------------------------------------------------------------------

#: ``data:[<media type>][;param=value]*[;base64],`` (RFC 2397).
_DATA_URL = re.compile(r"data:[^,;]*(?:;[^,;=]+=[^,;]*)*(?P<base64>;base64)?,", re.IGNORECASE)
#: A character outside each alphabet (white space aside), found by the regex engine: a request
#: may hold megabytes of base64.
_NOT_STANDARD = re.compile(r"[^A-Za-z0-9+/=\s]")
_NOT_URL_SAFE = re.compile(r"[^A-Za-z0-9\-_=\s]")


def decode_base64(text: str) -> bytes:
    """The bytes of a base64 string or data URL; a ``ValueError`` that says what is wrong.

    Lenient where encoders differ and nothing is ambiguous: white space (line breaks every 76
    characters), missing ``=`` padding, and the URL-safe alphabet (``-_`` for ``+/``) are
    accepted; a character of neither alphabet, or a length no base64 has, is refused.
    """
    found = _DATA_URL.match(text)
    start = 0
    if found is not None:
        if found["base64"] is None:
            raise ValueError(
                "a data URL without ';base64' holds text, not an image's bytes; send "
                "data:image/png;base64,... or the base64 alone"
            )
        start = found.end()
    url_safe = text.find("-", start) >= 0 or text.find("_", start) >= 0
    bad = (_NOT_URL_SAFE if url_safe else _NOT_STANDARD).search(text, start)
    if bad is not None:  # its position in the string as sent
        char = bad.group()
        shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        raise ValueError(
            f"not base64: character {shown} at position {bad.start()}; send the image "
            "file's bytes in base64 (or as a multipart upload)"
        )
    body = "".join(text[start:].split()).rstrip("=")
    if "=" in body:
        raise ValueError("not base64: '=' before the end; send the image file's bytes in base64")
    if len(body) % 4 == 1:
        count = f"{len(body)} character{'s' if len(body) > 1 else ''}"
        raise ValueError(f"not base64: {count}, a length no base64 has (cut short?)")
    padded = body + "=" * (-len(body) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if url_safe else None)
    except binascii.Error as exc:  # the checks above leave nothing for it; kept as a guard
        raise ValueError(f"not base64 ({exc})") from exc


def _json_error(raw: bytes, exc: json.JSONDecodeError) -> RequestValidationError:
    """The validation error FastAPI raises for a body that is not JSON (same answer)."""
    error = {
        "type": "json_invalid",
        "loc": ("body", exc.pos),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": exc.msg},
    }
    return RequestValidationError([error], body=raw)


async def _json_images(request: Request) -> list[SentImage]:
    raw = await request.body()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _json_error(raw, exc) from None
    except UnicodeDecodeError:
        raise ApiError(
            400,
            "invalid_request",
            "the request body could not be read (it is not UTF-8); send UTF-8 JSON, or the "
            "images as a multipart/form-data upload",
        ) from None
    try:
        body = ImagePredictRequest.model_validate(parsed)
    except ValidationError as exc:
        # The app's handler answers it as it answers any body its schema refuses (and names
        # texts or rows sent to an image model as such).
        raise RequestValidationError(exc.errors(include_url=False), body=parsed) from None
    out = []
    for index, (loc, text) in enumerate(body.sent()):
        image = SentImage(index, loc, None)
        try:
            out.append(SentImage(index, loc, decode_base64(text)))
        except ValueError as exc:
            out.append(image.refused(f"{image.name}: {exc}", "invalid_base64"))
    return out


#: Most parts a multipart body may have: far more than any limit on images (which is checked
#: after parsing, to answer a 422 naming it), only a guard on the parser's work.
_MAX_PARTS = 100_000


async def _uploaded_images(request: Request) -> list[SentImage]:
    try:
        # Starlette's form parser spools each file to a temporary file past 1 MiB; the body
        # limit (limits.py) has bounded what it reads already.
        form = await request.form(max_files=_MAX_PARTS, max_fields=_MAX_PARTS)
    except StarletteHTTPException as exc:
        raise ApiError(
            400,
            "invalid_request",
            f"the multipart body could not be read ({exc.detail}); send each image as a file "
            "part, as curl -F images=@photo.jpg does",
        ) from None
    try:
        out: list[SentImage] = []
        per_field: dict[str, int] = {}
        fields: list[str] = []
        for field, value in form.multi_items():
            position = per_field.get(field, 0)
            per_field[field] = position + 1
            if not isinstance(value, UploadFile):
                fields.append(field)
                continue
            data = await value.read()
            out.append(SentImage(len(out), [field, position], data, value.filename or ""))
    finally:
        await form.close()
    if fields:
        named = list(dict.fromkeys(fields))
        shown = ", ".join(repr(f[:40]) for f in named[:5])
        shown += f" (and {len(named) - 5} more)" if len(named) > 5 else ""
        raise ApiError(
            422,
            "invalid_request",
            f"the multipart field(s) {shown} hold text, not a file: send each image as a file "
            "part (curl -F images=@photo.jpg), or the images as base64 in JSON",
        )
    return out


async def read_images(request: Request) -> list[SentImage]:
    """The images of a predict request, JSON or multipart, in order (not yet decoded).

    Raises
    ------
    RequestValidationError
        A JSON body its schema refuses (answered as any such body).
    ApiError
        A body that is neither JSON nor multipart, or that cannot be parsed as such.
    """
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return await _uploaded_images(request)
    if media in ("", "application/json") or media.endswith("+json"):
        return await _json_images(request)
    raise ApiError(
        422,
        "invalid_request",
        f"this model takes images as JSON (Content-Type: application/json, "
        f'{{"images": ["<base64>", ...]}}) or as multipart/form-data uploads, not {media}',
    )


# -- checking the images ------------------------------------------------------------------------


def _problem_type(exc: DataError) -> str:
    """A stable name for why ``open_image`` refused an image (the exception it chained)."""
    from PIL import Image, UnidentifiedImageError

    cause = exc.__cause__
    if cause is None:
        return "empty_image"
    if isinstance(cause, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return "too_many_pixels"
    if isinstance(cause, UnidentifiedImageError):
        return "not_an_image"
    return "damaged_image"


def image_problems(images: list[SentImage]) -> list[SentImage]:
    """The images that cannot be used, each with why: those whose base64 failed already, and
    those ``open_image`` refuses (decoded one at a time, each dropped once checked)."""
    bad = []
    for image in images:
        if image.data is None:
            bad.append(image)
            continue
        try:
            open_image(image.data, image.name)
        except DataError as exc:
            bad.append(image.refused(str(exc), _problem_type(exc)))
    return bad


def _invalid_images(bad: list[SentImage], total: int) -> ApiError:
    parts = [image.problem or image.name for image in bad]
    message = f"{len(bad)} of the {total} image(s) cannot be read: " + "; ".join(parts[:5])
    if len(parts) > 5:
        message += f" (and {len(parts) - 5} more)"
    return ApiError(422, "invalid_image", message, details=[image.detail() for image in bad])


def check_image_limits(images: list[SentImage], settings: ServeSettings) -> None:
    """Raise ``LimitExceeded`` for more than ``max_batch`` images, a 422 for none."""
    if not images:
        raise ApiError(
            422,
            "invalid_request",
            "the request holds no image: send at least one file part (curl -F "
            'images=@photo.jpg), or {"images": ["<base64>", ...]}',
        )
    if len(images) > settings.max_batch:
        raise LimitExceeded(
            f"the request has {len(images)} images; this server accepts at most "
            f"{settings.max_batch} per request (max_batch); split it into smaller requests"
        )


# -- the route ----------------------------------------------------------------------------------

IMAGE_PREDICT_DOC = """Labels and class probabilities, one per image, in the order sent.

Send the images as JSON, `{"images": ["<base64>", ...]}` or `{"image": "<base64>"}` (each the
image file's bytes in base64, or a data URL `data:image/png;base64,...`), or as a
multipart/form-data upload of one or more files under any field name
(`curl -F images=@cat.jpg -F images=@dog.png`). JPEG, PNG, WebP, GIF, BMP and TIFF are read;
grayscale and transparency are handled as in training. Every image is checked before the model
runs: a request with a bad one (not base64, empty, not an image, truncated, more pixels than
the limit) is a 422 of type `invalid_image` whose details name each bad image by `index` (its
position in the request) and, for an upload, `filename`.
"""


async def image_predict(
    request: Request, served: ServedDep, metrics: MetricsDep
) -> ImagePredictResponse:
    """Labels and class probabilities, one per image sent (JSON base64 or multipart)."""
    images = await read_images(request)
    check_image_limits(images, served.settings)
    # Decoding is CPU work (Pillow releases the GIL): off the event loop, beside the model.
    bad = await asyncio.to_thread(image_problems, images)
    if bad:
        raise _invalid_images(bad, len(images))
    if served.image_predictor is None:  # the app was built for an image model (cannot happen)
        raise ApiError(422, "invalid_request", "this model does not classify images")
    metrics.request_texts.labels("/v1/predict").observe(len(images))
    results = await served.image_predictor.submit([image.data or b"" for image in images])
    failed = [i for i, result in enumerate(results) if result is None]
    if failed:
        named = ", ".join(map(str, failed[:10])) + (", ..." if len(failed) > 10 else "")
        raise ApiError(
            422,
            "invalid_image",
            f"the model could not read image(s) {named}; check those images",
        )
    predictions = [result for result in results if result is not None]
    return ImagePredictResponse(model=served.strategy, predictions=predictions)


#: The multipart body, as the OpenAPI schema states it: file parts under any field name.
_UPLOAD_SCHEMA: dict[str, Any] = {
    "title": "ImageUpload",
    "type": "object",
    "description": "One or more image files, each a file part, under any field name "
    "(`images` is usual), in the order sent.",
    "properties": {
        "images": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": 1,
            "description": "The image files.",
        }
    },
    "additionalProperties": {"type": "string", "format": "binary"},
    "minProperties": 1,
}


def _request_body() -> dict[str, Any]:
    """The predict route's two bodies, for the OpenAPI schema (the route reads the body itself:
    FastAPI takes one content type per route)."""
    schema = ImagePredictRequest.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": _UPLOAD_SCHEMA},
            },
        }
    }


def add_image_routes(v1: APIRouter, table: TableSpec | None) -> None:
    """An image model's model routes on ``v1``: predict, taking JSON or multipart images;
    ``/v1/recommend`` answers a 404 that names the route to use."""
    v1.add_api_route(
        "/predict",
        image_predict,
        methods=["POST"],
        summary="Classify one image or a batch (base64 JSON or multipart upload)",
        description=IMAGE_PREDICT_DOC,
        responses=error_responses(400),
        openapi_extra=_request_body(),
    )
    v1.add_api_route("/recommend", recommend_unsupported, methods=["POST"], include_in_schema=False)


def document_image_limits(openapi: dict[str, Any], settings: ServeSettings) -> dict[str, Any]:
    """Write ``settings``' limit on images per request into an image app's OpenAPI schema (in
    place), on both of its bodies."""
    post = openapi.get("paths", {}).get("/v1/predict", {}).get("post", {})
    content = post.get("requestBody", {}).get("content", {})
    for media in ("application/json", "multipart/form-data"):
        images = content.get(media, {}).get("schema", {}).get("properties", {}).get("images")
        if isinstance(images, dict):
            images["maxItems"] = settings.max_batch
    return openapi
