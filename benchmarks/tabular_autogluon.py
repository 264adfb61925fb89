"""Benchmark: crossover's tabular models beside AutoGluon on the credit-card fraud sample.

Every candidate sees the same stratified 80/20 splits (``repeated_stratified_splits(y,
n_repeats=3, seed=0)``, ``--repeats`` to change): AutoGluon 1.6.3 ``TabularPredictor``
(``presets="good_quality"`` and ``"medium_quality"``, ``eval_metric="average_precision"``), a
default ``LGBMClassifier()`` on the raw columns, and crossover's ``BlendClassifier`` (also with
inner-CV weights and with the GBM as a third member), ``ForestClassifier``, ``LinearClassifier``
(plain and quantile) and ``GbmClassifier``. For each: mean PR-AUC with a 95 % Student-t
half-width across the splits, mean and median fit seconds, predict milliseconds per 1,000 rows,
the fit time as a fraction of AutoGluon good_quality's, and the paired per-split PR-AUC deltas
against AutoGluon good_quality. Prints Markdown tables, then whether crossover's best model meets
the target of issue 7 (PR-AUC at or above AutoGluon good_quality's, fit in at most 1/20 of its
time).

    .venv/bin/python benchmarks/tabular_autogluon.py [--repeats 3] [--skip-medium]
        [--time-limit SECONDS] [--ag-python /tmp/ag-venv/bin/python] [--no-autogluon]
        [--save-predictions DIR]

AutoGluon lives in a virtual environment of its own (its pins on pandas and friends differ from
crossover's): this script runs it as a subprocess of that environment's Python (this same file
with ``--worker``, which needs only numpy, pandas and AutoGluon) and passes the split indices
through a file. Install it with (torch first, CPU build, then AutoGluon with torch pinned; the
fastai extra brings the matching torchvision)::

    python3 -m venv /tmp/ag-venv
    /tmp/ag-venv/bin/pip install torch==2.13.0
    echo "torch==2.13.0" > /tmp/ag-constraints.txt
    /tmp/ag-venv/bin/pip install "autogluon.tabular[lightgbm,catboost,xgboost,fastai]==1.6.3" \\
        -c /tmp/ag-constraints.txt

(Without ``ray``, which these extras do not bring, AutoGluon warns that it falls back to fitting
the bagged folds one after another.) Without AutoGluon (or with ``--no-autogluon``) the script
says so, measures crossover's models alone and exits 0. AutoGluon good_quality took 22 minutes
per split on the 2-core development machine while other work shared it (its fit time in the
table is what it took there); medium_quality about a minute.

Data: ../shared/data/creditcard_fraud/creditcard_sample.csv (5,412 rows, 492 frauds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "creditcard_fraud"
SAMPLE = DATA / "creditcard_sample.csv"
LABEL = "Class"
AG_PYTHON = Path(os.environ.get("CROSSOVER_AG_PYTHON", "/tmp/ag-venv/bin/python"))
AG_GOOD = "AutoGluon good_quality"
INSTALL_HINT = (
    "python3 -m venv /tmp/ag-venv && /tmp/ag-venv/bin/pip install torch==2.13.0 && "
    'echo "torch==2.13.0" > /tmp/ag-constraints.txt && /tmp/ag-venv/bin/pip install '
    '"autogluon.tabular[lightgbm,catboost,xgboost,fastai]==1.6.3" -c /tmp/ag-constraints.txt'
)


# --- the AutoGluon side: runs in AutoGluon's own environment (numpy, pandas, autogluon only) ---


def _worker(job_path: Path) -> None:
    """Fit AutoGluon on each split of the job; write probabilities and timings beside it."""
    import shutil

    from autogluon.tabular import TabularPredictor

    job = json.loads(job_path.read_text())
    frame = pd.read_csv(job["csv"])
    indices = np.load(job["splits"])
    label = job["label"]
    results: dict[str, Any] = {}
    for preset in job["presets"]:
        runs = []
        for k in range(int(indices["n"])):
            train, test = indices[f"train_{k}"], indices[f"test_{k}"]
            path = tempfile.mkdtemp(prefix="ag-")
            try:
                start = time.perf_counter()
                predictor = TabularPredictor(
                    label=label, eval_metric="average_precision", path=path, verbosity=0
                ).fit(frame.iloc[train], presets=preset, time_limit=job["time_limit"])
                fit_s = time.perf_counter() - start
                test_frame = frame.iloc[test].drop(columns=label)
                start = time.perf_counter()
                proba = predictor.predict_proba(test_frame, as_multiclass=False)
                predict_s = time.perf_counter() - start
                runs.append(
                    {
                        "proba": np.asarray(proba, dtype=float).tolist(),
                        "fit_s": fit_s,
                        "predict_ms": predict_s * 1000 * 1000 / len(test),
                        "positive_class": str(predictor.positive_class),
                    }
                )
            finally:
                shutil.rmtree(path, ignore_errors=True)
            print(f"  {preset} split {k}: fit {fit_s:.0f} s", file=sys.stderr, flush=True)
        results[preset] = runs
    Path(job["out"]).write_text(json.dumps(results))


def _autogluon_missing(ag_python: Path) -> str | None:
    """Why AutoGluon cannot run (``None`` when it can)."""
    if not ag_python.exists():
        return f"{ag_python} does not exist"
    check = subprocess.run(
        [str(ag_python), "-c", "import autogluon.tabular"], capture_output=True, text=True
    )
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"{ag_python} cannot import autogluon.tabular ({last})"
    return None


def _run_autogluon(
    ag_python: Path,
    splits: list[tuple[np.ndarray, np.ndarray]],
    presets: list[str],
    time_limit: float | None,
) -> dict[str, dict[str, list[Any]]]:
    with tempfile.TemporaryDirectory(prefix="crossover-ag-") as tmp:
        arrays: dict[str, Any] = {"n": np.array(len(splits))}
        for k, (train, test) in enumerate(splits):
            arrays[f"train_{k}"], arrays[f"test_{k}"] = train, test
        np.savez(Path(tmp) / "splits.npz", **arrays)
        job = {
            "csv": str(SAMPLE),
            "label": LABEL,
            "splits": str(Path(tmp) / "splits.npz"),
            "presets": presets,
            "time_limit": time_limit,
            "out": str(Path(tmp) / "out.json"),
        }
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        subprocess.run(
            [
                str(ag_python),
                str(Path(__file__).resolve()),
                "--worker",
                str(Path(tmp) / "job.json"),
            ],
            check=True,
        )
        raw = json.loads((Path(tmp) / "out.json").read_text())
    results = {}
    for preset, runs in raw.items():
        if any(run["positive_class"] != "1" for run in runs):
            raise SystemExit(f"AutoGluon took {runs[0]['positive_class']!r} as the positive class")
        results[f"AutoGluon {preset}"] = {
            "proba": [np.asarray(run["proba"]) for run in runs],
            "fit_s": [run["fit_s"] for run in runs],
            "predict_ms": [run["predict_ms"] for run in runs],
        }
    return results


# --- crossover's side ---


def _crossover_candidates(types: Any) -> dict[str, Any]:
    from tabular_fraud import _RawLightGbm  # the reference model, as tabular_fraud.py has it

    from crossover.strategies.tabular.blend import BlendClassifier
    from crossover.strategies.tabular.learners import (
        ForestClassifier,
        GbmClassifier,
        LinearClassifier,
    )

    return {
        "crossover BlendClassifier": lambda: BlendClassifier(types),
        "crossover BlendClassifier (weights=cv)": lambda: BlendClassifier(types, weights="cv"),
        "crossover BlendClassifier (+gbm)": lambda: BlendClassifier(
            types, members=("linear", "trees", "gbm")
        ),
        "crossover ForestClassifier": lambda: ForestClassifier(types),
        "crossover LinearClassifier (quantile)": lambda: LinearClassifier(types, quantile=True),
        "crossover LinearClassifier": lambda: LinearClassifier(types),
        "crossover GbmClassifier": lambda: GbmClassifier(types),
        "LGBMClassifier() raw": _RawLightGbm,
    }


# --- the report ---


def _report(
    results: dict[str, dict[str, list[Any]]],
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    from tabular_fraud import _interval

    from crossover.tasks.tabular import pr_auc

    pr = {
        name: [pr_auc(y[test], p) for (_, test), p in zip(splits, r["proba"], strict=True)]
        for name, r in results.items()
    }
    anchor = results.get(AG_GOOD)
    print(
        "| model | PR-AUC (95 % CI) | Δ vs AG good (95 % CI) | Δ per split | fit s mean "
        "| fit s median | fit / AG good fit | predict ms / 1k rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        mean, half = _interval(pr[name])
        fit_mean, fit_median = float(np.mean(r["fit_s"])), float(np.median(r["fit_s"]))
        delta = ratio = per_split = "n/a"
        if anchor is not None:
            deltas = np.subtract(pr[name], pr[AG_GOOD])
            d_mean, d_half = _interval(deltas.tolist())
            delta = f"{d_mean:+.4f} ± {d_half:.4f}" if name != AG_GOOD else "—"
            per_split = " / ".join(f"{d:+.3f}" for d in deltas) if name != AG_GOOD else "—"
            ratio = f"1/{np.mean(anchor['fit_s']) / fit_mean:.0f}" if name != AG_GOOD else "1"
        print(
            f"| {name} | {mean:.4f} ± {half:.4f} | {delta} | {per_split} | {fit_mean:.2f} "
            f"| {fit_median:.2f} | {ratio} | {np.median(r['predict_ms']):.1f} |"
        )
    print("\nPR-AUC per split:\n")
    print("| model | " + " | ".join(f"split {k}" for k in range(len(splits))) + " |")
    print("|---|" + "---|" * len(splits))
    for name, values in pr.items():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    if anchor is None:
        return
    ours = [n for n in results if n.startswith("crossover ")]
    best = max(ours, key=lambda n: float(np.mean(pr[n])))
    ag_pr, ag_fit = float(np.mean(pr[AG_GOOD])), float(np.mean(anchor["fit_s"]))
    best_pr, best_fit = float(np.mean(pr[best])), float(np.mean(results[best]["fit_s"]))
    met = best_pr >= ag_pr and best_fit <= ag_fit / 20
    print(
        f"\nTarget (issue 7): {best} PR-AUC {best_pr:.4f} vs AutoGluon good_quality "
        f"{ag_pr:.4f}, fit {best_fit:.2f} s vs {ag_fit:.1f} s / 20 = {ag_fit / 20:.1f} s: "
        f"{'met' if met else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-medium", action="store_true", help="no AG medium_quality run")
    parser.add_argument("--time-limit", type=float, default=None, help="AG time_limit (s)")
    parser.add_argument("--ag-python", type=Path, default=AG_PYTHON)
    parser.add_argument("--no-autogluon", action="store_true", help="crossover's models only")
    parser.add_argument("--save-predictions", type=Path, default=None, metavar="DIR")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.worker)
        return
    if not SAMPLE.exists():
        raise SystemExit(f"{SAMPLE} is absent; this benchmark needs the shared data sets")

    from crossover.tasks.tabular import infer_column_types, repeated_stratified_splits

    frame = pd.read_csv(SAMPLE)
    types = infer_column_types(frame, LABEL)
    features, y = frame.drop(columns=LABEL), frame[LABEL].to_numpy()
    splits = list(repeated_stratified_splits(y, n_repeats=args.repeats, seed=0))
    print(
        f"{len(frame)} rows, {int(y.sum())} frauds, {len(splits)} stratified 80/20 splits (seed 0)"
    )
    results: dict[str, dict[str, list[Any]]] = {}
    missing = "--no-autogluon given" if args.no_autogluon else _autogluon_missing(args.ag_python)
    if missing is None:
        presets = ["good_quality"] + ([] if args.skip_medium else ["medium_quality"])
        print(f"AutoGluon ({', '.join(presets)}) in {args.ag_python} ...", flush=True)
        results.update(_run_autogluon(args.ag_python, splits, presets, args.time_limit))
    else:
        print(
            f"AutoGluon skipped: {missing}. To compare with it, install it with\n  {INSTALL_HINT}\n"
            "or point --ag-python (or CROSSOVER_AG_PYTHON) at a Python that has it."
        )
    # Our side is measured as tabular_fraud.py measures it (imported here, not at the top: the
    # AutoGluon worker runs this file in its own venv, without crossover).
    from tabular_fraud import fit_predict

    candidates = _crossover_candidates(types)
    fit_predict(candidates["crossover GbmClassifier"], features, y, splits[:1])  # warm up imports
    for name, make in candidates.items():
        print(f"{name} ...", flush=True)
        results[name] = fit_predict(make, features, y, splits)
    print()
    _report(results, y, splits)
    if args.save_predictions is not None:
        args.save_predictions.mkdir(parents=True, exist_ok=True)
        for name, r in results.items():
            np.savez(
                args.save_predictions / f"{name.replace(' ', '_')}.npz",
                **{f"proba_{k}": p for k, p in enumerate(r["proba"])},
                fit_s=np.asarray(r["fit_s"]),
                predict_ms=np.asarray(r["predict_ms"]),
            )


if __name__ == "__main__":
    main()
