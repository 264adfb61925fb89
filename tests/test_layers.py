"""What each entry point imports: serving and the CLI's start-up load none of the training side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Modules of the training side: a model server and ``crossover --help`` need none of them.
TRAINING = (
    "crossover._api",
    "crossover.costs",
    "crossover.evaluation",
    "crossover.recommend",
    "crossover.report",
    "crossover.study",
    "crossover.tasks.recommendation.compare",
)
#: Heavy third-party packages that ``crossover --help`` must not pay for.
HEAVY = ("numpy", "pandas", "sklearn", "scipy", "torch", "sentence_transformers", "litellm")


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _under(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_importing_the_server_loads_no_training_code() -> None:
    loaded = _modules_after("import crossover.serve.app")
    assert "crossover.serve.app" in loaded
    assert _under(loaded, TRAINING) == []


def test_the_cli_starts_without_the_training_code_or_heavy_packages() -> None:
    loaded = _modules_after("import crossover.cli")
    assert "crossover.cli.compare" in loaded  # every command is registered
    assert _under(loaded, TRAINING) == []
    assert _under(loaded, HEAVY) == []


def test_import_crossover_is_lazy_until_a_name_is_used() -> None:
    loaded = _modules_after("import crossover")
    assert _under(loaded, (*TRAINING, *HEAVY)) == []
    loaded = _modules_after("import crossover; crossover.load_study")
    assert "crossover.study" in loaded


def test_the_import_contracts_hold() -> None:
    # pyproject.toml's [tool.importlinter] contracts: DESIGN.md's layering rules.
    linter = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(linter)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_serving_a_model_imports_its_strategy_alone(tmp_path: Path) -> None:
    from crossover.artifacts.export import export_strategy
    from crossover.strategies.text.tfidf_linear import TfidfLinear
    from tests.conftest import make_tickets

    tickets = make_tickets(6)
    fitted = TfidfLinear().fit(tickets.text.tolist(), tickets.label.tolist())
    folder = export_strategy(fitted, tmp_path / "model")
    loaded = _modules_after(
        f"from crossover.artifacts.load import load_model\nload_model({str(folder)!r})"
    )
    strategies = sorted(m for m in loaded if m.startswith("crossover.strategies."))
    assert strategies == [
        "crossover.strategies.base",
        "crossover.strategies.registry",
        "crossover.strategies.text",
        "crossover.strategies.text.tfidf_linear",
    ]
    assert _under(loaded, (*TRAINING, "crossover.tasks")) == []
    assert _under(loaded, ("sentence_transformers", "litellm", "lightgbm", "implicit")) == []
