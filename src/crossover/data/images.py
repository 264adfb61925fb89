"""Images as crossover reads them: from a file, from bytes (a served request), or a PIL image.

Every reader of an image goes through ``open_image``, so that a training folder, a test set and
a request body are decoded and refused the same way: a zero-byte file, bytes Pillow cannot
identify, a truncated file and a decompression bomb (more pixels than Pillow's limit: an
error here, where Pillow only warns below twice its limit) each raise a ``DataError`` that
names the image. Decoded images are RGB: grayscale is repeated over the three channels,
transparency is laid on white (product shots on a transparent background stay on a light one,
as a viewer shows them), and the EXIF orientation is applied (phones store portraits sideways).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crossover.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageInput",
    "content_key",
    "image_bytes",
    "image_name",
    "open_image",
    "pixel_limit",
    "to_array",
]

#: What an image argument may be: a path, the encoded bytes, or a decoded PIL image.
ImageInput = Any  # str | os.PathLike[str] | bytes | PIL.Image.Image (PIL is imported lazily)

#: File suffixes read as images in a folder (others are skipped, and counted).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def pixel_limit() -> int:
    """The most pixels an image may have: Pillow's ``Image.MAX_IMAGE_PIXELS`` (89.5M by
    default: a decompression bomb beyond it), which a user may change as Pillow documents."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else 0


def image_name(image: ImageInput, index: int | None = None) -> str:
    """How a message names an image: its path, else its position in the request."""
    if isinstance(image, str | os.PathLike):
        return str(image)
    return f"image {index}" if index is not None else "the image"


def image_bytes(image: ImageInput, name: str | None = None) -> bytes:
    """The encoded bytes of a path or of bytes (a PIL image is encoded as PNG)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image)
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise DataError(f"{path}: no such image file; check the path") from exc
        except OSError as exc:
            raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if hasattr(image, "save"):  # a PIL image
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    raise DataError(
        f"{name or 'an image'}: expected a file path, encoded image bytes or a PIL image, "
        f"got {type(image).__name__}"
    )


def content_key(data: bytes) -> bytes:
    """The key an image's features are cached under: SHA-256 of its encoded bytes."""
    return hashlib.sha256(data).digest()[:20]


def open_image(image: ImageInput, name: str | None = None) -> Image.Image:
    """Decode ``image`` to an RGB PIL image, or raise a ``DataError`` naming it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = name or image_name(image)
    if hasattr(image, "mode") and hasattr(image, "convert"):
        return _rgb(image)
    data = image_bytes(image, name)
    if not data:
        raise DataError(f"{name}: empty file (0 bytes); remove it or replace it with the image")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; a bomb is refused at the limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            decoded: Image.Image = Image.open(io.BytesIO(data))
            decoded.load()  # decode now: a truncated file fails here, not in a trial
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(
            f"{name}: {_pixels(exc)} pixels, more than the limit of {pixel_limit():,} "
            "(a decompression bomb, or a huge scan): resize it, or raise "
            "PIL.Image.MAX_IMAGE_PIXELS if it is genuine"
        ) from exc
    except UnidentifiedImageError as exc:
        kind = _signature(data)
        if kind is not None:  # the header of an image, cut or corrupt after it
            raise DataError(
                f"{name}: a {kind} file that is damaged or cut short ({len(data):,} bytes); "
                "export it again or remove it"
            ) from exc
        raise DataError(
            f"{name}: not an image Pillow can read ({len(data):,} bytes starting "
            f"{data[:8]!r}); use JPEG, PNG or WebP"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise DataError(
            f"{name}: the image is damaged ({exc}); export it again or remove it"
        ) from exc
    with contextlib.suppress(Exception):  # broken EXIF: keep the pixels as stored
        decoded = ImageOps.exif_transpose(decoded)
    return _rgb(decoded)


#: The first bytes of the formats crossover reads, and their names.
_SIGNATURES = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _signature(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)


def _pixels(exc: BaseException) -> str:
    """The pixel count Pillow's bomb message gives ("Image size (N pixels) exceeds ...")."""
    import re

    found = re.search(r"\((\d+) pixels\)", str(exc))
    return f"{int(found.group(1)):,}" if found else "too many"


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as RGB: transparency laid on white, grayscale repeated on three channels."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit or float grayscale: scale to 8 bits by the image's own range.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else values * 0
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def to_array(
    images: Sequence[ImageInput],
    size: int,
    *,
    names: Sequence[str] | None = None,
    grayscale: bool = False,
) -> np.ndarray:
    """Decode and resize ``images`` to ``size`` x ``size``: uint8, (n, size, size, 3), or
    (n, size, size) with ``grayscale``.

    The shorter side is scaled to ``size`` and the centre cropped (no distortion; a square
    image loses nothing).
    """
    from PIL import Image

    channels = () if grayscale else (3,)
    out = np.empty((len(images), size, size, *channels), dtype=np.uint8)
    for i, image in enumerate(images):
        name = names[i] if names is not None else image_name(image, i)
        decoded = open_image(image, name)
        width, height = decoded.size
        scale = size / min(width, height)
        new = (max(size, round(width * scale)), max(size, round(height * scale)))
        if new != decoded.size:
            decoded = decoded.resize(new, Image.Resampling.BILINEAR, reducing_gap=3.0)
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        decoded = decoded.crop((left, top, left + size, top + size))
        out[i] = np.asarray(decoded.convert("L") if grayscale else decoded)
    return out
