"""Model folders are trusted only as exported (issue 18): every path the manifest names stays
inside the folder, every file the loader reads (the encoder's weights and tokenizer included)
is hashed, the manifest covers itself, and a malformed manifest is one ``ModelError`` line
naming the key (exit 2 from the CLI), never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover.artifacts.load as load_module
from crossover.artifacts import export_strategy, load_model, verify
from crossover.artifacts.load import MANIFEST_DIGEST, manifest_digest
from crossover.cli import app
from crossover.errors import ModelError
from crossover.models._resolve import confined_to, resolve_model
from crossover.strategies import Strategy, registry
from tests.conftest import FAST_MODEL, make_tickets
from tests.manifests import edit_manifest, read_manifest


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return make_tickets(8).sample(frac=1.0, random_state=5).reset_index(drop=True)


def _fit(key: str, data: pd.DataFrame) -> Strategy:
    cls = registry.get(key)
    kwargs = {"model": FAST_MODEL} if "model" in cls._param_names() else {}
    return cls(**kwargs).fit(data["text"].tolist(), data["label"].tolist())


@pytest.fixture(scope="module")
def fitted(tickets: pd.DataFrame) -> Strategy:
    return _fit("text.embedding-head", tickets)


@pytest.fixture(scope="module")
def exported(fitted: Strategy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_strategy(fitted, tmp_path_factory.mktemp("integrity") / "model")


@pytest.fixture
def folder(exported: Path, tmp_path: Path) -> Path:
    """A copy of the exported folder (``tmp_path`` / copy / model), free to tamper with."""
    return Path(shutil.copytree(exported, tmp_path / "copy" / "model"))


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the loader hashes, in order (the hash is still computed)."""
    seen: list[Path] = []
    original = load_module._sha256

    def recording(path: Path) -> str:
        seen.append(Path(path))
        return original(path)

    monkeypatch.setattr(load_module, "_sha256", recording)
    return seen


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _weights(folder: Path) -> Path:
    return next((folder / "encoder").rglob("*.safetensors"))


def _xor(path: Path, size: int = 4096) -> None:
    """XOR ``size`` bytes in the middle of ``path``: the issue's silently corrupted encoder."""
    data = bytearray(path.read_bytes())
    start = len(data) // 2
    for i in range(start, start + size):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


# ----- a fresh export ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["text.embedding-head", "text.zero-shot-embeddings"])
def test_export_fresh_folder_loads_and_predicts_as_the_fitted_strategy(
    key: str, tickets: pd.DataFrame, tmp_path: Path
) -> None:
    fitted = _fit(key, tickets)
    folder = export_strategy(fitted, tmp_path / "model")
    manifest = read_manifest(folder)
    assert manifest["format_version"] == 2
    assert manifest[MANIFEST_DIGEST] == manifest_digest(manifest)
    # Every file of the encoder copy is listed with its hash: weights, tokenizer, configuration.
    encoder_files = {
        p.relative_to(folder).as_posix() for p in (folder / "encoder").rglob("*") if p.is_file()
    }
    assert {"encoder/model.safetensors", "encoder/tokenizer.json"} <= encoder_files
    assert all(manifest["files"][name] == _sha(folder / name) for name in encoder_files)
    model = load_model(folder)
    texts = tickets["text"].tolist()
    assert model.predict(texts) == [str(v) for v in fitted.predict(texts)]
    if fitted.has_proba:
        np.testing.assert_allclose(model.predict_proba(texts), fitted.predict_proba(texts))
    # The encoder the strategy uses is the folder's own copy.
    assert fitted.embedding_model() == FAST_MODEL
    assert model.strategy.embedding_model() == str((folder / "encoder").resolve())


def test_manifest_digest_ignores_layout_only(folder: Path) -> None:
    # The digest is of the canonical content: re-indenting the file changes nothing.
    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=7, sort_keys=False))
    assert load_model(folder).labels


def test_load_serves_a_model_folder_through_a_link_to_it(folder: Path, tmp_path: Path) -> None:
    # The folder itself may be a link (models/current -> models/v3); what is inside is checked.
    link = tmp_path / "current"
    link.symlink_to(folder, target_is_directory=True)
    assert load_model(link).labels


# ----- the manifest covers itself ------------------------------------------------------------


def test_verify_refuses_an_edited_manifest_before_reading_any_other_file(
    folder: Path, hashed: list[Path]
) -> None:
    manifest = read_manifest(folder)
    manifest["labels"] = list(reversed(manifest["labels"]))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with pytest.raises(ModelError, match=r"manifest\.json was modified after export"):
        load_model(folder)
    assert hashed == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop(MANIFEST_DIGEST), r"has no 'manifest_sha256'"),
        (lambda m: m.update({MANIFEST_DIGEST: "0" * 64}), "modified after export"),
        (lambda m: m.update({"metrics": {"accuracy": {"score": 0.99}}}), "modified after export"),
    ],
    ids=["digest-removed", "digest-replaced", "metrics-inflated"],
)
def test_verify_refuses_a_manifest_not_as_exported(folder: Path, edit: Any, message: str) -> None:
    manifest = read_manifest(folder)
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=message):
        verify(folder)


def test_load_refuses_a_folder_of_format_version_1_saying_how_to_export_again(
    folder: Path,
) -> None:
    manifest = read_manifest(folder)
    manifest["format_version"] = 1
    del manifest[MANIFEST_DIGEST]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"format version 1.*crossover export STUDY_DIR"):
        load_model(folder)


def test_verify_refuses_a_manifest_that_is_a_link(folder: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    shutil.move(folder / "manifest.json", real)
    (folder / "manifest.json").symlink_to(real)
    with pytest.raises(ModelError, match=r"manifest\.json is not a regular file"):
        verify(folder)


# ----- a malformed manifest: one error naming the key ----------------------------------------


def _drop_encoder_id(manifest: dict[str, Any]) -> None:
    del manifest["embedding_model"]["id"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("strategy"), r"has no 'strategy'"),
        (_drop_encoder_id, r"'embedding_model\.id' must be a non-empty string, not missing"),
        (lambda m: m["embedding_model"].update({"path": 3}), r"'embedding_model\.path'"),
        (lambda m: m.update({"embedding_model": "encoder"}), r"'embedding_model' must be an"),
        (lambda m: m.update({"labels": "a,b"}), r"'labels' must be a list, not str"),
        (lambda m: m.update({"labels": [1, 2]}), r"'labels' must be a list of strings"),
        (lambda m: m.update({"files": ["strategy"]}), r"'files' must be an object, not list"),
        (lambda m: m.update({"files": {}}), r"lists no files"),
        (lambda m: m["files"].update({"strategy/x.json": 7}), r"files\['strategy/x\.json'\]"),
        (lambda m: m.update({"has_proba": "yes"}), r"'has_proba' must be true or false"),
        (lambda m: m.update({"strategy": ""}), r"'strategy' is empty"),
    ],
    ids=[
        "no-strategy",
        "encoder-without-id",
        "encoder-path-not-text",
        "encoder-not-object",
        "labels-not-list",
        "labels-not-text",
        "files-not-object",
        "files-empty",
        "hash-not-text",
        "has-proba-not-bool",
        "strategy-empty",
    ],
)
def test_load_refuses_a_malformed_manifest_naming_the_key(
    folder: Path, edit: Any, message: str
) -> None:
    # Sealed again, as a buggy or hand-made exporter would: the keys are checked for themselves.
    edit_manifest(folder, edit)
    with pytest.raises(ModelError, match=message):
        load_model(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not readable JSON"),
        ("[1, 2]", "is not a JSON object but list"),
        ('{"format_version": 2, "format_version": 2}', "the key 'format_version' appears twice"),
        ('{"format_version": true}', "format version True is unknown"),
    ],
    ids=["not-json", "not-object", "duplicate-key", "version-bool"],
)
def test_verify_refuses_a_manifest_that_is_not_one(
    folder: Path, content: str, message: str
) -> None:
    (folder / "manifest.json").write_text(content)
    with pytest.raises(ModelError, match=message):
        verify(folder)


def _no_strategy(folder: Path) -> None:
    edit_manifest(folder, lambda m: m.pop("strategy"))


def _no_encoder_id(folder: Path) -> None:
    edit_manifest(folder, _drop_encoder_id)


def _xored(folder: Path) -> None:
    _xor(_weights(folder))


def _escaping(folder: Path) -> None:
    edit_manifest(folder, lambda m: m["files"].update({"../../../../etc/passwd": "0" * 64}))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_no_strategy, "has no 'strategy'"),
        (_no_encoder_id, "embedding_model.id"),
        (_xored, "encoder/model.safetensors does not match its SHA-256"),
        (_escaping, "'../../../../etc/passwd' has a '..' component"),
    ],
    ids=["no-strategy", "encoder-without-id", "xored-weights", "escaping-path"],
)
def test_serve_cli_exits_2_with_one_line(folder: Path, tamper: Any, message: str) -> None:
    tamper(folder)
    result = CliRunner().invoke(app, ["serve", str(folder)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0] and "Traceback" not in result.output


def test_serve_command_exits_2_without_traceback(folder: Path) -> None:
    _no_encoder_id(folder)
    crossover = Path(sys.executable).with_name("crossover")
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(crossover), "serve", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "KeyError" not in done.stderr
    assert "embedding_model.id" in done.stderr and len(done.stderr.strip().splitlines()) == 1


# ----- every path stays inside the folder ----------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("../../../../etc/passwd", "has a '..' component"),
        ("/etc/passwd", "is an absolute path"),
        ("strategy/../../../../etc/passwd", "has a '..' component"),
        ("./strategy/strategy.json", "is not a plain relative path"),
        ("strategy//strategy.json", "is not a plain relative path"),
        ("C:\\Windows\\win.ini", "is an absolute path"),
    ],
)
def test_verify_refuses_a_files_entry_outside_the_folder_even_with_its_real_hash(
    folder: Path, hashed: list[Path], entry: str, message: str
) -> None:
    passwd = Path("/etc/passwd")
    real = _sha(passwd) if passwd.is_file() else "0" * 64
    edit_manifest(folder, lambda m: m["files"].update({entry: real}))
    with pytest.raises(ModelError, match=rf"files entry {entry!r} {message}".replace("\\", "\\\\")):
        load_model(folder)
    assert hashed == []  # refused before any file was read


def test_load_refuses_an_encoder_path_outside_the_folder(
    folder: Path, hashed: list[Path], tickets: pd.DataFrame
) -> None:
    # The bypass: the encoder moved next to the folder, its weights XOR-ed, the
    # manifest pointing there and listing the model folder's own files alone.
    other = folder.parent / "other" / "encoder"
    shutil.move(folder / "encoder", other)
    _xor(next(other.rglob("*.safetensors")))

    def point_outside(manifest: dict[str, Any]) -> None:
        manifest["embedding_model"]["path"] = "../other/encoder"
        manifest["files"] = {
            k: v for k, v in manifest["files"].items() if not k.startswith("encoder/")
        }

    edit_manifest(folder, point_outside)
    with pytest.raises(
        ModelError, match=r"embedding_model\.path '\.\./other/encoder' has a '\.\.' component"
    ):
        load_model(folder)
    edit_manifest(folder, lambda m: m["embedding_model"].update({"path": str(other)}))
    with pytest.raises(ModelError, match=r"embedding_model\.path '/.*' is an absolute path"):
        load_model(folder)
    assert all(folder.resolve() in p.resolve().parents for p in hashed)


def test_load_refuses_an_encoder_folder_that_is_a_link_leading_out(folder: Path) -> None:
    # The same bypass with a link: every listed file has its hash, read through the link.
    other = folder.parent / "other" / "encoder"
    shutil.move(folder / "encoder", other)
    (folder / "encoder").symlink_to(other, target_is_directory=True)
    with pytest.raises(ModelError, match=r"'encoder/config\.json' leads out of the folder"):
        load_model(folder)


def test_load_refuses_a_file_that_is_a_link_leading_out(folder: Path) -> None:
    # Same bytes, same hash: the link alone is refused.
    weights = _weights(folder)
    outside = folder.parent / "weights.safetensors"
    shutil.move(weights, outside)
    weights.symlink_to(outside)
    with pytest.raises(ModelError, match=r"files entry 'encoder/model\.safetensors' leads out"):
        load_model(folder)


def test_load_refuses_an_unlisted_link_leading_out(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.json").write_text("{}")
    (folder / "encoder" / "extra").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(ModelError, match=r"encoder/extra is a link leading out of the folder"):
        verify(folder)


def test_load_accepts_a_link_that_stays_inside_only_when_listed(folder: Path) -> None:
    (folder / "encoder" / "alias.json").symlink_to(folder / "encoder" / "config.json")
    with pytest.raises(ModelError, match=r"encoder/alias\.json is not in the manifest"):
        verify(folder)
    edit_manifest(
        folder,
        lambda m: m["files"].update({"encoder/alias.json": _sha(folder / "encoder/config.json")}),
    )
    assert verify(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_verify_refuses_a_fifo_instead_of_hanging_on_it(folder: Path) -> None:
    head = folder / "strategy" / "head.skops"
    head.unlink()
    os.mkfifo(head)
    with pytest.raises(ModelError, match=r"strategy/head\.skops is not a regular file"):
        verify(folder)


def test_verify_names_a_file_it_cannot_read(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(load_module, "_sha256", denied)
    with pytest.raises(ModelError, match=r"config\.json cannot be read \(Permission denied\)"):
        verify(folder)


# ----- every file the loader reads is hashed -------------------------------------------------


def test_load_refuses_encoder_weights_with_4_kb_xored(folder: Path) -> None:
    _xor(_weights(folder))
    with pytest.raises(
        ModelError, match=r"encoder/model\.safetensors does not match its SHA-256 in the manifest"
    ):
        load_model(folder)


def test_load_refuses_a_changed_tokenizer(folder: Path) -> None:
    tokenizer = folder / "encoder" / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes() + b" ")
    with pytest.raises(ModelError, match=r"encoder/tokenizer\.json does not match its SHA-256"):
        load_model(folder)


def test_load_refuses_an_unlisted_file_in_the_encoder_folder(folder: Path) -> None:
    # sentence-transformers reads configuration files it finds in the folder.
    (folder / "encoder" / "modules.json").write_text("[]")
    with pytest.raises(ModelError, match=r"encoder/modules\.json is not in the manifest"):
        load_model(folder)


def test_load_refuses_an_encoder_file_of_a_format_export_never_copies(folder: Path) -> None:
    extra = folder / "encoder" / "model.onnx"
    extra.write_bytes(b"onnx")
    edit_manifest(folder, lambda m: m["files"].update({"encoder/model.onnx": _sha(extra)}))
    with pytest.raises(ModelError, match=r"encoder/model\.onnx is not a file an exported encoder"):
        load_model(folder)


def test_load_reads_the_encoder_from_the_folder_alone(folder: Path) -> None:
    # Without the copy in the manifest, the strategy's saved model id would be resolved from
    # this machine (an installed package, the Hugging Face cache, the hub): refused.
    def drop_encoder(manifest: dict[str, Any]) -> None:
        manifest["embedding_model"] = None
        manifest["files"] = {
            k: v for k, v in manifest["files"].items() if not k.startswith("encoder/")
        }

    shutil.rmtree(folder / "encoder")
    edit_manifest(folder, drop_encoder)
    with pytest.raises(ModelError, match=rf"would encode with {FAST_MODEL}, which is not the copy"):
        load_model(folder)


def test_load_refuses_a_saved_state_the_encoder_override_cannot_reach(folder: Path) -> None:
    # Loading replaces the saved "model" with the folder's copy; a state without that
    # parameter (its hash updated) would encode with the class's default model: refused.
    state_file = folder / "strategy" / "strategy.json"
    state = json.loads(state_file.read_text())
    del state["params"]["model"]  # the override of "model" then has nothing to replace
    state_file.write_text(json.dumps(state))
    edit_manifest(folder, lambda m: m["files"].update({"strategy/strategy.json": _sha(state_file)}))
    with pytest.raises(ModelError, match="which is not the copy of its encoder"):
        load_model(folder)


def test_confined_to_resolves_only_folders_inside(exported: Path) -> None:
    with confined_to(exported):
        assert resolve_model(str(exported / "encoder")).path == (exported / "encoder").resolve()
        with pytest.raises(ModelError, match="which is not inside it"):
            resolve_model(FAST_MODEL)
        with pytest.raises(ModelError, match="which is not inside it"):
            resolve_model(str(exported / "encoder" / ".." / ".." / "elsewhere"))
    assert resolve_model(FAST_MODEL).source == "package"  # outside the block, as before


@pytest.mark.slow
def test_load_checks_every_file_of_a_sentence_transformers_encoder(
    tickets: pd.DataFrame, tmp_path: Path
) -> None:
    # The sentence-transformers format reads configuration from subfolders (1_Pooling/) and
    # from modules.json: each is listed and hashed like the weights.
    fitted = registry.get("text.embedding-head")(
        model="sentence-transformers/all-MiniLM-L6-v2"
    ).fit(tickets["text"].tolist(), tickets["label"].tolist())
    exported = export_strategy(fitted, tmp_path / "minilm")
    listed = read_manifest(exported)["files"]
    assert {"encoder/modules.json", "encoder/1_Pooling/config.json", "encoder/vocab.txt"} <= set(
        listed
    )
    texts = tickets["text"].tolist()[:6]
    assert load_model(exported).predict(texts) == [str(v) for v in fitted.predict(texts)]
    for name in ("1_Pooling/config.json", "modules.json", "vocab.txt"):
        copy = Path(shutil.copytree(exported, tmp_path / name.replace("/", "-")))
        changed = copy / "encoder" / name
        changed.write_bytes(changed.read_bytes().replace(b"\n", b"\n ", 1))
        with pytest.raises(ModelError, match=rf"encoder/{name} does not match its SHA-256"):
            load_model(copy)
