"""Pre-trained encoders on ONNX Runtime and OpenVINO (crossover.models.runtimes), built from
the installed all-MiniLM-L6-v2 without network, checked against torch fp32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crossover.errors import ConfigError, ModelError
from crossover.models.embeddings import Embedder
from crossover.models.runtimes import (
    MANIFEST,
    SETTINGS,
    EncoderSetting,
    calibration_digest,
    calibration_sample,
    load_calibration,
    save_calibration,
)
from tests.conftest import FAST_MODEL, make_tickets

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = make_tickets(20).text.tolist()
PROBE = [
    "where is my parcel? it was due on Monday",
    "the card payment was declined twice",
    "I would like to close my account",
    "refund",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))  # both L2-normalised


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return Embedder(MINILM).encode(TEXTS + PROBE, use_cache=False)


def test_settings_parse_and_refuse_what_no_runtime_runs() -> None:
    assert EncoderSetting.parse("openvino-int8") == EncoderSetting("openvino", "int8")
    assert EncoderSetting.parse(" ONNX ").tag == "onnx-fp32"  # a runtime alone: its fp32
    assert "torch-fp32" in SETTINGS and "openvino-int8" in SETTINGS
    with pytest.raises(ConfigError, match=r"onnx-bf16 is not one crossover runs.*openvino-int8"):
        EncoderSetting.parse("onnx-bf16")
    with pytest.raises(ConfigError, match="unknown runtime 'tensorrt'"):
        EncoderSetting.parse("tensorrt-int8")


def test_calibration_sample_is_the_same_whatever_the_order(tmp_path: Path) -> None:
    texts = [f"text number {i}" for i in range(500)] + ["", "  "]
    sample = calibration_sample(texts)
    assert len(sample) == 300 and "" not in sample and len(set(sample)) == 300
    assert calibration_sample(list(reversed(texts))) == sample
    digest = save_calibration(tmp_path, sample)
    assert digest == calibration_digest(sample)
    assert load_calibration(tmp_path, digest) == sample
    path = tmp_path / "encoders" / "calibration" / f"{digest}.json"
    path.write_text(json.dumps(sample[:-1]))
    with pytest.raises(ModelError, match="do not match their digest"):
        load_calibration(tmp_path, digest)
    with pytest.raises(ModelError, match="missing or unreadable"):
        load_calibration(tmp_path, "0" * 16)


@pytest.mark.parametrize(
    ("setting", "least_cosine"),
    [("onnx-fp32", 0.9999), ("openvino-fp32", 0.9999), ("openvino-int8", 0.97)],
)
def test_a_converted_encoder_gives_the_vectors_of_torch(
    tmp_path: Path, reference: np.ndarray, setting: str, least_cosine: float
) -> None:
    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder=setting)
    vectors = embedder.encode(TEXTS + PROBE)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosines(vectors, reference).min() >= least_cosine
    # Built once, with what it is and the hash of every file; its vectors cached apart.
    folder = embedder.converted_folder()
    assert folder is not None and folder.parent == tmp_path / "encoders"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert f"{manifest['runtime']}-{manifest['precision']}" == setting
    assert manifest["identity"] == embedder.resolved.identity
    assert set(manifest["sha256"]) == set(manifest["files"].values())
    assert embedder.cache.path.name != f"{embedder.resolved.identity}.sqlite"
    assert setting in embedder.cache.path.name
    assert len(embedder.cache) == len(set(TEXTS + PROBE))


def test_static_int8_is_calibrated_on_the_texts_named_and_each_text_stands_alone(
    tmp_path: Path, reference: np.ndarray
) -> None:
    digest = save_calibration(tmp_path, calibration_sample(TEXTS))
    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder="openvino-int8", calibration=digest)
    alone = np.stack([embedder.encode([t], use_cache=False)[0] for t in PROBE])
    together = embedder.encode(TEXTS + PROBE, use_cache=False)[-len(PROBE) :]
    # Static scales: a text's vector does not depend on the texts batched (and padded) with it.
    np.testing.assert_allclose(alone, together, atol=2e-3)
    manifest = json.loads((embedder.converted_folder() / MANIFEST).read_text())  # type: ignore[operator]
    assert manifest["calibration"] == digest
    assert manifest["calibration_texts"] == len(set(TEXTS))
    assert digest in embedder.cache.path.name
    # Without a name it calibrates on the first texts it encodes, and says which.
    lazy = Embedder(MINILM, cache_dir=tmp_path, encoder="openvino-int8")
    lazy.encode(TEXTS)
    assert lazy.calibration == digest


def test_a_model_pooled_another_way_runs_its_converted_transformer_inside_itself(
    tmp_path: Path,
) -> None:
    """Max pooling is not done here: sentence-transformers runs the rest of the model around
    the converted transformer (put in a copy: the shared instance stays on torch)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    base = Embedder(MINILM).model
    folder = tmp_path / "max-pooled"
    SentenceTransformer(modules=[base[0], Pooling(384, pooling_mode="max")]).save(str(folder))
    torch_vectors = Embedder(str(folder), cache_dir=tmp_path).encode(PROBE, use_cache=False)
    embedder = Embedder(str(folder), cache_dir=tmp_path, encoder="onnx-fp32")
    vectors = embedder.encode(PROBE, use_cache=False)
    assert embedder.runtime_encoder().pooling is None  # type: ignore[union-attr]
    assert cosines(vectors, torch_vectors).min() > 0.9999
    assert type(embedder.model[0].auto_model).__name__ == "BertModel"


def test_a_static_model_has_nothing_to_convert(tmp_path: Path) -> None:
    embedder = Embedder(FAST_MODEL, cache_dir=tmp_path, encoder="openvino-int8")
    assert embedder.setting.tag == "torch-fp32" and embedder.converted_folder() is None
    assert embedder.encode(PROBE).shape == (len(PROBE), 64)


def test_a_changed_converted_file_is_refused(tmp_path: Path) -> None:
    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder="onnx-fp32")
    folder = embedder.converted_folder()
    assert folder is not None
    with (folder / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    fresh = Embedder(MINILM, cache_dir=tmp_path, encoder="onnx-fp32")
    from crossover.models.runtimes import RuntimeEncoder

    with pytest.raises(ModelError, match="changed since it was built"):
        RuntimeEncoder(fresh.model, folder, fresh.setting, 1)


def test_an_unreadable_manifest_is_named_even_where_the_folder_alone_is_tried(
    tmp_path: Path,
) -> None:
    from crossover.models.runtimes import RuntimeEncoder

    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder="onnx-fp32")
    folder = embedder.converted_folder()
    assert folder is not None
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(ModelError, match=r"encoder\.json: not a converted encoder .*; delete"):
        RuntimeEncoder.from_folder(folder, embedder.setting, 1)


def test_a_converted_copy_encodes_from_its_folder_alone(tmp_path: Path) -> None:
    """The copy holds the model's tokenizer: encoding with it (a served model) loads neither
    sentence-transformers' model nor the original weights, and gives the vectors the copy
    gives when run beside the model."""
    from crossover.models import embeddings
    from crossover.models.runtimes import RuntimeEncoder

    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder="openvino-fp32")
    folder = embedder.converted_folder()
    assert folder is not None
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["files"]["tokenizer"] == "tokenizer.json"
    assert manifest["tokenizer"] == {
        "max_length": embedder.model.max_seq_length,
        "pad_id": embedder.model.tokenizer.pad_token_id,
        "pooling": "mean",
    }
    texts = [*TEXTS, *PROBE, "x" * 3000, " ".join(["word"] * 400), "Crème brûlée 東京 😀", ""]
    alone = RuntimeEncoder.from_folder(folder, embedder.setting, 1)
    assert alone is not None
    beside = RuntimeEncoder(embedder.model, folder, embedder.setting, 1)
    np.testing.assert_array_equal(alone.encode(texts), beside.encode(texts))
    embeddings._load_model.cache_clear()
    embeddings._load_runtime.cache_clear()
    served = Embedder(MINILM, cache_dir=tmp_path, encoder="openvino-fp32")
    assert served.encode(PROBE, use_cache=False).shape == (len(PROBE), 384)
    assert embeddings._load_model.cache_info().currsize == 0


def test_a_tokenizer_that_splits_a_text_otherwise_is_not_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved only when its copy gives the model's own token ids: otherwise the converted copy
    encodes beside the model, as before."""
    from crossover.models import runtimes

    real = runtimes._file_tokenizer

    def one_token_short(path: Path, max_length: int) -> object:
        tokenize = real(path, max_length)
        return lambda texts: [ids[:-1] for ids in tokenize(texts)]

    monkeypatch.setattr(runtimes, "_file_tokenizer", one_token_short)
    embedder = Embedder(MINILM, cache_dir=tmp_path, encoder="onnx-fp32")
    folder = embedder.converted_folder()
    assert folder is not None
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["tokenizer"] is None and "tokenizer" not in manifest["files"]
    assert not (folder / "tokenizer.json").exists()
    assert runtimes.RuntimeEncoder.from_folder(folder, embedder.setting, 1) is None


def test_a_strategy_calibrates_on_its_training_texts_and_ships_the_converted_copy(
    tmp_path: Path,
) -> None:
    from crossover.artifacts.export import export_strategy
    from crossover.artifacts.load import load_model, verify
    from crossover.strategies.text.embedding_head import EmbeddingHead

    data = make_tickets(16)
    strategy = EmbeddingHead(MINILM, encoder="openvino-int8", cache_dir=str(tmp_path))
    strategy.fit(data.text.tolist(), data.label.tolist())
    assert strategy.encoder_calibration == calibration_digest(calibration_sample(data.text))
    out = export_strategy(strategy, tmp_path / "model")
    manifest = verify(out)
    shipped = manifest["embedding_model"]["converted"]
    assert manifest["embedding_model"]["runtime"] == "openvino-int8"
    assert shipped == f"encoder/runtimes/openvino-int8-{strategy.encoder_calibration}"
    assert f"{shipped}/model.xml" in manifest["files"]
    # Loading builds nothing: the copy in the folder runs (the cache dir here is empty).
    loaded = load_model(out)
    assert loaded.strategy._embedder().converted_folder() == (out / shipped).resolve()
    expected = strategy.predict(PROBE)
    assert list(loaded.predict(PROBE)) == list(expected)
    # Its files are hashed like every other: an edit is refused.
    (out / shipped / "model.xml").write_text("<net/>")
    with pytest.raises(ModelError, match=r"model\.xml"):
        verify(out)


def test_compare_refuses_an_unknown_encoder_setting(tickets_csv: Path, tmp_path: Path) -> None:
    from crossover.cli import app

    result = CliRunner().invoke(
        app, ["compare", str(tickets_csv), "--encoder", "onnx-fp16", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--encoder onnx-fp16" in result.output and "openvino-int8" in result.output


def test_a_study_runs_one_strategy_at_two_settings_side_by_side(tmp_path: Path) -> None:
    """``KEY@SETTING`` beside ``KEY``: the same strategy with its encoder run another way, each
    with its measured speed; the int8 encoder calibrated on the training texts alone."""
    import crossover
    from crossover.models.runtimes import load_calibration

    data = make_tickets(12).drop_duplicates("text", ignore_index=True)
    study = crossover.compare(
        data,
        model=MINILM,
        encoder="openvino-int8",
        strategies="text.embedding-head,text.embedding-head@torch-fp32",
        budgets="full",
        seeds=1,
        progress=False,
    )
    board = {r.trial.strategy: r for r in study.leaderboard_results}
    assert set(board) == {"text.embedding-head", "text.embedding-head@torch-fp32"}
    int8, fp32 = board["text.embedding-head"], board["text.embedding-head@torch-fp32"]
    assert int8.trial.params["encoder"] == "openvino-int8"
    assert fp32.trial.params["encoder"] == "torch-fp32"
    assert "encoder_calibration" not in fp32.trial.params
    digest = int8.trial.params["encoder_calibration"]
    calibrated_on = set(load_calibration(default_cache(), digest))
    assert data.text.is_unique  # so a test text is no training text
    assert calibrated_on == set(data.text) - set(study.x_test)  # under 300: every one
    assert int8.throughput_rows_s > 0 and fp32.throughput_rows_s > 0
    assert "accuracy" in int8.metrics and "accuracy" in fp32.metrics


def test_a_variant_of_a_strategy_without_an_encoder_is_refused() -> None:
    from crossover.strategies import registry

    with pytest.raises(ConfigError, match="runs no pre-trained encoder"):
        registry.get("text.tfidf-linear@onnx-int8")
    with pytest.raises(ConfigError, match="onnx-bf16"):
        registry.get("text.embedding-head@onnx-bf16")
    assert registry.get("text.embedding-head@openvino-int8").key == "text.embedding-head"


def default_cache() -> Path:
    from crossover.models.embeddings import default_cache_dir

    return default_cache_dir()


def fashion_images(n: int = 24) -> list[str]:
    from crossover.data import example_path

    return sorted(str(p) for p in (example_path("fashion") / "test").rglob("*.png"))[:n]


@pytest.mark.parametrize(
    ("setting", "least_cosine"), [("openvino-fp32", 0.9999), ("openvino-bf16", 0.99)]
)
def test_an_image_network_converted_gives_the_features_of_torch(
    tmp_path: Path, setting: str, least_cosine: float
) -> None:
    from crossover.models.images import ImageEncoder

    images = fashion_images()
    reference = ImageEncoder(image_size=96, cache_dir=tmp_path).encode(images, use_cache=False)
    encoder = ImageEncoder(image_size=96, cache_dir=tmp_path, encoder=setting)
    features = encoder.encode(images)
    assert features.shape == reference.shape
    cos = (features * reference).sum(1) / (
        np.linalg.norm(features, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cos.min() >= least_cosine
    folder = encoder.converted_folder()
    assert folder is not None and setting in folder.name and "96px" in folder.name
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["image_size"] == 96 and manifest["identity"] == encoder.resolved.identity
    assert setting in encoder.cache.path.name


def test_an_image_network_refuses_int8_and_a_strategy_names_its_setting() -> None:
    from crossover.models.images import ImageEncoder
    from crossover.strategies.image.embedding_head import ImageEmbeddingHead

    with pytest.raises(ConfigError, match=r"not offered for image networks.*openvino-bf16"):
        ImageEncoder(encoder="openvino-int8")
    head = ImageEmbeddingHead(image_size=96, encoder="openvino-fp32")
    assert head._encoder().setting.tag == "openvino-fp32"
    assert (
        head.encoding_key()
        != ImageEmbeddingHead(image_size=96, encoder="torch-fp32").encoding_key()
    )


def test_an_exported_image_head_ships_its_converted_network(tmp_path: Path) -> None:
    from crossover.artifacts.export import export_strategy
    from crossover.artifacts.load import load_model, verify
    from crossover.strategies.image.embedding_head import ImageEmbeddingHead

    images = fashion_images(40)
    labels = [Path(p).parent.name for p in images]
    head = ImageEmbeddingHead(image_size=96, encoder="openvino-fp32", cache_dir=str(tmp_path))
    head.fit(images, labels)
    out = export_strategy(head, tmp_path / "model")
    files = verify(out)["files"]
    assert "strategy/runtime/model.xml" in files and "strategy/runtime/model.weights" in files
    loaded = load_model(out)
    shipped = loaded.strategy._encoder().converted_folder()
    assert shipped is not None and shipped.resolve() == (out / "strategy" / "runtime").resolve()
    assert list(loaded.predict(images[:8])) == list(head.predict(images[:8]))


def test_a_study_without_cache_exports_its_int8_head(tickets_csv: Path, tmp_path: Path) -> None:
    """--no-cache kept the calibration texts in a scratch folder, gone after the study: the
    export calibrates on the rows it trains on instead of failing."""
    from crossover.artifacts.load import verify
    from crossover.cli import app

    out = tmp_path / "out"
    args = ["compare", str(tickets_csv), "--strategies", "text.embedding-head", "--no-cache"]
    result = CliRunner().invoke(app, [*args, "--budgets", "full", "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        app,
        ["export", str(out), "--strategy", "text.embedding-head", "--out", str(tmp_path / "m")],
    )
    assert result.exit_code == 0, result.output
    manifest = verify(tmp_path / "m")
    assert manifest["embedding_model"]["runtime"] == "openvino-int8"
    assert manifest["embedding_model"]["converted"].startswith("encoder/runtimes/openvino-int8-")
