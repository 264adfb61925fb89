"""Editing an exported model folder's manifest in tests.

An exported manifest covers itself (``manifest_sha256``), so a test that edits one to set up
something else (an older folder's missing key, other recorded versions) must seal it again,
as ``export`` would have. Tests of the seal itself edit the file without this helper.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossover.artifacts.load import MANIFEST, MANIFEST_DIGEST, manifest_digest

__all__ = ["edit_manifest", "read_manifest", "reseal"]


def read_manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    return manifest


def reseal(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``manifest`` into ``folder`` with its digest recomputed; return what was written."""
    sealed = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    sealed[MANIFEST_DIGEST] = manifest_digest(sealed)
    (folder / MANIFEST).write_text(json.dumps(sealed, indent=2, sort_keys=True))
    return sealed


def edit_manifest(folder: Path, edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Apply ``edit`` (which changes the dict in place) to ``folder``'s manifest and reseal it."""
    manifest = read_manifest(folder)
    edit(manifest)
    return reseal(folder, manifest)
