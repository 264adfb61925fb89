"""Benchmark: `crossover serve` under a bounded load on 127.0.0.1, TF-IDF and embedding models.

Trains two models on banking77 (a TF-IDF linear model and an embedding head on the default
sentence-transformers/all-MiniLM-L6-v2, offline), exports them, starts `crossover serve` on each
as a real process on a free loopback port, and sends a fixed number of requests at a fixed
concurrency (asyncio + httpx; the generator stops by itself). Prints requests/s, rows/s and
p50 / p99 latency as a Markdown table for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/serve.py [--requests 1000] [--embedding-requests 300]
        [--concurrency 16] [--train-rows 2000] [--mlflow-python PATH]
    .venv/bin/python benchmarks/serve.py --workers-only [--rounds 5] [--concurrency 8]
    .venv/bin/python benchmarks/serve.py --encoders torch-fp32,openvino-int8 [--rounds 3]
        [--concurrency 8]

Rows shown:
- TF-IDF, single rows and batches of 32, one worker;
- TF-IDF, two workers, `crossover serve` (TCP_NODELAY on every accepted connection) against
  the same app under plain `uvicorn --workers 2` (before uvicorn 0.55 this left Nagle's
  algorithm on: uvicorn issue #3149; each keep-alive reply waited for the client's delayed ACK);
- embedding head, single rows at concurrency 1 and at full concurrency, with micro-batching on
  (default) and off (`--micro-batch 1`), and batches of 32; `/v1/embeddings` single rows.

The texts are banking77 test texts with a request number appended, so that no text repeats and
no cache can answer for the model.

mlflow, side by side: the same scikit-learn TF-IDF + LinearSVC pipeline (built as crossover's
text.tfidf-linear builds it, in mlflow's environment) saved with
`mlflow.sklearn` and served by `mlflow models serve --env-manager local`, under the same load.
mlflow is a benchmark-only tool, not a dependency of crossover: it is used when `mlflow` is
importable here or when --mlflow-python names an interpreter that has it (a separate virtual
environment keeps mlflow's pins out of the project's); otherwise the comparison is skipped and
the script says so.

`--workers-only` runs the two-worker TF-IDF rows alone, `--rounds` times, each round starting
every server afresh in turn (so that a busy spell on a shared machine falls on all of them), and
prints the median of the rounds with their range. It adds a third server: `crossover serve
--workers 2` run with uvicorn's own h11 protocol in place of crossover's (no ``TCP_NODELAY``
step of its own, and none of the protocol's limits), which tells what the workaround costs or
saves with the installed uvicorn.

`--encoders` serves the embedding head trained on the same rows with its encoder at each
setting (`--encoder`: torch-fp32 is sentence-transformers as it is), single rows at
`--concurrency`, `--rounds` times with the servers interleaved in each round, and prints the
median requests/s of each and its ratio to the first.

Everything listens on 127.0.0.1 only; every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _banking77 import DATA, require_data

CROSSOVER = str(Path(sys.executable).with_name("crossover"))
#: Appended to every text sent, across all scenarios: no text is ever sent twice.
_TEXT_NUMBERS = itertools.count()


@dataclass
class Result:
    requests: int
    rows: int
    wall_s: float
    latencies_s: list[float]
    errors: int

    @property
    def req_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def rows_s(self) -> float:
        return self.rows / self.wall_s

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def uvicorn_version() -> str:
    from importlib.metadata import version

    return version("uvicorn")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    cmd: list[str], env: dict[str, str], ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process (own process group, so its workers stop with it), ready when yielded."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 600
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-3000:]
                    raise RuntimeError(f"{cmd[0]} exited with {process.returncode}:\n{tail}")
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ready_url} not ready after 600 s")
                time.sleep(0.3)
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


async def _load(
    base: str, path: str, bodies: list[Any], rows_per_request: int, concurrency: int
) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    queue = iter(bodies)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal errors
            for body in queue:  # shared iterator: each body is sent once, then workers stop
                start = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return Result(len(bodies), len(bodies) * rows_per_request, wall, latencies, errors)


def run_load(
    base: str, path: str, make_body: Any, texts: list[str], n: int, batch: int, concurrency: int
) -> Result:
    """Warm up with a few requests, then send ``n`` requests of ``batch`` unique texts each."""

    def bodies(count: int) -> list[Any]:
        out = []
        for _ in range(count):
            rows = []
            for _ in range(batch):
                i = next(_TEXT_NUMBERS)
                rows.append(f"{texts[i % len(texts)]} ({i})")
            out.append(make_body(rows))
        return out

    asyncio.run(_load(base, path, bodies(min(20, n)), batch, min(concurrency, 4)))
    return asyncio.run(_load(base, path, bodies(n), batch, concurrency))


#: `crossover serve` with uvicorn's own h11 protocol in place of crossover's: the supervisor
#: passes the protocol class to each worker by its import path, so the swap reaches them.
_UVICORN_PROTOCOL = (
    "import sys; import crossover.serve.server as s; "
    "from uvicorn.protocols.http.h11_impl import H11Protocol; "
    "assert hasattr(s, s.PROTOCOL_NAME); setattr(s, s.PROTOCOL_NAME, H11Protocol); "
    "from crossover.cli import main; sys.argv[0] = 'crossover'; main()"
)


def predict_body(rows: list[str]) -> Any:
    return {"inputs": rows[0] if len(rows) == 1 else rows}


def embeddings_body(rows: list[str]) -> Any:
    return {"input": rows[0] if len(rows) == 1 else rows, "model": "any"}


def mlflow_body(rows: list[str]) -> Any:
    # mlflow's faster input format for a raw-text pipeline (its dataframe_split is ~2x slower).
    return {"inputs": rows}


def export_models(root: Path, train_rows: int) -> tuple[Path, Path]:
    import pandas as pd

    from crossover.artifacts import export_strategy
    from crossover.strategies.text import EmbeddingHead, TfidfLinear

    train = pd.read_csv(DATA / "train.csv").sample(n=train_rows, random_state=0)
    texts, labels = train.text.astype(str).tolist(), train.category.astype(str).tolist()
    t0 = time.perf_counter()
    tfidf = export_strategy(TfidfLinear().fit(texts, labels), root / "tfidf")
    t1 = time.perf_counter()
    head = export_strategy(EmbeddingHead().fit(texts, labels), root / "embedding-head")
    print(
        f"trained and exported on {train_rows} banking77 rows: TF-IDF {t1 - t0:.1f} s, "
        f"embedding head {time.perf_counter() - t1:.1f} s",
        file=sys.stderr,
    )
    return tfidf, head


_MLFLOW_TRAIN = """
import sys, pandas as pd, mlflow.sklearn
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
data, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
train = pd.read_csv(data).sample(n=rows, random_state=0)
# The same model as crossover's text.tfidf-linear (word 1-2-grams + char_wb 2-5-grams, sublinear
# TF-IDF, LinearSVC C=0.5), so that both servers do the same work per prediction.
# ColumnTransformer hands the 'text' column to TF-IDF; a bare TfidfVectorizer would iterate the
# DataFrame mlflow passes and read its column names as the texts.
words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\\b\\w+\\b")
chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                        min_df=2 if rows >= 1000 else 1)
pipe = Pipeline([
    ("features", ColumnTransformer([("words", words, "text"), ("chars", chars, "text")])),
    ("clf", LinearSVC(C=0.5, random_state=0)),
]).fit(train[["text"]], train["category"])
mlflow.sklearn.save_model(pipe, out, input_example=train[["text"]].head(2))
"""


def mlflow_python(arg: str | None) -> str | None:
    if arg:
        return arg
    return sys.executable if importlib.util.find_spec("mlflow") is not None else None


def table(rows: list[tuple[str, str, str, int, int, Result]]) -> str:
    lines = [
        "| model | server | route | rows/req | concurrency | requests | req/s | rows/s "
        "| p50 ms | p99 ms | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, srv, route, batch, conc, r in rows:
        lines.append(
            f"| {model} | {srv} | {route} | {batch} | {conc} | {r.requests} | {r.req_s:,.0f} "
            f"| {r.rows_s:,.0f} | {r.percentile_ms(50):.1f} | {r.percentile_ms(99):.1f} "
            f"| {r.errors} |"
        )
    return "\n".join(lines)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def workers_table(runs: dict[tuple[str, int], list[Result]]) -> str:
    """Median req/s and p99 over the rounds, with their range, per server and concurrency."""
    lines = [
        "| server | concurrency | rounds | req/s median (range) | p50 ms median "
        "| p99 ms median (range) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (label, conc), results in runs.items():
        rps = [r.req_s for r in results]
        p50 = [r.percentile_ms(50) for r in results]
        p99 = [r.percentile_ms(99) for r in results]
        lines.append(
            f"| {label} | {conc} | {len(results)} | {_median(rps):,.0f} "
            f"({min(rps):,.0f}-{max(rps):,.0f}) | {_median(p50):.1f} "
            f"| {_median(p99):.1f} ({min(p99):.1f}-{max(p99):.1f}) "
            f"| {sum(r.errors for r in results)} |"
        )
    return "\n".join(lines)


def workers_only(args: argparse.Namespace, texts: list[str]) -> None:
    """The two-worker rows alone, ``args.rounds`` times, servers interleaved in each round."""
    import pandas as pd

    from crossover.artifacts import export_strategy
    from crossover.strategies.text import TfidfLinear

    n, c = args.requests, args.concurrency
    runs: dict[tuple[str, int], list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="crossover-serve-bench-") as tmp:
        root = Path(tmp)
        os.environ.update({"HF_HUB_OFFLINE": "1", "CROSSOVER_CACHE_DIR": str(root / "cache")})
        env = dict(os.environ)
        train = pd.read_csv(DATA / "train.csv").sample(n=args.train_rows, random_state=0)
        fitted = TfidfLinear().fit(train.text.astype(str).tolist(), train.category.tolist())
        tfidf = export_strategy(fitted, root / "tfidf")
        plain_label = f"plain uvicorn {uvicorn_version()} --workers 2"
        for round_ in range(args.rounds):
            for label in (
                "crossover serve --workers 2",
                "crossover serve --workers 2, uvicorn's h11 protocol",
                plain_label,
            ):
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                serve = ["serve", str(tfidf), "--port", str(port), "--workers", "2"]
                cmd, server_env = [CROSSOVER, *serve], env
                if label.endswith("h11 protocol"):
                    cmd = [sys.executable, "-c", _UVICORN_PROTOCOL, *serve]
                elif label == plain_label:
                    cmd = [
                        sys.executable, "-m", "uvicorn", "crossover.serve.server:app_from_env",
                        "--factory", "--workers", "2", "--host", "127.0.0.1",
                        "--port", str(port), "--no-access-log",
                    ]  # fmt: skip
                    server_env = {**env, "CROSSOVER_SERVE_MODEL_DIR": str(tfidf)}
                with server(cmd, server_env, f"{base}/readyz"):
                    for conc, count in ((1, n // 4), (c, n)):
                        r = run_load(base, "/v1/predict", predict_body, texts, count, 1, conc)
                        runs.setdefault((label, conc), []).append(r)
                print(f"round {round_ + 1}: {label} done", file=sys.stderr)
    load = os.getloadavg()
    print(
        f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, uvicorn {uvicorn_version()}; load average at the end "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    print(workers_table(runs))


def encoders_only(args: argparse.Namespace, texts: list[str]) -> None:
    """The embedding head served at each encoder setting, ``args.rounds`` times, interleaved."""
    import statistics

    import pandas as pd

    from crossover.artifacts import export_strategy
    from crossover.strategies.text import EmbeddingHead

    settings = args.encoders.split(",")
    m, c = args.embedding_requests, args.concurrency
    runs: dict[str, list[Result]] = {s: [] for s in settings}
    with tempfile.TemporaryDirectory(prefix="crossover-serve-bench-") as tmp:
        root = Path(tmp)
        os.environ.update({"HF_HUB_OFFLINE": "1", "CROSSOVER_CACHE_DIR": str(root / "cache")})
        env = dict(os.environ)
        train = pd.read_csv(DATA / "train.csv").sample(n=args.train_rows, random_state=0)
        x, y = train.text.astype(str).tolist(), train.category.astype(str).tolist()
        models = {
            s: export_strategy(EmbeddingHead(encoder=s).fit(x, y), root / f"head-{s}")
            for s in settings
        }
        for round_ in range(args.rounds):
            for setting in settings:
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                cmd = [CROSSOVER, "serve", str(models[setting]), "--port", str(port)]
                with server(cmd, env, f"{base}/readyz"):
                    r = run_load(base, "/v1/predict", predict_body, texts, m, 1, c)
                    runs[setting].append(r)
                print(f"round {round_ + 1}: {setting} {r.req_s:.0f} req/s", file=sys.stderr)
    load = os.getloadavg()
    print(
        f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs; embedding head, /v1/predict, "
        f"single rows, concurrency {c}, {m} requests per run; load at the end {load[0]:.2f}\n"
    )
    print("| encoder | req/s (median) | runs | range | p50 ms | p99 ms | errors | x the first |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    first = statistics.median(r.req_s for r in runs[settings[0]])
    for setting in settings:
        rs = runs[setting]
        med = statistics.median(r.req_s for r in rs)
        mid = sorted(rs, key=lambda r: r.req_s)[len(rs) // 2]
        print(
            f"| {setting} | {med:.0f} | {len(rs)} | {min(r.req_s for r in rs):.0f}-"
            f"{max(r.req_s for r in rs):.0f} | {mid.percentile_ms(50):.1f} | "
            f"{mid.percentile_ms(99):.1f} | {sum(r.errors for r in rs)} | {med / first:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per TF-IDF scenario")
    parser.add_argument("--embedding-requests", type=int, default=300, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--mlflow-python", help="an interpreter with mlflow installed")
    parser.add_argument(
        "--workers-only", action="store_true", help="only the two-worker TF-IDF rows"
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --workers-only")
    parser.add_argument("--encoders", help="encoder settings of the embedding head to serve")
    args = parser.parse_args()
    require_data()

    import pandas as pd

    texts = pd.read_csv(DATA / "test.csv").text.astype(str).tolist()
    if args.workers_only:
        workers_only(args, texts)
        return
    if args.encoders:
        encoders_only(args, texts)
        return
    n, m, c = args.requests, args.embedding_requests, args.concurrency
    rows: list[tuple[str, str, str, int, int, Result]] = []
    with tempfile.TemporaryDirectory(prefix="crossover-serve-bench-") as tmp:
        root = Path(tmp)
        # Offline, and an empty embedding cache of its own (for training here and the servers).
        os.environ.update({"HF_HUB_OFFLINE": "1", "CROSSOVER_CACHE_DIR": str(root / "cache")})
        env = dict(os.environ)
        tfidf, head = export_models(root, args.train_rows)

        def crossover(model_dir: Path, port: int, *extra: str) -> list[str]:
            return [CROSSOVER, "serve", str(model_dir), "--port", str(port), *extra]

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(crossover(tfidf, port), env, f"{base}/readyz"):
            for batch in (1, 32):
                r = run_load(base, "/v1/predict", predict_body, texts, n, batch, c)
                rows.append(("TF-IDF", "crossover serve", "/v1/predict", batch, c, r))

        # The Nagle trap shows best one request at a time on a keep-alive connection.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(crossover(tfidf, port, "--workers", "2"), env, f"{base}/readyz"):
            for conc, count in ((1, n // 4), (c, n)):
                r = run_load(base, "/v1/predict", predict_body, texts, count, 1, conc)
                rows.append(("TF-IDF", "crossover serve --workers 2", "/v1/predict", 1, conc, r))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        plain = [
            sys.executable, "-m", "uvicorn", "crossover.serve.server:app_from_env", "--factory",
            "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ]  # fmt: skip
        plain_env = {**env, "CROSSOVER_SERVE_MODEL_DIR": str(tfidf)}
        with server(plain, plain_env, f"{base}/readyz"):
            for conc, count in ((1, n // 4), (c, n)):
                r = run_load(base, "/v1/predict", predict_body, texts, count, 1, conc)
                label = f"plain uvicorn {uvicorn_version()} --workers 2"
                rows.append(("TF-IDF", label, "/v1/predict", 1, conc, r))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(crossover(head, port), env, f"{base}/readyz"):
            for batch, conc, count in ((1, 1, m), (1, c, m), (32, max(1, c // 4), m // 3)):
                r = run_load(base, "/v1/predict", predict_body, texts, count, batch, conc)
                rows.append(("embedding head", "crossover serve", "/v1/predict", batch, conc, r))
            r = run_load(base, "/v1/embeddings", embeddings_body, texts, m, 1, c)
            rows.append(("embedding head", "crossover serve", "/v1/embeddings", 1, c, r))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(crossover(head, port, "--micro-batch", "1"), env, f"{base}/readyz"):
            label = "crossover serve --micro-batch 1 (off)"
            for route, body in (("/v1/predict", predict_body), ("/v1/embeddings", embeddings_body)):
                r = run_load(base, route, body, texts, m, 1, c)
                rows.append(("embedding head", label, route, 1, c, r))

        mlflow = mlflow_python(args.mlflow_python)
        skipped = None
        if mlflow is None:
            skipped = "mlflow is not importable here and no --mlflow-python was given"
        else:
            saved = root / "mlflow-model"
            subprocess.run(
                [mlflow, "-c", _MLFLOW_TRAIN, str(DATA / "train.csv"), str(args.train_rows),
                 str(saved)],
                check=True, env=env,
            )  # fmt: skip
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            bin_dir = str(Path(mlflow).parent)
            cmd = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", str(saved),
                   "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port),
                   "-w", "1"]  # fmt: skip
            # mlflow starts the `uvicorn` found on PATH: the one beside its own interpreter.
            mlflow_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
            try:
                with server(cmd, mlflow_env, f"{base}/ping"):
                    for batch in (1, 32):
                        r = run_load(base, "/invocations", mlflow_body, texts, n, batch, c)
                        rows.append(("TF-IDF", "mlflow models serve", "/invocations", batch, c, r))
            except RuntimeError as exc:
                skipped = f"mlflow models serve failed ({exc})"

    print(
        f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; the load generator shares the CPUs with the server\n"
    )
    print(table(rows))
    if skipped:
        print(f"\nmlflow comparison skipped: {skipped}.")


if __name__ == "__main__":
    main()
