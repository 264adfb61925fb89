from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossover.errors import ModelError
from crossover.models import Embedder, resolve_model
from crossover.models._resolve import DEFAULT_MODEL
from tests.conftest import FAST_MODEL


def test_resolve_model_finds_installed_package() -> None:
    resolved = resolve_model(FAST_MODEL)
    assert resolved.source == "package"
    assert resolved.format == "model2vec"
    assert (resolved.path / "model.safetensors").is_file()


def test_resolve_model_default_model_is_installed_sentence_transformer() -> None:
    resolved = resolve_model(DEFAULT_MODEL)
    assert resolved.source == "package"
    assert resolved.format == "sentence-transformers"


def test_resolve_model_local_path(tmp_path: Path) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(resolve_model(FAST_MODEL).path, copy)
    resolved = resolve_model(str(copy))
    assert resolved.source == "path"
    assert resolved.path == copy
    # Same files under another name: another identity, so caches never mix models.
    assert resolved.identity != resolve_model(FAST_MODEL).identity


def _in_hf_cache(tmp_path: Path, script: str) -> Any:
    """Lay a copy of the fast model into a Hugging Face cache as ``acme/static-test``, run
    ``script`` in a fresh interpreter with ``HF_HUB_CACHE`` naming that cache, and return the
    JSON it prints last.

    ``HF_HUB_CACHE`` is the variable huggingface_hub documents; it reads it once at import,
    hence the fresh interpreter.
    """
    snapshot = tmp_path / "hub" / "models--acme--static-test" / "snapshots" / ("a" * 40)
    shutil.copytree(resolve_model(FAST_MODEL).path, snapshot)
    refs = tmp_path / "hub" / "models--acme--static-test" / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_resolve_model_from_local_hf_cache(tmp_path: Path) -> None:
    """A copy laid into the Hugging Face cache layout resolves by its plain hub id, offline."""
    result = _in_hf_cache(
        tmp_path,
        "import json\n"
        "from crossover.models import resolve_model\n"
        "resolved = resolve_model('acme/static-test')\n"
        "print(json.dumps({'source': resolved.source, 'path': str(resolved.path)}))\n",
    )
    assert result["source"] == "hf-cache"
    snapshot = tmp_path / "hub" / "models--acme--static-test" / "snapshots" / ("a" * 40)
    assert Path(result["path"]).resolve() == snapshot.resolve()


@pytest.mark.slow
def test_embedder_loads_a_model_from_local_hf_cache(tmp_path: Path) -> None:
    result = _in_hf_cache(
        tmp_path,
        "import json, sys\n"
        "from pathlib import Path\n"
        "from crossover.models import Embedder\n"
        "embedder = Embedder('acme/static-test', cache_dir=Path(sys.argv[1]) / 'c')\n"
        "print(json.dumps(list(embedder.encode(['refund please']).shape)))\n",
    )
    assert result == [1, 64]


def test_resolve_model_offline_without_copy_says_how_to_install() -> None:
    with pytest.raises(ModelError, match=r"'acme/not-here' is not on this machine.*HF_HUB_OFFLINE"):
        resolve_model("acme/not-here")


def test_resolve_model_missing_local_path() -> None:
    with pytest.raises(ModelError, match="no such model folder"):
        resolve_model("./no/such/model")


def test_resolve_model_folder_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a sentence-transformers or model2vec model"):
        resolve_model(str(tmp_path))


@pytest.mark.slow
def test_default_model_embeds_offline(tmp_path: Path) -> None:
    vectors = Embedder(DEFAULT_MODEL, cache_dir=tmp_path).encode(["where is my card?", "hi"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
