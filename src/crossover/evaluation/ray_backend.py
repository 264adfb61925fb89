"""Learning-curve trials as Ray tasks (``--backend ray``): on a local Ray or a running cluster.

The same ``Backend`` as the local process pool (``crossover.evaluation.backends``), on Ray's
scheduler instead of our own:

- each trial is one task asking for the resources its strategy declares
  (``Strategy.trial_resources``: CPUs, memory, a GPU when the cluster has one), retried by Ray
  when its worker dies (``max_retries``); its result comes back as soon as it finishes, and the
  runner stores it at once, so a driver that dies loses only the trials still running;
- on a cluster, the texts or images are encoded there too, before any trial: a Ray Data job
  (``map_batches`` over a pool of actors that each load the encoder once) whose vectors fill
  this machine's embedding cache (``RayBackend.prefetch_embeddings``);
- what every trial shares is put in Ray's object store once per study, not sent with each
  task: the rows of every split (``TrialWork``) and the features the study computed once (the
  vectors of every text or image, read from the embedding cache: ``FeatureSnapshot``). A worker
  reads each once and keeps it for the next trials, so a worker on another machine needs
  neither the data files nor the embedding cache.

``ray`` is an optional extra (``pip install crossover[ray]``), imported only here, and only
when a study asks for this backend.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crossover.errors import ConfigError, CrossoverError
from crossover.evaluation.backends import TrialWork, execute

if TYPE_CHECKING:
    from crossover.evaluation.progress import Reporter
    from crossover.evaluation.trials import Trial, TrialResult

__all__ = ["RAY_ENV", "FeatureSnapshot", "RayBackend", "RayError", "snapshot_features"]

#: Set before Ray starts or connects: no usage statistics, and the "disabled" report Ray sends
#: even then goes to a closed local port instead of the internet.
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
}

#: The name each trial task runs under (``ray::crossover-trial`` in ``ps`` and Ray's state API).
TASK_NAME = "crossover-trial"


class RayError(CrossoverError):
    """Ray is missing, unreachable, or lost a trial for good."""


@dataclass(frozen=True)
class FeatureSnapshot:
    """The cached vectors of one feature cache (a file under the cache folder), for the keys
    of this study's rows: ``keys`` is every 20-byte key joined, ``vectors`` one row per key."""

    cache_file: str
    keys: bytes
    vectors: Any  # numpy array (n, dimension), float32

    def install(self) -> None:
        """Serve these vectors to every lookup of ``cache_file`` in this process."""
        from crossover.models.embeddings import seed_cache

        width = 20
        keys = [self.keys[i : i + width] for i in range(0, len(self.keys), width)]
        seed_cache(self.cache_file, keys, self.vectors)


def snapshot_features(trials: Sequence[Trial], work: TrialWork) -> list[FeatureSnapshot]:
    """The features of every row of the primary split, once per feature encoder the trials
    use, as the embedding cache holds them after the study's prefetch."""
    from crossover.evaluation.execute import build_strategy

    texts = next(iter(work.datas.values())).texts()
    snapshots: list[FeatureSnapshot] = []
    seen: set[str] = set()
    for trial in trials:
        if not trial.params.get("use_cache", True):
            continue
        encoder = build_strategy(trial).feature_encoder()
        if encoder is None or not hasattr(encoder, "cache_keys"):
            continue
        cache = encoder.cache
        if str(cache.path) in seen:
            continue
        seen.add(str(cache.path))
        keys = list(dict.fromkeys(encoder.cache_keys(texts)))
        found = cache.get_many(keys)
        kept = [k for k in keys if k in found]
        if not kept:
            continue
        import numpy as np

        vectors = np.stack([found[k] for k in kept]).astype(np.float32, copy=False)
        snapshots.append(FeatureSnapshot(str(cache.path), b"".join(kept), vectors))
    return snapshots


class RayBackend:
    """Trials as Ray tasks: on the cluster at ``address`` (``HOST:PORT`` of a ``ray start
    --head``, or ``auto``), else on a Ray started here for this study and stopped after it
    (``num_cpus``: its CPUs, default all).

    ``encode_on_cluster`` (default: on for a cluster, off for a local Ray, where the machine
    that would encode is this one anyway): the study's texts or images are encoded by a Ray
    Data job on the cluster's workers (:meth:`prefetch_embeddings`) instead of in this
    process."""

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = 3,
        encode_on_cluster: bool | None = None,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.encode_on_cluster = bool(address) if encode_on_cluster is None else encode_on_cluster
        self.where = f"Ray at {address}" if address else "a local Ray"

    def prefetch_embeddings(
        self, trials: Sequence[Trial], items: Sequence[Any], reporter: Reporter
    ) -> dict[str, float]:
        """Fill each feature cache the trials read with the vectors of ``items`` (the primary
        split's texts or images) it lacks, encoded on the cluster: a Ray Data job whose
        batches a pool of actors maps (``map_batches``), each actor loading the encoder once.
        The vectors come back here into the cache, where the leaderboard trials and the
        shared snapshot read them. Returns the seconds spent per encoder."""
        if not self.encode_on_cluster or not items:
            return {}
        import time

        from crossover.evaluation.execute import build_strategy

        ray = _import_ray()
        started = _connect(ray, self.address, self.num_cpus)
        spent: dict[str, float] = {}
        try:
            seen: set[tuple[str | None, Any]] = set()
            for trial in trials:
                strategy = build_strategy(trial)
                model = strategy.encoding_key()
                where = (model, trial.params.get("cache_dir"))
                if model is None or where in seen or not trial.params.get("use_cache", True):
                    continue
                seen.add(where)
                encoder = strategy.feature_encoder()
                if encoder is None or not hasattr(encoder, "cache_keys"):
                    continue
                keys = encoder.cache_keys(items)
                found = encoder.cache.get_many(list(dict.fromkeys(keys)))
                missing: dict[bytes, Any] = {}
                for key, item in zip(keys, items, strict=True):
                    if key not in found:
                        missing.setdefault(key, item)
                if not missing:
                    continue
                begin = time.perf_counter()
                what = "images" if strategy.input_kind == "image" else "texts"
                with reporter.stage(
                    f"embedding {what} with {model} on Ray Data", total=len(missing)
                ) as advance:
                    _encode_on_ray(ray, trial, encoder, missing, advance)
                spent[model] = time.perf_counter() - begin
        finally:
            if started:
                ray.shutdown()
        return spent

    def map(self, trials: Sequence[Trial], work: TrialWork) -> Iterator[TrialResult]:
        ray = _import_ray()
        started = _connect(ray, self.address, self.num_cpus)
        pending: dict[Any, Trial] = {}
        try:
            has_gpu = ray.cluster_resources().get("GPU", 0) > 0
            shared = [ray.put(work), ray.put(snapshot_features(trials, work))]
            remote = ray.remote(_run_on_ray)
            for trial in trials:
                options = _task_options(trial, has_gpu)
                ref = remote.options(
                    name=TASK_NAME, max_retries=self.max_retries, retry_exceptions=False, **options
                ).remote(trial, shared)
                pending[ref] = trial
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    trial = pending.pop(ref)
                    yield _result(ray, ref, trial)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


#: Items per Ray Data batch: enough to keep an encoder busy, small enough to spread.
ENCODE_BATCH = 256


def _encode_on_ray(
    ray: Any, trial: Trial, encoder: Any, missing: dict[bytes, Any], advance: Any
) -> None:
    """Encode ``missing`` (cache key -> item) with a Ray Data job and put the vectors in
    ``encoder``'s cache as batches come back."""
    import numpy as np

    # Build (convert, calibrate) the encoder here first: workers on this machine then read the
    # converted copy from disk instead of each building it.
    encoder.encode(list(missing.values())[:1], use_cache=False)
    keys = list(missing)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, min(cpus, -(-len(keys) // ENCODE_BATCH)))
    # Nested in a list, the reference reaches each actor as it is (read there once) rather
    # than as a constructor argument Ray would have to keep for actor restarts.
    items = [ray.put(list(missing.values()))]
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # crossover's own progress line says it
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    dataset = ray.data.range(len(keys)).map_batches(
        _EncodeBatches,
        fn_constructor_args=(trial, items),
        batch_size=ENCODE_BATCH,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
        num_cpus=1,
    )
    done = 0
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        ids = np.asarray(batch["id"], dtype=np.int64)
        vectors = np.asarray(batch["vector"], dtype=np.float32)
        encoder.cache.put_many([(keys[i], v) for i, v in zip(ids, vectors, strict=True)])
        done += len(ids)
        advance(done, len(keys))


class _EncodeBatches:
    """A Ray Data actor: loads the trial's encoder once, then encodes batches of item ids."""

    def __init__(self, trial: Trial, items: list[Any]) -> None:
        import ray

        from crossover.evaluation.execute import build_strategy

        self.items = ray.get(items[0])
        encoder = build_strategy(trial).feature_encoder()
        if encoder is None:  # pragma: no cover - only encoding strategies get here
            raise RayError(f"{trial.strategy} has no feature encoder")
        self.encoder = encoder

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        ids = batch["id"]
        vectors = self.encoder.encode([self.items[int(i)] for i in ids], use_cache=False)
        return {"id": ids, "vector": vectors}


def _import_ray() -> Any:
    for name, value in RAY_ENV.items():
        os.environ.setdefault(name, value)
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray, which is not installed: pip install 'crossover[ray]'"
        ) from None
    return ray


def _connect(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Connect to ``address`` or start a local Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    if address and address != "auto":
        _reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        else:
            ray.init(
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = (
            "check the address (`ray status --address ADDR`), or leave --ray-address out to "
            "start a local Ray"
            if address
            else "run with --backend local"
        )
        raise RayError(f"could not connect to {where} ({exc}); {hint}") from exc
    return True


def _reachable(address: str) -> None:
    """Refuse an address nothing listens on at once: ``ray.init`` would retry for minutes."""
    import socket

    host, _, port = address.rpartition(":")
    host = host.removeprefix("ray://") or "127.0.0.1"
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except (OSError, ValueError) as exc:
        raise RayError(
            f"could not connect to the Ray cluster at {address} ({exc}); check the address "
            "(`ray status --address ADDR`), or leave --ray-address out to start a local Ray"
        ) from exc


def _task_options(trial: Trial, has_gpu: bool) -> dict[str, Any]:
    from crossover.strategies import registry

    wants = registry.get(trial.strategy).trial_resources()
    options: dict[str, Any] = {"num_cpus": wants["cpus"]}
    if wants.get("memory_mb"):
        options["memory"] = int(wants["memory_mb"]) * 1024 * 1024
    if wants.get("gpu") and has_gpu:
        options["num_gpus"] = 1
    return options


def _result(ray: Any, ref: Any, trial: Trial) -> TrialResult:
    try:
        result: TrialResult = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        # The trial's own exception, as a local run raises it.
        raise exc.as_instanceof_cause() from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
        raise RayError(
            f"the trial {trial.strategy} at budget {trial.budget} (seed {trial.seed}) lost its "
            f"Ray worker on every try ({type(exc).__name__}); the finished trials are stored: "
            "run the same command again to resume"
        ) from exc
    return result


# -- in the worker ---------------------------------------------------------------------------

_SHARED: dict[str, Any] = {}


def _run_on_ray(trial: Trial, shared: list[Any]) -> TrialResult:
    """One trial in a Ray worker: the shared work read once per worker, BLAS threads limited
    to the CPUs the task holds."""
    import ray
    from threadpoolctl import threadpool_limits

    from crossover.models.embeddings import _load_model

    work_ref, features_ref = shared
    key = work_ref.hex()
    if _SHARED.get("key") != key:
        work, snapshots = ray.get([work_ref, features_ref])
        for snapshot in snapshots:
            snapshot.install()
        _SHARED.update(key=key, work=work)
    assigned = ray.get_runtime_context().get_assigned_resources()  # type: ignore[no-untyped-call]
    cpus = max(1, int(assigned.get("CPU", 1)))
    with threadpool_limits(cpus):
        result = execute(trial, _SHARED["work"])
    context = ray.get_runtime_context()
    result.execution = {
        "pid": os.getpid(),
        "worker": True,
        "backend": "ray",
        "node": context.get_node_id(),
        "cpus": cpus,
        # Encoders this worker loaded: 0 for strategies that only need the shared features.
        "models_loaded": _load_model.cache_info().currsize,
    }
    return result
