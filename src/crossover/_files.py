"""Content hashes of files, read in blocks (model weights run to hundreds of MB)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["hash_file", "sha256_file"]

_BLOCK = 1 << 20


def hash_file(digest: Any, path: Path) -> None:
    """Feed the bytes of ``path`` to ``digest`` (a ``hashlib`` object)."""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of the file ``path``."""
    digest = hashlib.sha256()
    hash_file(digest, path)
    return digest.hexdigest()
