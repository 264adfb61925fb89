"""Pre-trained text encoders run on ONNX Runtime or OpenVINO, in fp32, bf16 or int8.

A setting is ``runtime-precision``: ``torch-fp32`` (sentence-transformers as it is, the
reference), ``onnx-fp32``, ``onnx-int8`` (weights quantized per channel, activations at run
time), ``openvino-fp32``, ``openvino-bf16`` and ``openvino-int8`` (static int8 from NNCF,
calibrated on a sample of the user's own texts). The model is named by its ordinary id; the
converted copy is built once from the local weights (``torch.onnx.export`` or
``openvino.convert_model`` on the transformer module, then ONNX Runtime's or NNCF's quantizer),
in a folder of its own with ``encoder.json`` (what it is, how it was built, the SHA-256 of each
file). Optimum is not used: no optimum-onnx or optimum-intel release installs beside
transformers 5, and sentence-transformers' static OpenVINO export calibrates only on a data
set from the Hugging Face hub.

``RuntimeEncoder`` encodes with a converted copy: the texts tokenized once, sorted by token
length and cut into batches padded only to their longest, the transformer run by the runtime,
then the model's own pooling (mean or CLS) in numpy. A model whose modules are not a
transformer and a pooling runs its converted transformer inside sentence-transformers instead.
A copy of a transformer and a pooling also holds the model's own tokenizer (``tokenizer.json``,
as transformers configured it, saved only when it gives the same token ids as the model's on
probe texts and the calibration texts): such a copy encodes from its folder alone, without
loading sentence-transformers, torch or the original weights (a served model).

The conversion and quantization libraries report usage over the network unless told not to;
every call into them here runs with their telemetry off (``_no_telemetry``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from crossover._encoders import DEFAULT_ENCODER, SETTINGS, TORCH_FP32, EncoderSetting
from crossover._files import sha256_file
from crossover.errors import ConfigError, ModelError

__all__ = [
    "CALIBRATION_TEXTS",
    "DEFAULT_ENCODER",
    "IMAGE_SETTINGS",
    "MANIFEST",
    "SETTINGS",
    "TORCH_FP32",
    "EncoderSetting",
    "ImageRuntime",
    "RuntimeEncoder",
    "build_converted",
    "build_converted_image",
    "calibration_digest",
    "calibration_sample",
    "converted_bytes",
    "encoder_threads",
    "image_setting",
    "load_calibration",
    "read_manifest",
    "save_calibration",
]

#: Texts a static int8 model is calibrated on (NNCF's default subset is 300 samples).
CALIBRATION_TEXTS = 300
_CALIBRATION_BATCH = 16
#: The file in a converted folder that says what it is.
MANIFEST = "encoder.json"
#: Texts per runtime call.
BATCH_SIZE = 64
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: The model's tokenizer in a converted folder (``_save_tokenizer``).
_TOKENIZER = "tokenizer.json"
#: Texts the saved tokenizer must split exactly as the model's own does (with the calibration
#: texts, when there are some): accents, other scripts, emoji, odd spaces, an empty text, and
#: texts past the model's length limit.
_PROBE_TEXTS = (
    "Where is my card? It hasn't arrived yet.",
    "Crème brûlée, café, naïve résumé, ÅNGSTRÖM, İstanbul",
    "東京に行きたい 我想去北京 서울",
    "emoji 😀🎉 and symbols € £ ¥ © ™",
    "tab\there\nnewline  double  space \u200bzero width ﬁ ligature",
    "",
    "   ",
    "x" * 3000,
    " ".join(["token"] * 700),
)


# -- calibration ------------------------------------------------------------------------------


def calibration_sample(texts: Sequence[str], size: int = CALIBRATION_TEXTS) -> list[str]:
    """Up to ``size`` distinct non-empty texts of ``texts``, chosen by the hash of each text:
    the same texts in any order give the same sample."""
    unique = {str(t) for t in texts if str(t).strip()}
    ranked = sorted(unique, key=lambda t: hashlib.sha256(t.encode("utf-8")).digest())
    return ranked[:size]


def calibration_digest(sample: Sequence[str]) -> str:
    """A short name of a calibration sample (it names the converted folder and the cache)."""
    return hashlib.sha256(json.dumps(list(sample)).encode("utf-8")).hexdigest()[:16]


def _calibration_file(cache_dir: Path, digest: str) -> Path:
    return cache_dir / "encoders" / "calibration" / f"{digest}.json"


def save_calibration(cache_dir: Path, sample: Sequence[str]) -> str:
    """Keep ``sample`` under its digest in ``cache_dir`` (any process of the study can then
    build the calibrated model from the digest alone) and return the digest."""
    digest = calibration_digest(sample)
    path = _calibration_file(cache_dir, digest)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_text(json.dumps(list(sample)))
        os.replace(scratch, path)
    return digest


def load_calibration(cache_dir: Path, digest: str) -> list[str]:
    """The sample ``save_calibration`` kept under ``digest``."""
    path = _calibration_file(cache_dir, digest)
    try:
        sample = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{path}: the calibration texts {digest} of this int8 encoder are missing or "
            "unreadable; run the study again (it writes them), or choose another --encoder"
        ) from exc
    if calibration_digest(sample) != digest:
        raise ModelError(f"{path}: its texts do not match their digest {digest}; delete it")
    return [str(t) for t in sample]


# -- threads and telemetry ------------------------------------------------------------------


def encoder_threads() -> int:
    """Threads a runtime uses: ``OMP_NUM_THREADS`` when set (a study's worker processes set it
    to share the cores), else every CPU this process may run on."""
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if limit.isdigit() and int(limit) > 0:
        return int(limit)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def _quietly() -> Iterator[None]:
    """The exporters' and quantizers' chatter kept out of the study's output: warnings about
    their own internals, log lines, NNCF's progress bars (printed to standard output)."""
    import contextlib
    import io
    import logging
    import warnings

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


@contextmanager
def _no_telemetry() -> Iterator[None]:
    """ONNX Runtime's and OpenVINO's (and NNCF's) usage reports off: both try the network
    otherwise (ONNX Runtime reads ``ORT_DISABLE_TELEMETRY``; OpenVINO's reporter stays silent
    in CI, and writes nothing under ``~/intel`` then)."""
    saved = {name: os.environ.get(name) for name in ("ORT_DISABLE_TELEMETRY", "CI")}
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    os.environ["CI"] = "true"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- building -------------------------------------------------------------------------------


def _inputs_of(model: Any) -> tuple[str, ...]:
    """The transformer inputs its tokenizer gives, in the exporter's order."""
    given = model.tokenizer(["a b"], return_tensors="np")
    return tuple(name for name in _INPUTS if name in given)


def _example(model: Any, names: tuple[str, ...]) -> dict[str, Any]:
    batch = model.tokenizer(
        ["hello world", "a somewhat longer sentence with more tokens in it"],
        padding=True,
        return_tensors="pt",
    )
    return {name: batch[name] for name in names}


def _wrapper(transformer: Any, names: tuple[str, ...]) -> Any:
    """The transformer as a module of plain tensors in, ``last_hidden_state`` out (a fixed
    signature: the exporters read the inputs from it)."""
    import torch

    class WithTypes(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            ).last_hidden_state

    class WithoutTypes(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, return_dict=True
            ).last_hidden_state

    if names == _INPUTS:
        return WithTypes().eval()
    if names == _INPUTS[:2]:
        return WithoutTypes().eval()
    raise ModelError(f"a transformer taking {', '.join(names)} cannot be converted here")


def _export_onnx(model: Any, names: tuple[str, ...], path: Path) -> None:
    import torch

    example = _example(model, names)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            _wrapper(model[0].auto_model, names),
            tuple(example[n] for n in names),
            str(path),
            input_names=list(names),
            output_names=["last_hidden_state"],
            dynamic_shapes=tuple({0: batch, 1: sequence} for _ in names),
            dynamo=True,
            external_data=False,
            verbose=False,
        )


def _quantize_onnx(source: Path, target: Path) -> None:
    """Dynamic int8: weights per channel (per tensor loses far more: cosine to fp32 0.97
    against 0.99 on banking77), activations quantized at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _convert_openvino(model: Any, names: tuple[str, ...]) -> Any:
    import openvino as ov

    example = _example(model, names)
    return ov.convert_model(
        _wrapper(model[0].auto_model, names),
        example_input=tuple(example[n] for n in names),
        input=[(n, [-1, -1], ov.Type.i64) for n in names],
    )


def _quantize_openvino(model: Any, names: tuple[str, ...], ov_model: Any, texts: list[str]) -> Any:
    """Static int8 (NNCF's post-training quantization for transformers), its activation ranges
    from ``texts`` in batches of 16.

    Without NNCF's bias correction: on all-MiniLM-L6-v2 with 300 banking77 training texts it
    took 2.1 s of the 7.6 s the quantization took, and left the vectors as they were (cosine
    to fp32 on the 3,080 test texts: mean 0.99804, min 0.99024 without it; 0.99805, 0.98977
    with it). SmoothQuant stays: without it the mean fell to 0.99318."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    batches = [texts[i : i + _CALIBRATION_BATCH] for i in range(0, len(texts), _CALIBRATION_BATCH)]

    def feed(batch: list[str]) -> dict[str, np.ndarray]:
        tokens = model.tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=model.max_seq_length,
            return_tensors="np",
        )
        return {n: np.asarray(tokens[n], dtype=np.int64) for n in names}

    return nncf.quantize(
        ov_model,
        nncf.Dataset(batches, feed),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(batches),
        advanced_parameters=AdvancedQuantizationParameters(disable_bias_correction=True),
    )


def _versions(runtime: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = {"onnx": ("torch", "onnx", "onnxruntime"), "openvino": ("torch", "openvino", "nncf")}
    found = {}
    for name in names.get(runtime, ()):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@contextmanager
def _converting(folder: Path, model_id: str, setting: EncoderSetting) -> Iterator[Path]:
    """A fresh scratch folder beside ``folder`` to convert into, the runtimes' telemetry and
    chatter off; on a failure it is removed, and any error but a ``ModelError`` becomes one
    that names the model and the way out."""
    scratch = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        with _no_telemetry(), _quietly():
            yield scratch
    except ModelError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ModelError(
            f"{model_id}: could not convert it for {setting} ({type(exc).__name__}: {exc}); "
            "run it with --encoder torch-fp32"
        ) from exc


def _save_openvino(ov_model: Any, scratch: Path) -> dict[str, str]:
    """Write an OpenVINO model into ``scratch``; the files it wrote, by role. The weights go
    in a file of their own suffix: ".bin" is the suffix of pickled torch weights, which an
    exported model folder never holds."""
    import openvino as ov

    ov.save_model(ov_model, str(scratch / "model.xml"), compress_to_fp16=False)
    (scratch / "model.bin").rename(scratch / "model.weights")
    return {"model": "model.xml", "weights": "model.weights"}


def build_converted(
    model: Any,
    setting: EncoderSetting,
    folder: Path,
    *,
    model_id: str,
    identity: str,
    calibration: list[str] | None = None,
    calibration_id: str | None = None,
) -> Path:
    """Convert ``model`` (a loaded ``SentenceTransformer``, left unchanged) for ``setting``
    into ``folder``, written whole or not at all (another process building the same folder at
    once is harmless: the first to finish wins)."""
    if not setting.converted:
        raise ValueError("torch-fp32 runs the model as it is: nothing to convert")
    if setting.calibrated and not calibration:
        raise ModelError(f"{setting}: a static int8 model needs calibration texts; none given")
    names = _inputs_of(model)
    with _converting(folder, model_id, setting) as scratch:
        started = time.perf_counter()
        if setting.runtime == "onnx":
            fp32 = scratch / "model.onnx"
            _export_onnx(model, names, fp32)
            if setting.precision == "int8":
                _quantize_onnx(fp32, scratch / "model_int8.onnx")
                fp32.unlink()
                files = {"model": "model_int8.onnx"}
            else:
                files = {"model": "model.onnx"}
        else:
            ov_model = _convert_openvino(model, names)
            if setting.precision == "int8":
                assert calibration is not None
                ov_model = _quantize_openvino(model, names, ov_model, calibration)
            files = _save_openvino(ov_model, scratch)
        tokenizer = _save_tokenizer(model, scratch, [*_PROBE_TEXTS, *(calibration or [])])
        if tokenizer is not None:
            files["tokenizer"] = _TOKENIZER
    manifest = {
        "model_id": model_id,
        "identity": identity,
        "runtime": setting.runtime,
        "precision": setting.precision,
        "inputs": list(names),
        "files": files,
        "calibration": calibration_id,
        "calibration_texts": len(calibration or []),
        "build_s": round(time.perf_counter() - started, 2),
        "tokenizer": tokenizer,
    }
    return _settle(scratch, folder, manifest)


def _save_tokenizer(model: Any, scratch: Path, probes: Sequence[str]) -> dict[str, Any] | None:
    """Save ``model``'s tokenizer as ``_TOKENIZER`` in ``scratch`` (the one transformers
    built, with its settings); return what encoding from the folder alone needs besides it.
    None (nothing saved) for a model not made of a transformer and a pooling, a tokenizer
    without a fast backend, or one whose saved copy splits any of ``probes`` otherwise than
    the model."""
    pooling = _pooling_of(model)
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if pooling is None or backend is None or not model.max_seq_length:
        return None
    max_length = int(model.max_seq_length)
    path = scratch / _TOKENIZER
    path.write_text(backend.to_str(), encoding="utf-8")
    theirs = _tokenize_with(model.tokenizer, max_length)(list(probes))
    if [list(t) for t in theirs] != _file_tokenizer(path, max_length)(list(probes)):
        path.unlink()
        return None
    return {
        "max_length": max_length,
        "pad_id": int(model.tokenizer.pad_token_id or 0),
        "pooling": pooling,
    }


def _tokenize_with(tokenizer: Any, max_length: int) -> Callable[[list[str]], list[list[int]]]:
    """Token ids of texts by a transformers tokenizer, cut at ``max_length``, unpadded."""

    def tokenize(texts: list[str]) -> list[list[int]]:
        return list(
            tokenizer(
                texts,
                truncation=True,
                max_length=max_length,
                add_special_tokens=True,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
        )

    return tokenize


def _file_tokenizer(path: Path, max_length: int) -> Callable[[list[str]], list[list[int]]]:
    """Token ids of texts by the ``tokenizers`` tokenizer saved at ``path``, cut at
    ``max_length``, unpadded (a saved one may carry padding and a shorter cut: both reset)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)

    def tokenize(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=True)]

    return tokenize


def _settle(scratch: Path, folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` (with the versions and the SHA-256 of each file) into ``scratch``
    and move it in as ``folder`` (when another process was first, its folder is kept)."""
    manifest["versions"] = _versions(str(manifest["runtime"]))
    manifest["sha256"] = {name: sha256_file(scratch / name) for name in manifest["files"].values()}
    (scratch / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    try:
        scratch.rename(folder)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)  # built meanwhile by another process
        if not (folder / MANIFEST).is_file():
            raise
    return folder


def converted_bytes(folder: Path | None) -> int:
    """The bytes of a converted copy's files (0 for none): what it adds to a model's size."""
    return 0 if folder is None else sum(f.stat().st_size for f in folder.iterdir())


def read_manifest(folder: Path) -> dict[str, Any]:
    """``folder``'s ``encoder.json``, its files checked against their hashes."""
    manifest = _manifest(folder)
    for name, digest in manifest.get("sha256", {}).items():
        if not (folder / name).is_file() or sha256_file(folder / name) != digest:
            raise ModelError(f"{folder / name}: missing or changed since it was built; delete it")
    return manifest


def _manifest(folder: Path) -> dict[str, Any]:
    """``folder``'s ``encoder.json`` as written (its files not checked)."""
    path = folder / MANIFEST
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a converted encoder ({exc}); delete {folder}") from exc


# -- running --------------------------------------------------------------------------------


def _onnx_runner(folder: Path, manifest: dict[str, Any], threads: int) -> Callable[..., Any]:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # its warnings about shape inference mean nothing here
    session = ort.InferenceSession(
        str(folder / manifest["files"]["model"]), options, providers=["CPUExecutionProvider"]
    )

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(session.run(None, feed)[0])

    return run


def _openvino_runner(
    folder: Path, manifest: dict[str, Any], threads: int, precision: str
) -> Callable[..., Any]:
    with _no_telemetry():
        import openvino as ov

        core = ov.Core()
        ov_model = core.read_model(
            str(folder / manifest["files"]["model"]), str(folder / manifest["files"]["weights"])
        )
        # Said explicitly: on a CPU with bf16 instructions OpenVINO's default is bf16, so an
        # fp32 (or int8, whose unquantized operations stay fp32) model would not run as named.
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
        }
        compiled = core.compile_model(ov_model, "CPU", config)
    request = compiled.create_infer_request()

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        request.infer(feed)
        return np.array(request.get_output_tensor(0).data, copy=True)

    return run


class RuntimeEncoder:
    """Encodes texts with a converted copy of a ``SentenceTransformer`` (module docstring);
    vectors as the model's own pooling gives them, L2-normalised."""

    def __init__(
        self, model: Any | None, folder: Path, setting: EncoderSetting, threads: int
    ) -> None:
        self.folder = folder
        self.setting = setting
        self.manifest = read_manifest(folder)
        self.inputs = tuple(self.manifest["inputs"])
        self._model: Any = None
        if model is None:
            # From the folder alone: its saved tokenizer and pooling (``from_folder``).
            spec = self.manifest["tokenizer"]
            self.max_length, self.pad_id = int(spec["max_length"]), int(spec["pad_id"])
            self.pooling: str | None = str(spec["pooling"])
            self._tokenize = _file_tokenizer(
                folder / self.manifest["files"]["tokenizer"], self.max_length
            )
        else:
            self.max_length = int(model.max_seq_length or 512)
            self.pad_id = int(model.tokenizer.pad_token_id or 0)
            self.pooling = _pooling_of(model)
            self._tokenize = _tokenize_with(model.tokenizer, self.max_length)
            self._model = model if self.pooling is None else None
        if setting.runtime == "onnx":
            self._run = _onnx_runner(folder, self.manifest, threads)
        else:
            self._run = _openvino_runner(folder, self.manifest, threads, setting.precision)

    @classmethod
    def from_folder(
        cls, folder: Path, setting: EncoderSetting, threads: int
    ) -> RuntimeEncoder | None:
        """The encoder of a copy that holds its tokenizer (no sentence-transformers, no torch,
        no original weights loaded); None for one that needs the model."""
        if not _manifest(folder).get("tokenizer"):  # its files are checked by __init__
            return None
        return cls(None, folder, setting, threads)

    def encode(
        self, texts: Sequence[str], batch_size: int = BATCH_SIZE, *, by_length: bool = True
    ) -> np.ndarray:
        """L2-normalised vectors of ``texts``, in their order; ``by_length=False`` batches
        them as given (for measuring what sorting gains)."""
        if self.pooling is None:
            return self._encode_inside(texts, batch_size)
        ids = self._tokenize(list(texts))
        lengths = np.array([len(i) for i in ids])
        # Longest first: batches of like lengths pad least (stable: equal lengths keep order).
        order = np.argsort(-lengths, kind="stable") if by_length else np.arange(len(ids))
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : lengths[i]] = ids[i]
                mask[r, : lengths[i]] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(input_ids)
            hidden = self._run(feed)
            if self.pooling == "cls":
                pooled = hidden[:, 0, :]
            else:
                weights = mask[..., None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            if out is None:
                out = np.empty((len(order), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        assert out is not None
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def _encode_inside(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """A model with more than a transformer and a pooling: its converted transformer put in
        a copy of the model, which runs the rest (the module itself replaced: sentence-
        transformers 6 ignores one assigned to ``auto_model``)."""
        import copy

        model = self._model
        if not getattr(self, "_swapped", False):
            model = copy.deepcopy(self._model)  # the shared instance stays torch's
            model[0].model = _backend_module(self._run, self.inputs, model[0].auto_model.config)
            self._model, self._swapped = model, True
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _pooling_of(model: Any) -> str | None:
    """``mean`` or ``cls`` when the model is a transformer, a pooling of that mode and at most
    a normalisation (encoded here), else None (encoded by sentence-transformers)."""
    names = [type(m).__name__ for m in model]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        return None
    mode = getattr(model[1], "pooling_mode", None)
    return mode if mode in ("mean", "cls") else None


def _backend_module_class() -> type:
    import torch
    from transformers.modeling_outputs import BaseModelOutput

    class BackendModule(torch.nn.Module):
        def __init__(self, run: Callable[..., Any], inputs: tuple[str, ...], config: Any) -> None:
            super().__init__()
            self.run, self.inputs, self.config = run, inputs, config

        def forward(self, input_ids: Any = None, attention_mask: Any = None, **kw: Any) -> Any:
            given = {"input_ids": input_ids, "attention_mask": attention_mask, **kw}
            feed = {}
            for name in self.inputs:
                tensor = given.get(name)
                if tensor is None:
                    tensor = torch.zeros_like(input_ids)
                feed[name] = tensor.numpy().astype(np.int64)
            return BaseModelOutput(last_hidden_state=torch.from_numpy(self.run(feed)))

    return BackendModule


def _backend_module(run: Callable[..., Any], inputs: tuple[str, ...], config: Any) -> Any:
    return _backend_module_class()(run, inputs, config)


# -- image networks -------------------------------------------------------------------------

#: What an image network runs at: int8 is not offered (NNCF's static int8 of EfficientNet-
#: Lite0 gave pooled features of cosine 0.975 to fp32's on the bundled Fashion-MNIST images,
#: far from the 0.998 of the text encoder).
IMAGE_SETTINGS: tuple[str, ...] = ("torch-fp32", "onnx-fp32", "openvino-fp32", "openvino-bf16")


def image_setting(text: str | EncoderSetting) -> EncoderSetting:
    """``text`` as a setting an image network runs at, else a ``ConfigError`` naming them."""
    setting = text if isinstance(text, EncoderSetting) else EncoderSetting.parse(text)
    if setting.tag not in IMAGE_SETTINGS:
        raise ConfigError(
            f"encoder setting {setting} is not offered for image networks; choose one of "
            f"{', '.join(IMAGE_SETTINGS)}"
        )
    return setting


def build_converted_image(
    module: Any,
    image_size: int,
    setting: EncoderSetting,
    folder: Path,
    *,
    model_id: str,
    identity: str,
) -> Path:
    """Convert ``module`` (torch: a float batch (n, 3, size, size) in, pooled features out)
    for ``setting`` into ``folder``, whole or not at all."""
    import torch

    image_setting(setting)
    if not setting.converted:
        raise ValueError("torch-fp32 runs the network as it is: nothing to convert")
    example = torch.zeros(2, 3, image_size, image_size)
    with _converting(folder, model_id, setting) as scratch, torch.no_grad():
        started = time.perf_counter()
        if setting.runtime == "onnx":
            torch.onnx.export(
                module.eval(),
                (example,),
                str(scratch / "model.onnx"),
                input_names=["pixels"],
                output_names=["features"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            files = {"model": "model.onnx"}
        else:
            import openvino as ov

            ov_model = ov.convert_model(
                module.eval(),
                example_input=example,
                input=[([-1, 3, image_size, image_size], ov.Type.f32)],
            )
            ov_model.inputs[0].get_tensor().set_names({"pixels"})
            files = _save_openvino(ov_model, scratch)
    manifest = {
        "model_id": model_id,
        "identity": identity,
        "runtime": setting.runtime,
        "precision": setting.precision,
        "inputs": ["pixels"],
        "image_size": image_size,
        "files": files,
        "build_s": round(time.perf_counter() - started, 2),
    }
    return _settle(scratch, folder, manifest)


class ImageRuntime:
    """Runs a converted image network: a normalised float32 batch (n, 3, size, size) in,
    pooled features (n, dimension) out."""

    def __init__(self, folder: Path, setting: EncoderSetting, threads: int) -> None:
        self.folder, self.setting = folder, setting
        manifest = read_manifest(folder)
        if setting.runtime == "onnx":
            self._run = _onnx_runner(folder, manifest, threads)
        else:
            self._run = _openvino_runner(folder, manifest, threads, setting.precision)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        feed = {"pixels": np.ascontiguousarray(pixels, dtype=np.float32)}
        return np.asarray(self._run(feed), dtype=np.float32)
